-- The one list of error kinds, and the error object every operational
-- failure returns (`nil, err`).  A new kind is added here and nowhere else:
-- retry.lua, response.lua and the docs read this table.
local M = {}

---Every kind of error (`err.kind`): the keys of `errors.kinds`.
---@alias vinano.ErrorKind
---| "invalid_request"      # refused before sending: validation, a bad file, no token, a refused URL
---| "bad_request"          # HTTP 400 (and other 4xx of the API calls)
---| "unauthorized"         # HTTP 401
---| "forbidden"            # HTTP 403
---| "payload_too_large"    # HTTP 413
---| "rate_limited"         # HTTP 429 (`retry_after` set when the server said)
---| "insufficient_credits" # HTTP 495
---| "server"               # HTTP 5xx, or a redirect on an API call
---| "network"              # connection refused, reset, dropped (`curl_code`, `request_sent`)
---| "timeout"              # a bound passed: `timeout`, `connect_timeout`, `stall_timeout`, the limiter's wait, wait's deadline
---| "decode"               # a 2xx body that is not what the operation needs, or over `max_response`
---| "task_failed"          # `wait` saw the task fail (`task` holds the poll answer)
---| "cancelled"            # the request was cancelled (its task was), or its client closed
---| "callback"             # a user callback raised; only that request fails
---| "io"                   # a local file could not be written (a download's file, a batch journal) or read while it was sent (an image)

---@class vinano.KindInfo
---@field retry "never"|"yes"|"idempotent" never; always (after a wait); only GET or when retry_unsafe
---@field reached "no"|"yes"|"maybe" whether the request may have reached the server (and cost credits)
---@field doc string one line on what it means

---@type table<vinano.ErrorKind, vinano.KindInfo>
M.kinds = {
  invalid_request = { retry = "never", reached = "no",
    doc = "refused before sending: validation, a bad file or URL, a missing token; nothing was sent" },
  bad_request = { retry = "never", reached = "yes", doc = "HTTP 400 and other 4xx of the API calls" },
  unauthorized = { retry = "never", reached = "yes", doc = "HTTP 401: token invalid, missing or malformed" },
  forbidden = { retry = "never", reached = "yes", doc = "HTTP 403: account disabled, no plan or no API permission" },
  payload_too_large = { retry = "never", reached = "yes", doc = "HTTP 413: a file over 100 MB" },
  rate_limited = { retry = "yes", reached = "yes",
    doc = "HTTP 429: retried after Retry-After (seconds or HTTP date), else backoff; not charged" },
  insufficient_credits = { retry = "never", reached = "yes", doc = "HTTP 495: not enough credits" },
  server = { retry = "idempotent", reached = "yes",
    doc = "HTTP 5xx, or a redirect on an API call (never followed, so the token cannot leak)" },
  network = { retry = "idempotent", reached = "maybe",
    doc = "connection refused, reset or dropped; request_sent says whether any byte went out" },
  timeout = { retry = "idempotent", reached = "maybe",
    doc = "timeout, connect_timeout, stall_timeout, the rate limiter's wait or wait's deadline passed" },
  decode = { retry = "idempotent", reached = "yes",
    doc = "a 2xx body that is not the JSON the operation needs, or a body over max_response" },
  task_failed = { retry = "never", reached = "yes", doc = "wait saw the task fail; err.task is the poll answer" },
  cancelled = { retry = "never", reached = "maybe", doc = "the request was cancelled, or its client was closed" },
  callback = { retry = "never", reached = "maybe", doc = "a user callback raised; only that request fails" },
  io = { retry = "never", reached = "maybe",
    doc = "a local file could not be written (a download's file, a batch journal) or read while it was sent" },
}

---An operational failure (`nil, err`); `tostring(err)` reads well in a log.
---@class vinano.Error
---@field kind vinano.ErrorKind
---@field message string
---@field status? integer HTTP status, when there was one
---@field field? string invalid_request: the parameter or option at fault
---@field rule? string invalid_request: the rule it broke
---@field retry_after? number seconds, from Retry-After
---@field curl_code? integer network/timeout: libcurl's code
---@field request_sent? boolean network/timeout: whether any byte of the request was sent
---@field reason? string why it was not retried (retry.decide's answer)
---@field attempts? integer
---@field elapsed? number seconds
---@field rate_limit? vinano.RateLimit
---@field task? vinano.TaskStatus task_failed: the poll answer
---@field task_id? string|integer task_failed, and wait's timeout
---@field polls? integer wait's timeout: polls made
---@field path? string io: the file
---@field estimate? integer invalid_request (rule "max_credits"): the request's estimate
---@field problems? table[] invalid_request from vinano.batch: one {index=, line=, id=, field=, message=} per failing job

local Error = {}
M.Error = Error

-- "vinano: rate_limited (HTTP 429): Rate limit exceeded; retry after 30 s (after 3 attempts)"
function Error.__tostring(e)
  local s = "vinano: " .. tostring(e.kind or "error")
  if type(e.status) == "number" then s = s .. (" (HTTP %d)"):format(e.status) end
  if e.message ~= nil then s = s .. ": " .. tostring(e.message) end
  if type(e.retry_after) == "number" then s = s .. ("; retry after %g s"):format(e.retry_after) end
  if type(e.attempts) == "number" and e.attempts > 1 then s = s .. (" (after %d attempts)"):format(e.attempts) end
  return s
end

--- Makes an error of a known kind.  `fields` (optional) is copied in.
---@param kind vinano.ErrorKind
---@param message string
---@param fields? table extra fields (status, field, rule, ...)
---@return vinano.Error
function M.new(kind, message, fields)
  if not M.kinds[kind] then error("vinano.errors: unknown error kind '" .. tostring(kind) .. "'", 2) end
  local e = { kind = kind, message = message }
  if fields then
    for k, v in pairs(fields) do e[k] = v end
  end
  return setmetatable(e, Error)
end

--- Gives a table the error metatable (for errors built as tables: `vinano.error{kind=, message=}`).
---@param t table with at least `kind` and `message`
---@return vinano.Error
function M.from(t)
  if type(t) ~= "table" then error("bad argument #1 to 'error' (table expected, got " .. type(t) .. ")", 2) end
  if not M.kinds[t.kind] then error("bad argument #1 to 'error' (unknown kind '" .. tostring(t.kind) .. "')", 2) end
  return setmetatable(t, Error)
end

--- invalid_request naming the field and the rule: "field: message".
---@param field string
---@param rule string
---@param message string
---@return nil
---@return vinano.Error
function M.invalid(field, rule, message)
  return nil, M.new("invalid_request", field .. ": " .. message, { field = field, rule = rule })
end

--- True when v is a vinano error.
---@param v any
---@return boolean
function M.is(v)
  return getmetatable(v) == Error
end

return M
