-- What the command says about an API error: the library's own text
-- (tostring(err): kind, status, message, retry-after, attempts), which bound
-- a timeout hit, whether the failed request may have cost credits, and the
-- fields of the --json error event.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local M = {}

-- Kinds whose request did no paid work: refused before sending, or answered
-- with a refusal (the API page charges for generated images only).
local NOT_CHARGED = {
  invalid_request = true, bad_request = true, unauthorized = true, forbidden = true,
  payload_too_large = true, rate_limited = true, insufficient_credits = true,
}

--- "no" or "maybe": whether a generate or submit that failed with err may
--- have been charged.
---@param err vinano.Error
---@return "no"|"maybe"
function M.charged(err)
  if NOT_CHARGED[err.kind] then return "no" end
  if (err.kind == "network" or err.kind == "timeout") and err.request_sent == false then return "no" end
  return "maybe"
end

-- libcurl's words (7.88: connect.c, multi.c, progress.c) for a timeout
-- while it resolved or connected ("Failed to connect to h port p after n
-- ms: Timeout was reached", "Connection timed out after n ms", "Resolving
-- timed out ...") and for its speed limit ("Operation too slow").
local CONNECTING = { "^Failed to connect.*Timeout was reached", "^Connection timed out", "^Resolving timed out",
  "onnect%w* time" }
local STALLED = "too slow"

local function connecting(message)
  for _, pattern in ipairs(CONNECTING) do
    if message:find(pattern) then return true end
  end
  return false
end

--- Which bound a timeout error hit: "--timeout", "connect_timeout",
--- "stall_timeout" or "--max-wait" (wait's deadline), with the value when
--- the client knows it.  A connect cut short counts as connect_timeout
--- unless the call had used up its whole timeout (the earlier of the two
--- bounds ends a connect).
---@param err vinano.Error
---@param ctx {client: table?, max_wait: number?}?
---@return string|nil
function M.bound(err, ctx)
  if err.kind ~= "timeout" then return nil end
  ctx = ctx or {}
  if err.task_id ~= nil or err.polls ~= nil then
    return "--max-wait" .. (ctx.max_wait and (" of %g s"):format(ctx.max_wait) or "")
  end
  local c, message = ctx.client or {}, tostring(err.message)
  local name, value = "--timeout", c.timeout
  if message:find(STALLED, 1, true) then
    name, value = "stall_timeout", c.stall_timeout
  elseif connecting(message) then
    local spent = type(err.elapsed) == "number" and type(c.timeout) == "number" and err.elapsed >= c.timeout * 0.99
    if not spent then name, value = "connect_timeout", c.connect_timeout end
  end
  return name .. (type(value) == "number" and (" of %g s"):format(value) or "")
end

--- The error as one readable line: tostring(err) without its "vinano: "
--- (the command adds its own), plus the bound a timeout hit.
---@param err vinano.Error|string
---@param ctx table?
---@return string
function M.text(err, ctx)
  local s = tostring(err):gsub("^vinano: ", "")
  local bound = type(err) == "table" and M.bound(err, ctx)
  if bound then s = s .. (" [the %s ran out]"):format(bound) end
  return s
end

--- The --json error event's fields for err.
---@param err vinano.Error
---@return table
function M.event(err)
  return { kind = err.kind, status = err.status, retry_after = err.retry_after, attempts = err.attempts,
    error = err.message }
end

return M
