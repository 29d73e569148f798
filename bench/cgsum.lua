-- bench/cgsum.lua: sums a callgrind profile (events Ir) by object file.
--   lua5.4 bench/cgsum.lua callgrind.out [FUNCTION...]
-- prints "obj <Ir> <object path>" for the self cost of each object, then
-- "fn <Ir> <name>" for the inclusive cost of each FUNCTION named (self plus
-- everything it called), and "total <Ir>".  Reads the format callgrind
-- writes (name compression "(id) name", calls= lines followed by the
-- inclusive cost of the call) without callgrind_annotate, so that stripped
-- libraries (libcurl) still count, under their object.  With --all as the
-- only FUNCTION: "self <Ir> <fn>" and "incl <Ir> <fn>" of every function.
-- Always: "xcall <Ir> <caller object>|<callee object>", the inclusive cost
-- of the calls one object makes into another (e.g. the Lua interpreter into
-- vinano/core.so: everything the C core does for the Lua layer).
local path = assert(arg[1], "usage: cgsum.lua callgrind.out [--all | function...]")
local wanted = {}
local all = arg[2] == "--all"
for i = 2, #arg do wanted[arg[i]] = true end
local self_by_fn = {}

local names = { ob = {}, fn = {} }
local function resolve(kind, spec)
  -- "(12) name" defines id 12; "(12)" refers to it; plain "name" is itself
  local id, rest = spec:match("^%((%d+)%)%s*(.*)$")
  if not id then return spec end
  if rest ~= "" then names[kind][id] = rest end
  return names[kind][id] or ("?" .. id)
end

local self_by_obj, incl_by_fn, xcall = {}, {}, {}
local cob = nil -- the callee object of the next calls= line (nil: the caller's)
local total = 0
local ob, fn = "?", "?"
local after_calls = false
local f = assert(io.open(path))
for line in f:lines() do
  local c = line:sub(1, 1)
  if c:match("[%d%+%-%*]") then
    local ir = tonumber(line:match("^%S+%s+(%d+)") or "0") or 0
    if after_calls then
      after_calls = false
      local callee = cob or ob
      if callee ~= ob then
        local key = ob .. "|" .. callee
        xcall[key] = (xcall[key] or 0) + ir
      end
      cob = nil
    else
      self_by_obj[ob] = (self_by_obj[ob] or 0) + ir
      total = total + ir
      if all then self_by_fn[fn] = (self_by_fn[fn] or 0) + ir end
    end
    if all or wanted[fn] then incl_by_fn[fn] = (incl_by_fn[fn] or 0) + ir end
  else
    local key, val = line:match("^(%a+)=(.*)$")
    if key == "ob" then
      ob = resolve("ob", val)
    elseif key == "fn" then
      fn = resolve("fn", val)
    elseif key == "cob" then
      cob = resolve("ob", val)
    elseif key == "cfn" or key == "cfi" or key == "cfl" then
      if key == "cfn" then resolve("fn", val) end
    elseif key == "calls" then
      after_calls = true
    end
  end
end
f:close()

for o, ir in pairs(self_by_obj) do print(("obj %d %s"):format(ir, o)) end
if all then
  for name, ir in pairs(self_by_fn) do print(("self %d %s"):format(ir, name)) end
  for name, ir in pairs(incl_by_fn) do print(("incl %d %s"):format(ir, name)) end
else
  for name in pairs(wanted) do print(("fn %d %s"):format(incl_by_fn[name] or 0, name)) end
end
for key, ir in pairs(xcall) do print(("xcall %d %s"):format(ir, key)) end
print(("total %d"):format(total))
