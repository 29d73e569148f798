-- Turns a received request into a request-log entry: what a client sent,
-- in a form a test can compare, with secrets replaced.
--
-- The Authorization credential becomes `<token:N>` (N: 1-based index of the
-- matching configured token) or `<unknown:len=L>`, so two clients using the
-- same token log the same bytes while the secret itself never appears. A
-- configured token found anywhere else (another header, a query or form
-- value) is replaced the same way.
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

local function scrub(s, tokens)
  for i, t in ipairs(tokens) do s = replace_plain(s, t, "<token:" .. i .. ">") end
  return s
end

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
  if req.headers["content-type"] then content_type = (multipart.header_params(req.headers["content-type"])) end
  local parts = json.array()
  for _, p in ipairs(req.parts or {}) do
    local e = { name = scrub(p.name, tokens), filename = p.filename, content_type = p.content_type,
      size = #p.data, crc32 = checksum.crc32_hex(p.data, pause) }
    if not p.filename then
      e.value = scrub(p.data:sub(1, M.MAX_VALUE), tokens)
      if #p.data > M.MAX_VALUE then e.value_truncated = true end
    end
    parts[#parts + 1] = e
  end
  return {
    method = req.method,
    path = req.path,
    query = query,
    headers = headers,
    content_type = content_type,
    body_size = req.body and #req.body or nil,
    parts = parts,
    form_error = req.form_error,
  }
end

return M
