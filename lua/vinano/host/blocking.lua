-- vinano.host.blocking: the loop async.run and async.join use outside a
-- task (a plain script).  It waits in the core (core.wait on the clients
-- that have awaited transfers, which sleeps in poll) at most until the
-- scheduler's next timer, or sleeps until that timer when nothing is in
-- flight.  It never spins: every call either waits or reports that nothing
-- could ever wake it.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local M = {}

local function core() return require "vinano.core" end

---The clock every scheduler uses by default: the core's monotonic seconds.
---@return number
function M.now()
  return core().now()
end

-- Longest single wait when only transfers (no timer) can wake us: core.wait
-- returns earlier on any socket activity or libcurl timeout anyway.
M.MAX_WAIT_MS = 1000

---Waits at most `seconds` (nil: no timer pending) for a transfer to finish
---or the timer to be due, delivering finished transfers to their tasks.
---Returns false when there is nothing to wait for (no transfer in flight and
---no timer): the caller's task would wait forever.
---@param _sched vinano.async.Scheduler
---@param seconds number?
---@return boolean
function M.wait(_sched, seconds)
  local transport = require "vinano.transport"
  local ms
  if seconds then
    ms = math.ceil(seconds * 1000)
    if ms > M.MAX_WAIT_MS and #transport.clients() > 0 then ms = M.MAX_WAIT_MS end
  else
    ms = M.MAX_WAIT_MS
  end
  if transport.poll(ms) then return true end
  if not seconds then return false end
  if seconds > 0 then core().sleep(seconds) end
  return true
end

return M
