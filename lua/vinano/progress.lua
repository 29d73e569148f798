-- on_progress(sent, total_up, received, total_down), shared by the blocking
-- path (execute.lua) and the task scheduler (async.lua): at most every
-- EVERY seconds, only when a counter moved, and a callback that raises
-- fails its own request with a "callback" error.
-- vinano: internal (not part of the public API; see docs/reference.md)
local core = require "vinano.core"

local M = {}

M.EVERY = 0.1 -- seconds between two calls for one request

local Watch = {}
Watch.__index = Watch

---@param on_progress fun(sent: integer, total_up: integer, received: integer, total_down: integer)
---@return table watch
function M.watch(on_progress)
  return setmetatable({ fn = on_progress, last = -1 }, Watch)
end

-- Calls the callback if it is due and something moved.  Returns true, or
-- false and the value the callback raised.
---@param req userdata a request of the core
---@param now number core.now()
---@return boolean ok
---@return any raised
function Watch:check(req, now)
  if now - self.last < M.EVERY then return true end
  local a, b, c, d = req:progress()
  if a == self.a and b == self.b and c == self.c and d == self.d then return true end
  self.last, self.a, self.b, self.c, self.d = now, a, b, c, d
  local ok, err = pcall(self.fn, a, b, c, d)
  if ok then return true end
  return false, err
end

---@param raised any what the callback raised
---@return vinano.Error
function M.error(raised)
  return core.error { kind = "callback", message = "on_progress raised: " .. tostring(raised) }
end

return M
