-- A busted helper (scripts/check.sh passes it with --helper): writes where
-- the run is to the file named by VINANO_SPEC_RUNNING, at each file, describe
-- and test start and each test end, so that when a run outlives its bound
-- the watchdog can say which test (or which setup, teardown or file load) was
-- running.  Without that variable it does nothing.
local path = os.getenv("VINANO_SPEC_RUNNING")
if not path or path == "" then return end

local busted = require "busted"
-- the full name as busted's own output handlers spell it
local full_name = require("busted.outputHandlers.base")().getFullName

local function where(element)
  local trace = element.trace
  if trace and trace.short_src then return trace.short_src .. ":" .. tostring(trace.currentline) .. ": " end
  return ""
end

local function record(text)
  local f = io.open(path, "w")
  if f then
    f:write(text, "\n")
    f:close()
  end
  return nil, true
end

busted.subscribe({ "file", "start" }, function(file)
  return record("loading " .. tostring(file.name) .. " (or in a setup before its first describe)")
end)
busted.subscribe({ "describe", "start" }, function(describe)
  return record("in the setup of: " .. where(describe) .. full_name(describe))
end)
busted.subscribe({ "test", "start" }, function(test)
  return record("in this test: " .. where(test) .. full_name(test))
end)
busted.subscribe({ "test", "end" }, function(test)
  return record("after this test (its after_each, a teardown, or the next setup): " .. where(test) .. full_name(test))
end)
