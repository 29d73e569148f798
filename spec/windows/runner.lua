-- The Windows spec runner: runs under Wine with a folder's own interpreter
-- (build/windows/<lua>/lua.exe or luajit.exe), which has no busted and no
-- LuaSocket.  Each spec file is a chunk called with (test, S): test(name, fn)
-- adds a test, S is spec/windows/support.lua.  Prints one line per test and
-- ends with "N passed, N failed".
--
--   lua.exe runner.lua SPEC_DIR generate_wine.lua files_wine.lua ...
-- (scripts/windows/check.sh runs it; see spec/windows/README.md)
local dir = assert(arg[1], "usage: runner.lua SPEC_DIR FILE...")
local S = dofile(dir .. "\\support.lua")

local passed, failed = 0, 0
local function run_file(file)
  local tests = {}
  local chunk = assert(loadfile(dir .. "\\" .. file))
  chunk(function(name, fn) tests[#tests + 1] = { name = name, fn = fn } end, S)
  for _, t in ipairs(tests) do
    S.before_each()
    local ok, err = xpcall(t.fn, debug.traceback)
    if ok then
      passed = passed + 1
      print("ok     " .. file .. ": " .. t.name)
    else
      failed = failed + 1
      print("FAILED " .. file .. ": " .. t.name .. "\n       " .. tostring(err):gsub("\n", "\n       "))
    end
    io.stdout:flush()
  end
end

for i = 2, #arg do
  local ok, err = pcall(run_file, arg[i])
  if not ok then
    failed = failed + 1
    print("FAILED " .. arg[i] .. " did not load: " .. tostring(err))
  end
end
print(("%d passed, %d failed"):format(passed, failed))
os.exit(failed == 0 and 0 or 1)
