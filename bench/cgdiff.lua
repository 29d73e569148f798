-- bench/cgdiff.lua: per-request cost of each function, from two callgrind
-- profiles of the same program with N1 and N2 requests (start-up cancels).
--   lua5.4 bench/cgdiff.lua OUT1 N1 OUT2 N2 [TOP]
-- Prints the TOP (40) functions by inclusive Ir per request, then by self Ir
-- per request, read with bench/cgsum.lua --all (stripped libraries show as
-- addresses under their object; the Lua interpreter's own functions too).
local here = arg[0]:match("^(.*)/[^/]*$") or "."
local f1, n1, f2, n2, top = arg[1], tonumber(arg[2]), arg[3], tonumber(arg[4]), tonumber(arg[5] or 40)
local function load(path)
  local t = { self = {}, incl = {} }
  local p = assert(io.popen(("lua5.4 %q %q --all"):format(here .. "/cgsum.lua", path)))
  for l in p:lines() do
    local kind, v, name = l:match("^(%a+) (%d+) (.*)$")
    if kind == "self" or kind == "incl" then t[kind][name] = tonumber(v) end
  end
  p:close()
  return t
end
local a, b = load(f1), load(f2)
local k = n2 - n1
for _, kind in ipairs { "incl", "self" } do
  local rows = {}
  for name, v in pairs(b[kind]) do
    local d = (v - (a[kind][name] or 0)) / k
    if d >= 1 then rows[#rows + 1] = { name, d } end
  end
  table.sort(rows, function(x, y) return x[2] > y[2] end)
  print(("%s Ir per request (top %d)"):format(kind == "incl" and "inclusive" or "self", top))
  for i = 1, math.min(top, #rows) do print(("  %9.0f  %s"):format(rows[i][2], rows[i][1])) end
  print("")
end
