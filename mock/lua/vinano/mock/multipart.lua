-- multipart/form-data parsing (RFC 7578 over RFC 2046), byte-exact and
-- binary-safe: every search is a plain string.find, and part contents are
-- exact substrings of the body (no line-ending or charset conversion).
local M = {}

-- Parses `; name=value; name2="quoted \" value"` parameters of a header
-- value. Returns the bare value (lowercased) and a table of parameters with
-- lowercased names.
function M.header_params(value)
  local main, rest = value:match("^%s*([^;]*)(.*)$")
  local params = {}
  local i = 1
  while true do
    local s, e, name = rest:find("^%s*;%s*([^=;%s]+)%s*=%s*", i)
    if not s then break end
    name = name:lower()
    i = e + 1
    if rest:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while j <= #rest do
        local c = rest:sub(j, j)
        if c == "\\" and j < #rest then
          buf[#buf + 1] = rest:sub(j + 1, j + 1)
          j = j + 2
        elseif c == '"' then
          break
        else
          buf[#buf + 1] = c
          j = j + 1
        end
      end
      params[name] = table.concat(buf)
      i = j + 1
    else
      local v = rest:match("^[^;]*", i)
      params[name] = v:match("^(.-)%s*$")
      i = i + #v
    end
  end
  return (main:match("^(.-)%s*$")):lower(), params
end

-- Parses the header block of one part into a table of lowercased names.
local function part_headers(block)
  local headers = {}
  for line in (block .. "\r\n"):gmatch("(.-)\r\n") do
    local name, value = line:match("^([^:%s]+)%s*:%s*(.-)%s*$")
    if not name then return nil, "malformed part header" end
    headers[name:lower()] = value
  end
  return headers
end

-- parse(body, content_type) -> list of parts, or nil and an error message.
-- Each part: { name=, filename= (nil unless a file part), content_type=
-- (nil unless the part said), data= (the exact bytes), headers= }.
function M.parse(body, content_type)
  local media, params = M.header_params(content_type or "")
  if media ~= "multipart/form-data" then return nil, "not multipart/form-data" end
  local boundary = params.boundary
  if not boundary or boundary == "" or #boundary > 200 then return nil, "missing or bad boundary" end
  local dash = "--" .. boundary
  -- The first delimiter may follow a preamble; it must start a line.
  local pos
  if body:sub(1, #dash) == dash then
    pos = #dash + 1
  else
    local s, e = body:find("\r\n" .. dash, 1, true)
    if not s then return nil, "no opening boundary" end
    pos = e + 1
  end
  local delimiter = "\r\n" .. dash
  local parts = {}
  while true do
    if body:sub(pos, pos + 1) == "--" then return parts end -- close delimiter
    -- transport padding (RFC 2046 allows trailing whitespace) then CRLF
    local _, e = body:find("^[ \t]*\r\n", pos)
    if not e then return nil, "malformed boundary line" end
    local hs, he = body:find("\r\n\r\n", e + 1, true)
    local headers, err
    if body:sub(e + 1, e + 2) == "\r\n" then
      headers, he = {}, e + 2 -- a part with no headers at all
    elseif not hs then
      return nil, "unterminated part headers"
    else
      headers, err = part_headers(body:sub(e + 1, hs - 1))
      if not headers then return nil, err end
    end
    local ds = body:find(delimiter, he + 1, true)
    if not ds then return nil, "missing closing boundary" end
    local disposition = headers["content-disposition"]
    if not disposition then return nil, "part without Content-Disposition" end
    local kind, dparams = M.header_params(disposition)
    if kind ~= "form-data" or not dparams.name then return nil, "part is not form-data with a name" end
    parts[#parts + 1] = {
      name = dparams.name,
      filename = dparams.filename,
      content_type = headers["content-type"],
      data = body:sub(he + 1, ds - 1),
      headers = headers,
    }
    pos = ds + #delimiter
  end
end

return M
