-- The mock's settings: defaults, and one validator shared by mock.new(), the
-- command line and POST /_mock/config, so all three accept the same things.
local M = {}

M.DEFAULTS = {
  host = "127.0.0.1",
  port = 0,
  tokens = { "test-token" },
  credits = 1000,            -- starting balance of every token
  rate_limit = 20,           -- API requests per window and token (the monthly plan)
  rate_window = 60,          -- seconds
  task_delay = 2,            -- seconds an async task stays pending
  max_upload = 100 * 1024 * 1024, -- request body bytes (the API's 100 MB)
  pending_style = "http202", -- how a pending poll answers: "http202" or "string"
  reset_style = "unix",      -- X-RateLimit-Reset as "unix" time or "delta" seconds
  quiet = true,              -- no per-request lines on stderr
  lifetime = nil,            -- seconds after which the server stops by itself
  max_connections = 256,     -- beyond this, the client waiting longest for a request head is closed
  head_timeout = 10,         -- seconds from a request's first byte to its whole head; then 408
}

-- Settings that POST /_mock/config may change at run time.
M.RUNTIME = { credits = true, rate_limit = true, rate_window = true, task_delay = true,
  pending_style = true, reset_style = true, max_upload = true, quiet = true, head_timeout = true }

-- Whether v is a finite number in lo..hi (whole: an integer).  Every number
-- the mock takes has a bound: one request must not be able to stop it.
function M.number(v, lo, hi, whole)
  return type(v) == "number" and v == v and v >= lo and v <= hi and (not whole or v == math.floor(v))
end
local number = M.number
local DAY = 86400

local function is_loopback(host)
  return host == "localhost" or host == "::1" or host:match("^127%.%d+%.%d+%.%d+$") ~= nil
end
M.is_loopback = is_loopback

local CHECKS = {
  host = function(v)
    return type(v) == "string" and is_loopback(v), "must be a loopback address (127.x.x.x, ::1, localhost)"
  end,
  port = function(v)
    return type(v) == "number" and v >= 0 and v <= 65535 and v == math.floor(v), "must be 0..65535"
  end,
  tokens = function(v)
    if type(v) ~= "table" or #v == 0 then return false, "must be a non-empty list of strings" end
    for _, t in ipairs(v) do
      if type(t) ~= "string" or not t:match("^[%w%-%._~+/=]+$") then
        return false, "must be a non-empty list of token68 strings (letters, digits, -._~+/=)"
      end
    end
    return true
  end,
  credits = function(v) return number(v, 0, 1e15), "must be a number 0..1e15" end,
  rate_limit = function(v) return number(v, 1, 1e9, true), "must be an integer 1..1e9" end,
  rate_window = function(v) return number(v, 0, DAY) and v > 0, "must be a number > 0, at most 86400" end,
  task_delay = function(v) return number(v, 0, 3600), "must be a number 0..3600" end,
  max_upload = function(v) return number(v, 0, 2 ^ 53, true), "must be an integer 0..2^53" end,
  head_timeout = function(v) return number(v, 0.1, 3600), "must be a number 0.1..3600" end,
  pending_style = function(v) return v == "http202" or v == "string", 'must be "http202" or "string"' end,
  reset_style = function(v) return v == "unix" or v == "delta", 'must be "unix" or "delta"' end,
  quiet = function(v) return type(v) == "boolean", "must be a boolean" end,
  lifetime = function(v) return number(v, 0, 30 * DAY) and v > 0, "must be a number > 0, at most 30 days" end,
  -- select() cannot watch more than FD_SETSIZE (1024) sockets.
  max_connections = function(v)
    return type(v) == "number" and v >= 1 and v <= 1000, "must be a number 1..1000"
  end,
}

-- check(opts, allowed) -> true, or nil and "name: rule". `allowed` limits
-- which names are accepted (nil: all settings).
function M.check(opts, allowed)
  for name, value in pairs(opts) do
    local check = CHECKS[name]
    if not check or (allowed and not allowed[name]) then
      return nil, tostring(name) .. ": unknown setting"
    end
    local ok, rule = check(value)
    if not ok then return nil, name .. ": " .. rule end
  end
  return true
end

-- merged(opts) -> a full settings table (defaults filled in), or nil, error.
function M.merged(opts)
  local ok, err = M.check(opts or {})
  if not ok then return nil, err end
  local cfg = {}
  for k, v in pairs(M.DEFAULTS) do cfg[k] = v end
  for k, v in pairs(opts or {}) do cfg[k] = v end
  local tokens = {}
  for i, t in ipairs(cfg.tokens) do tokens[i] = t end
  cfg.tokens = tokens
  return cfg
end

return M
