-- Turns a received request into a request-log entry: what a client sent,
-- in a form a test can compare, with secrets replaced.
--
-- The Authorization credential becomes `<token:N>` (N: 1-based index of the
-- matching configured token) or `<unknown:len=L>`, so two clients using the
-- same token log the same bytes while the secret itself never appears. A
-- configured token found anywhere else is replaced the same way: other
-- headers, the path and the query (raw, percent-encoded in any mixture, or
-- with "+" read as a space), part names, file names and content types, text
-- values, and the request line the server prints on stderr (M.scrub).
local checksum = require "vinano.mock.checksum"
local json = require "vinano.mock.json"
local multipart = require "vinano.mock.multipart"

local M = {}

M.MAX_VALUE = 64 * 1024 -- text part values longer than this are cut in the log

local function replace_plain(s, find, repl)
  local out, i = {}, 1
  while true do
    local a, b = s:find(find, i, true)
    if not a then break end
    out[#out + 1] = s:sub(i, a - 1)
    out[#out + 1] = repl
    i = b + 1
  end
  if i == 1 then return s end
  out[#out + 1] = s:sub(i)
  return table.concat(out)
end

-- The length of the match of token t in s at i, where each character of t
-- may appear literally or percent-encoded (either case), and "+" also as a
-- space (what form decoding makes of it); nil when t does not start at i.
local function match_at(s, i, t)
  local j = i
  for k = 1, #t do
    local c = t:sub(k, k)
    local got = s:sub(j, j)
    if got == c or (c == "+" and got == " ") then
      j = j + 1
    elseif got == "%" and tonumber(s:sub(j + 1, j + 2), 16) == c:byte() and s:sub(j + 1, j + 2):match("^%x%x$") then
      j = j + 3
    else
      return nil
    end
  end
  return j - i
end

local function scrub_encoded(s, tokens)
  local out, i, n, start = {}, 1, #s, 1
  while i <= n do
    local len, which
    for k, t in ipairs(tokens) do
      len = match_at(s, i, t)
      if len then which = k break end
    end
    if len then
      out[#out + 1] = s:sub(start, i - 1)
      out[#out + 1] = "<token:" .. which .. ">"
      i = i + len
      start = i
    else
      i = i + 1
    end
  end
  if start == 1 then return s end
  out[#out + 1] = s:sub(start)
  return table.concat(out)
end

-- scrub(s, tokens) -> s with every configured token replaced by <token:N>.
local function scrub(s, tokens)
  if s == nil then return nil end
  s = tostring(s)
  for i, t in ipairs(tokens) do s = replace_plain(s, t, "<token:" .. i .. ">") end
  -- the slow, thorough pass only where an encoded form could hide
  if s:find("[%% ]") then s = scrub_encoded(s, tokens) end
  return s
end
M.scrub = scrub

function M.redact_credential(credential, tokens)
  for i, t in ipairs(tokens) do
    if credential == t then return "<token:" .. i .. ">" end
  end
  return "<unknown:len=" .. #credential .. ">"
end

function M.redact_authorization(value, tokens)
  local scheme, credential = value:match("^(%S+)%s+(.-)%s*$")
  if scheme then return scheme .. " " .. M.redact_credential(credential, tokens) end
  return M.redact_credential(value, tokens)
end

-- entry(req, tokens, pause) -> log entry (without id/status, set by the caller).
-- `pause` lets checksums of large uploads yield to other connections.
function M.entry(req, tokens, pause)
  local headers = {}
  for name, value in pairs(req.headers) do
    if name == "authorization" then
      headers[name] = M.redact_authorization(value, tokens)
    else
      headers[name] = scrub(value, tokens)
    end
  end
  local query = {}
  for k, v in pairs(req.query or {}) do
    if type(v) == "table" then
      local list = json.array()
      for i, x in ipairs(v) do list[i] = scrub(x, tokens) end
      query[scrub(k, tokens)] = list
    else
      query[scrub(k, tokens)] = scrub(v, tokens)
    end
  end
  local content_type
  if req.headers["content-type"] then
    content_type = scrub((multipart.header_params(req.headers["content-type"])), tokens)
  end
  local parts = json.array()
  for _, p in ipairs(req.parts or {}) do
    local e = { name = scrub(p.name, tokens), filename = scrub(p.filename, tokens),
      content_type = scrub(p.content_type, tokens),
      size = #p.data, crc32 = checksum.crc32_hex(p.data, pause) }
    if not p.filename then
      e.value = scrub(p.data:sub(1, M.MAX_VALUE), tokens)
      if #p.data > M.MAX_VALUE then e.value_truncated = true end
    end
    parts[#parts + 1] = e
  end
  return {
    method = req.method,
    path = scrub(req.path, tokens),
    query = query,
    headers = headers,
    content_type = content_type,
    body_size = req.body and #req.body or nil,
    parts = parts,
    form_error = scrub(req.form_error, tokens),
  }
end

return M
