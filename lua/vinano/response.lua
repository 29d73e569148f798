-- A finished transfer's raw facts (docs/architecture.md) become what a call
-- returns: `res` or `err`, and `info`.  Everything the API page says about
-- answers is applied here and only here: status to kind, errors told inside
-- a 2xx body, poll states, the fields an operation needs, X-RateLimit-* and
-- Retry-After.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local api = require "vinano.api"
local errors = require "vinano.errors"

local M = {}

-- JSON null, as the core decodes it (the light userdata NULL, which is lua-cjson's null too).
M.null = require("cjson.safe").null

local SNIPPET_MAX = 120 -- bytes of a body quoted in an error
local CURLE_OPERATION_TIMEDOUT = 28

local tointeger = math.tointeger -- 5.3+: whole floats become integers (64, not 64.0)

local json_decode -- the core's decoder (src/json.c), loaded on first use

-- A decoded string may hold a token the raw text did not show as such
-- (JSON escapes: "\/" for "/", "\u0041" for "A"): redacted once decoded.
local function scrub(t, core, depth)
  if depth > 64 then return end
  for k, v in next, t do
    if type(v) == "string" then
      t[k] = core:redact(v, "token")
    elseif type(v) == "table" then
      scrub(v, core, depth + 1)
    end
  end
end

--- Decodes a JSON object with the core's decoder (whole numbers up to 2^53
--- as integers on 5.3+, null as vinano.null); nil when the body is not one,
--- with where the text went wrong when it started like one.
---@param body string|nil
---@return table|nil
---@return string|nil why
function M.decode(body)
  if not body or not body:find("^[ \t\r\n]*{") then return nil end
  json_decode = json_decode or require("vinano.core").json_decode
  return json_decode(body)
end

-- The header block's value for a lower-case name (the last occurrence wins
-- for single-valued headers), without building a table.
local function header(raw, lname)
  if not raw then return nil end
  local value
  for line in raw:gmatch("[^\n]+") do
    local name, v = line:match("^([^:%s]+):[ \t]*(.-)[ \t\r]*$")
    if name and name:lower() == lname then value = v end
  end
  return value
end
M.header = header

--- All headers of a raw block as {lower-case name = value} (repeated ones
--- joined with ", " as HTTP allows).
---@param raw string|nil
---@return table<string, string>
function M.headers(raw)
  local t = {}
  if not raw then return t end
  local first = true
  for line in raw:gmatch("[^\n]+") do
    if first then
      first = false -- the status line
    else
      local name, v = line:match("^([^:%s]+):[ \t]*(.-)[ \t\r]*$")
      if name then
        name = name:lower()
        t[name] = t[name] and (t[name] .. ", " .. v) or v
      end
    end
  end
  return t
end

local function number(s)
  if not s then return nil end
  local n = tonumber(s)
  if not n or n ~= n or n == math.huge or n == -math.huge then return nil end
  return tointeger and tointeger(n) or n
end

---The server's X-RateLimit-* snapshot of one response (any field may be nil).
---@class vinano.RateLimit
---@field limit? integer X-RateLimit-Limit
---@field remaining? integer X-RateLimit-Remaining
---@field reset? number X-RateLimit-Reset (a Unix time above 10^9, else seconds from now)

-- X-RateLimit-* of a header block already lower-cased with a "\n" in front
-- (so that every line, the first too, starts after a "\n"): plain finds
-- (memchr speed), not a pattern tried at every byte.
local function rate_limit_lower(nl)
  local rl = {}
  local from = 1
  while true do
    local _, e = nl:find("\nx-ratelimit-", from, true)
    if not e then break end
    local name, v = nl:match("^(%a+):([^\n]*)", e + 1)
    if name == "limit" or name == "remaining" or name == "reset" then
      rl[name] = number(v) -- tonumber skips the spaces (and the CR) around the value itself
    end
    from = e
  end
  return rl
end

--- X-RateLimit-* of a raw header block.
---@param raw string|nil
---@return vinano.RateLimit
function M.rate_limit(raw)
  if not raw then return {} end
  return rate_limit_lower(("\n" .. raw):lower())
end

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9, Oct = 10,
  Nov = 11, Dec = 12 }

-- Days since 1970-01-01 of a civil date (proleptic Gregorian).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

--- Retry-After as seconds from now: a number of seconds, or an HTTP date
--- (IMF-fixdate) compared with unix_now.  nil when absent or unreadable.
---@param value string|nil
---@param unix_now number
---@return number|nil
function M.retry_after(value, unix_now)
  if not value then return nil end
  if value:match("^%d+$") then
    local n = number(value)
    return n and n > 0 and n or nil
  end
  local d, mon, y, h, mi, s = value:match("^%a+, (%d%d?) (%a%a%a) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT$")
  if not d or not MONTHS[mon] then return nil end
  local t = days_from_civil(tonumber(y), MONTHS[mon], tonumber(d)) * 86400 + tonumber(h) * 3600
    + tonumber(mi) * 60 + tonumber(s)
  local left = t - unix_now
  return left > 0 and left or nil
end

-- info: what a response said besides its body.  The headers table is built
-- on first read: most callers never look at it.
local Info = {}
Info.__index = function(info, k)
  if k == "headers" then
    local h = M.headers(rawget(info, "raw_headers"))
    rawset(info, "headers", h)
    return h
  end
end

---What a response said besides its body: `client:last_response()`.
---@class vinano.Info
---@field status? integer HTTP status (nil: no response)
---@field headers table<string, string> lower-case names (built on first read)
---@field rate_limit vinano.RateLimit
---@field retry_after? number seconds
---@field new_connections? integer 0 when a kept-alive connection was reused
---@field local_port? integer
---@field seconds? number the transfer's total time
---@field http_version? string "1.1" | "2" | "3"

local RL = api.rate_limit_headers

local function make_info(f, unix_now) -- unix_now: false asks os.time() when needed
  local raw = f.headers
  local hv = f.header_values -- api.response_headers, collected by the core as they arrived
  local rate_limit, retry_after
  if hv then
    rate_limit = { limit = hv[RL.limit], remaining = hv[RL.remaining], reset = hv[RL.reset] }
    local ra = hv["retry-after"]
    if ra then retry_after = M.retry_after(ra, unix_now or os.time()) end
  else -- facts not from the core (or a core not told the names): read the block
    local nl = raw and ("\n" .. raw):lower() -- one lower-cased copy for both look-ups
    rate_limit = nl and rate_limit_lower(nl) or {}
    if nl and nl:find("retry-after:", 1, true) then
      retry_after = M.retry_after(header(raw, "retry-after"), unix_now or os.time())
    end
  end
  return setmetatable({
    status = f.status ~= 0 and f.status or nil,
    raw_headers = raw,
    rate_limit = rate_limit,
    retry_after = retry_after,
    new_connections = f.new_connections, local_port = f.local_port, seconds = f.seconds,
    http_version = f.http_version,
  }, Info)
end

-- A server message from any of the fields a real API or proxy uses.
local function server_message(t, f, core)
  if t then
    for _, k in ipairs(api.message_fields) do
      local v = t[k]
      if type(v) == "table" then v = v.message end -- {"error": {"message": "..."}}
      if type(v) == "string" then return core:redact(v) end
    end
  end
  if f.body and #f.body > 0 then return ("HTTP %d; body: %s"):format(f.status, core:snippet(f.body, SNIPPET_MAX)) end
  return ("HTTP %d with an empty body"):format(f.status)
end

local function kind_for(status)
  return api.status_kinds[status] or ((status >= 400 and status < 500) and "bad_request" or "server")
end

local function http_error(status, t, f, info, core)
  if status >= 300 and status < 400 then
    return errors.new("server", ("redirect to %s not followed (the token is only sent to the API host)")
      :format(f.redirect_url and core:redact(f.redirect_url) or "(no Location)"), { status = status })
  end
  return errors.new(kind_for(status), server_message(t, f, core),
    { status = status, retry_after = info.retry_after })
end

local function decode_error(f, what, core, why)
  local where = why and (" (" .. why .. ")") or ""
  return errors.new("decode", ("%s; body: %s%s"):format(what, core:snippet(f.body or "", SNIPPET_MAX), where),
    { status = f.status ~= 0 and f.status or nil })
end

-- A body's "status": a number, or a string of digits read as that number
-- ("495"); anything else as it is.
local function body_status(t)
  local s = t.status
  if type(s) == "string" and s:find("^%d%d?%d?$") then return tonumber(s) end
  return s
end

-- Whether images is what a result needs: a list of http(s) URL strings.
local function image_urls(images)
  if type(images) ~= "table" or images[1] == nil then return false end
  for i = 1, #images do
    local u = images[i]
    if type(u) ~= "string" or not u:find("^[Hh][Tt][Tt][Pp][Ss]?://.") then return false end
  end
  return true
end

-- A cost that is not a finite number >= 0 (inf and NaN decode from 1e400,
-- a negative, a string, null) is unknown: nil, so that an estimate stands
-- in for it wherever credits are counted.
local function clean_cost(t)
  local credits = t.credits
  if type(credits) ~= "table" then return end
  local c = credits.cost
  if c ~= nil and not (type(c) == "number" and c >= 0 and c < math.huge) then credits.cost = nil end
end

-- The poll rules of api-notes; nil when the answer fits none of them.
local function poll_state(t)
  local has_images = type(t.images) == "table"
  local s = body_status(t)
  if type(s) == "number" then
    if s == 202 then return "pending" end
    if s >= 400 then return "failed" end
    if s == 200 and has_images then return "done" end
    return nil
  elseif type(s) == "string" then
    local state = api.poll_words[s:lower()]
    if state == "done" and not has_images then return nil end
    return state
  elseif s == nil and has_images then
    return "done"
  end
  return nil
end

local function state_table(t, state, status)
  t = t or {}
  if t.status == nil then t.status = status end
  t.state = state
  return t
end

---@class vinano.Context
---@field op "generate"|"submit"|"poll"|"download"|"fetch"
---@field max_response integer bytes
---@field unix_now number|false os.time() (false: classify asks it when a Retry-After date needs it)
---@field core table the client's vinano.core client: its redact and snippet

--- Facts of a finished transfer -> res, err, info.
---@param f table the transfer's facts (docs/architecture.md)
---@param ctx vinano.Context
---@return table|nil res
---@return vinano.Error|nil err
---@return vinano.Info|nil info
function M.classify(f, ctx)
  if f.cancelled then
    return nil, errors.new("cancelled", "request cancelled before it finished"), nil
  end
  local core, status, op = ctx.core, f.status or 0, ctx.op
  local ok2xx = status >= 200 and status < 300
  if f.headers then f.headers = core:redact(f.headers) end
  -- a fetched image's bytes are the user's data; every other body is text
  -- the server wrote, redacted before it is decoded or quoted
  local raw_body = f.body
  if raw_body and raw_body ~= "" and not (op == "fetch" and ok2xx) then f.body = core:redact(raw_body, "token") end
  local info = make_info(f, ctx.unix_now)
  if f.file_error then
    return nil, errors.new("io", f.file_error, { path = f.path }), info
  end
  if f.too_large then
    return nil, errors.new("decode", ("response larger than the %d-byte limit (max_response)")
      :format(ctx.max_response), { status = status ~= 0 and status or nil }), info
  end
  if f.code ~= 0 then
    return nil, errors.new(f.code == CURLE_OPERATION_TIMEDOUT and "timeout" or "network", f.error or "transfer failed",
      { curl_code = f.code, request_sent = f.request_sent }), info
  end
  if op == "download" and ok2xx then
    return { path = f.path, bytes = tointeger and tointeger(f.bytes) or f.bytes, content_type = f.content_type }, nil,
      info
  end
  if op == "fetch" and ok2xx then
    local body = f.body or ""
    return { data = body, bytes = #body, content_type = f.content_type }, nil, info
  end

  local t, why = f.json, f.json_error -- decoded by the core (call.lua asks for it)
  if t == nil then
    t, why = M.decode(f.body)
  elseif not t then
    t = nil
  end
  -- the core decoded the raw text: its strings are redacted here when the
  -- body held the token, or escapes ("\/" for "/") that could hide one
  if t and (f.body ~= raw_body or (f.body and f.body:find("\\", 1, true))) then scrub(t, core, 0) end
  if not ok2xx then
    -- a task the server says is gone or bad has failed; auth, limits and
    -- 5xx are errors of the poll itself (a 5xx poll may be retried)
    if op == "poll" and status >= 400 and status < 500 and status ~= 401 and status ~= 403 and status ~= 429
      and status ~= 495 then
      return state_table(t, "failed", status), nil, info
    end
    return nil, http_error(status, t, f, info, core), info
  end
  if not t then
    if op == "poll" and status == 202 then return state_table(nil, "pending", status), nil, info end
    return nil, decode_error(f, "expected a JSON object", core, why), info
  end
  if op == "poll" then
    local state = status == 202 and "pending" or poll_state(t)
    if state == "done" and not image_urls(t.images) then
      return nil, decode_error(f, "the task is done but its answer has no http(s) image URL in 'images'", core), info
    end
    if state == "done" then clean_cost(t) end
    if state then return state_table(t, state, status), nil, info end
    return nil, decode_error(f, "task status not recognised", core), info
  end
  local bs = body_status(t)
  if type(bs) == "number" and bs >= 400 then -- an error told in the body of a 2xx
    if bs >= 1000 or bs ~= math.floor(bs) then bs = 999 end
    return nil, http_error(bs, t, f, info, core), info
  end
  local needs = api.endpoints[op] and api.endpoints[op].needs
  if needs == "images" and t.images == nil then
    return nil, decode_error(f, "response has no 'images' list", core), info
  end
  if needs == "images" and not image_urls(t.images) then
    return nil, decode_error(f, "response has no http(s) image URL in 'images'", core), info
  end
  local id = t.task_id
  if needs == "task_id" and not ((type(id) == "string" and id ~= "") or (type(id) == "number" and id == id
    and id > -math.huge and id < math.huge)) then
    return nil, decode_error(f, "response has no 'task_id' (a non-empty string or a finite number)", core), info
  end
  clean_cost(t)
  return t, nil, info
end

return M
