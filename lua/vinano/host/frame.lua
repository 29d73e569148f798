-- vinano.host.frame: the driver for hosts with a frame loop (LÖVE): call
-- update(0) every frame.  update never waits when given 0.
--
--   local async = require "vinano.async"
--   function love.load() async.host(); async.spawn(my_task) end
--   function love.update(dt) async.update(0) end
-- vinano: internal (not part of the public API; see docs/architecture.md)
local M = {}

local function default_sched() return require("vinano.async").default end

---Installs the frame driver on a scheduler (the default one): tasks
---spawned now are driven by the host's calls to update; callback variants
---(client:generate_cb) are allowed.  Idempotent; replaces another driver.
---@param sched vinano.async.Scheduler?
---@return table driver
function M.install(sched)
  sched = sched or default_sched()
  if sched.host and sched.host.name == "frame" then return sched.host end
  if sched.host and sched.host.stop then sched.host.stop() end
  local driver = { name = "frame" }
  sched:set_host(driver)
  return driver
end

---One frame: advances the transfers tasks await (waiting at most budget_ms
---for them or for the next timer; 0 never waits), delivers the finished
---ones, runs progress callbacks, fires due timers and resumes ready tasks.
---The first call installs the frame driver if no driver is installed.
---Returns the number of live tasks.
---@param budget_ms number? default 0
---@param sched vinano.async.Scheduler?
---@return integer
function M.update(budget_ms, sched)
  sched = sched or default_sched()
  budget_ms = budget_ms or 0
  if type(budget_ms) ~= "number" or budget_ms ~= budget_ms or budget_ms < 0 or budget_ms == math.huge then
    error("bad argument #1 to 'update' (a finite number of milliseconds >= 0 expected, got "
      .. tostring(budget_ms) .. ")", 2)
  end
  if not sched.host then M.install(sched) end
  local delay = sched:next_delay()
  if delay then budget_ms = math.min(budget_ms, math.ceil(delay * 1000)) end
  local transport = require "vinano.transport"
  if not transport.poll(budget_ms) and budget_ms > 0 then
    require("vinano.core").sleep(budget_ms / 1000) -- nothing in flight: the budget (or the timer) passes
  end
  return sched:step()
end

return M
