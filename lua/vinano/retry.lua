-- What may be retried, and after how long.  The rule that matters most: a
-- generate or submit POST that may have reached the server is not sent
-- again (it can cost credits twice) unless the caller opts in.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local errors = require "vinano.errors"

local M = {}

M.BASE = 0.5 -- seconds: exponential backoff with full jitter, base and cap
M.CAP = 30
M.MAX_RETRY_AFTER = 300 -- a longer Retry-After is not waited for

local IDEMPOTENT = { poll = true, download = true, fetch = true }

--- Full jitter: a uniform wait in [0, min(cap, base * 2^(attempt-1))].
---@param attempt integer the attempt that failed (1 for the first)
---@param random? fun(): number uniform in [0, 1)
---@return number seconds
function M.backoff(attempt, random)
  local ceiling = math.min(M.CAP, M.BASE * 2 ^ (attempt - 1))
  return (random or math.random)() * ceiling
end

--- Whether err may be retried for op and the delay before it, or false and
--- why not.  unsafe: the caller accepts that a POST which may have reached
--- the server is sent again.
---@param op string generate | submit | poll | download | fetch
---@param err vinano.Error
---@param attempt integer
---@param unsafe? boolean
---@param random? fun(): number
---@return boolean retry
---@return number|string delay_or_reason seconds to wait, or why not
function M.decide(op, err, attempt, unsafe, random)
  local kind = err.kind
  local k = errors.kinds[kind]
  if not k or k.retry == "never" then return false, ("%s is never retried"):format(kind) end
  if kind == "rate_limited" then
    if err.retry_after then return true, err.retry_after end
    return true, M.backoff(attempt, random)
  end
  local safe = IDEMPOTENT[op] or unsafe
  if kind == "network" or kind == "timeout" then
    if err.request_sent == false or safe then return true, M.backoff(attempt, random) end
    return false, "the request may have reached the server"
  end
  if kind == "server" then
    if err.status and err.status >= 300 and err.status < 400 then return false, "redirects are not followed" end
    if safe then return true, M.backoff(attempt, random) end
    return false, "the request reached the server"
  end
  if kind == "decode" then
    if safe then return true, M.backoff(attempt, random) end
    return false, "the request reached the server"
  end
  return false, "not retryable"
end

return M
