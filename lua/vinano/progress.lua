-- on_progress(sent, total_up, received, total_down), shared by the blocking
-- path and the awaited path of transport.lua: at most every
-- EVERY seconds, only when a counter moved, and a callback that raises
-- fails its own request with a "callback" error.
-- vinano: internal (not part of the public API; see docs/architecture.md)

local M = {}

M.EVERY = 0.1 -- seconds between two calls for one request

local Watch = {}
Watch.__index = Watch

--- A watch for one request's on_progress.
---@param on_progress fun(sent: number, total_up: number, received: number, total_down: number)
---@return table watch with :check(req, now)
function M.watch(on_progress)
  return setmetatable({ fn = on_progress, last = -1 }, Watch)
end

--- Calls the callback if it is due and something moved.  Returns true, or
--- false and the value the callback raised.
---@param req userdata a core transfer (its :progress())
---@param now number monotonic seconds
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

return M
