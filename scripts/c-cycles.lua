-- Fails when the C files of src/ call each other in a cycle.
--   lua scripts/c-cycles.lua build/lua5.4/obj/*.o
-- Reads `nm` of each object: an edge A -> B when A has an undefined symbol
-- that B defines.  Prints the edges, then each cycle found; exits 1 on any.
local objs = { ... }
if #objs == 0 then
  io.stderr:write("usage: c-cycles.lua OBJ...\n")
  os.exit(2)
end
local defines, uses, names = {}, {}, {}
for _, o in ipairs(objs) do
  local name = o:match("([^/]+)%.o$") or o
  names[#names + 1] = name
  uses[name] = {}
  local p = assert(io.popen("nm -P '" .. o:gsub("'", "'\\''") .. "'"))
  for line in p:lines() do
    local sym, kind = line:match("^(%S+)%s+(%a)")
    if sym then
      if kind == "U" then
        uses[name][#uses[name] + 1] = sym
      elseif kind:match("[TDBRGSVWC]") then
        defines[sym] = name
      end
    end
  end
  if not p:close() then
    io.stderr:write("c-cycles: nm failed on " .. o .. "\n")
    os.exit(2)
  end
end
local edges = {}
for _, a in ipairs(names) do
  edges[a] = {}
  local seen = {}
  for _, sym in ipairs(uses[a]) do
    local b = defines[sym]
    if b and b ~= a and not seen[b] then
      seen[b] = true
      edges[a][#edges[a] + 1] = b
    end
  end
  table.sort(edges[a])
end
table.sort(names)
for _, a in ipairs(names) do
  if #edges[a] > 0 then print(("c-cycles: %s -> %s"):format(a, table.concat(edges[a], ", "))) end
end
-- depth-first search; a grey node reached again closes a cycle
local state, stack, cycles = {}, {}, 0
local function visit(a)
  state[a] = "grey"
  stack[#stack + 1] = a
  for _, b in ipairs(edges[a]) do
    if state[b] == "grey" then
      local from
      for i = #stack, 1, -1 do if stack[i] == b then from = i break end end
      local path = {}
      for i = from, #stack do path[#path + 1] = stack[i] end
      path[#path + 1] = b
      print("c-cycles: CYCLE " .. table.concat(path, " -> "))
      cycles = cycles + 1
    elseif not state[b] then
      visit(b)
    end
  end
  stack[#stack] = nil
  state[a] = "black"
end
for _, a in ipairs(names) do if not state[a] then visit(a) end end
if cycles > 0 then
  print(("c-cycles: %d cycle(s) between C files"):format(cycles))
  os.exit(1)
end
print("c-cycles: no cycle between " .. #names .. " C files")
