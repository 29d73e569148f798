-- A busted helper (scripts/check.sh passes it with --helper): writes the
-- file, line and full name of each test as it starts to the file named by
-- VINANO_SPEC_RUNNING, so that when a run outlives its bound the watchdog can
-- say which test was running.  Without that variable it does nothing.
local path = os.getenv("VINANO_SPEC_RUNNING")
if not path or path == "" then return end

local busted = require "busted"

local function full_name(element)
  local names = { element.name or element.descriptor }
  local parent = busted.parent(element)
  while parent and (parent.name or parent.descriptor) and parent.descriptor ~= "file" do
    table.insert(names, 1, parent.name or parent.descriptor)
    parent = busted.parent(parent)
  end
  return table.concat(names, " ")
end

busted.subscribe({ "test", "start" }, function(element)
  local f = io.open(path, "w")
  if f then
    local where = element.trace and element.trace.short_src and
      (element.trace.short_src .. ":" .. tostring(element.trace.currentline) .. ": ") or ""
    f:write(where, full_name(element), "\n")
    f:close()
  end
  return nil, true
end)
