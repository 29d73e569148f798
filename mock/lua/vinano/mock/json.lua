-- JSON encoding for the mock's responses and request log.
--
-- Why not cjson.encode: it turns an empty Lua table into `{}` even where an
-- array is meant (an empty request log must be `[]`), and its key order is
-- unspecified. Here keys are sorted, so the same log encodes to the same
-- bytes, and `json.array(t)` marks a table as an array even when empty.
-- Decoding (control API input) uses cjson.
local cjson = require "cjson"

local M = {}

local ARRAY = {}
M.null = cjson.null

function M.array(t)
  return setmetatable(t or {}, ARRAY)
end

local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

-- Invalid UTF-8 cannot go into JSON text; each bad byte becomes U+FFFD so the
-- output stays valid (the log may hold what a broken client sent).
local function valid_utf8(s)
  local out, i, n, bad = {}, 1, #s, false
  while i <= n do
    local c = s:byte(i)
    local len = c < 0x80 and 1 or c >= 0xC2 and c <= 0xDF and 2 or c >= 0xE0 and c <= 0xEF and 3
      or c >= 0xF0 and c <= 0xF4 and 4 or 0
    local ok = len > 0 and i + len - 1 <= n
    if ok and len > 1 then
      for k = i + 1, i + len - 1 do
        local d = s:byte(k)
        if d < 0x80 or d > 0xBF then ok = false break end
      end
      local d = s:byte(i + 1)
      -- overlong 3/4-byte forms, surrogates, and code points above U+10FFFF
      if ok and ((c == 0xE0 and d < 0xA0) or (c == 0xED and d > 0x9F)
        or (c == 0xF0 and d < 0x90) or (c == 0xF4 and d > 0x8F)) then ok = false end
    end
    if ok then
      out[#out + 1] = s:sub(i, i + len - 1)
      i = i + len
    else
      out[#out + 1], bad = "\239\191\189", true
      i = i + 1
    end
  end
  return bad and table.concat(out) or s
end

local function encode_string(s)
  s = valid_utf8(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return ESCAPES[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function encode_number(x)
  if x ~= x or x == math.huge or x == -math.huge then return "null" end
  if x == math.floor(x) and math.abs(x) < 2 ^ 53 then return string.format("%.0f", x) end
  local s = string.format("%.14g", x)
  if tonumber(s) ~= x then s = string.format("%.17g", x) end
  return s
end

local encode

local function is_array(t)
  if getmetatable(t) == ARRAY then return true end
  if next(t) == nil then return false end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t
end

function encode(v, out)
  local kind = type(v)
  if v == nil or v == cjson.null then
    out[#out + 1] = "null"
  elseif kind == "boolean" then
    out[#out + 1] = tostring(v)
  elseif kind == "number" then
    out[#out + 1] = encode_number(v)
  elseif kind == "string" then
    out[#out + 1] = encode_string(v)
  elseif kind == "table" then
    if is_array(v) then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        encode(v[i], out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = encode_string(k)
        out[#out + 1] = ":"
        local val = v[k]
        if val == nil then val = v[tonumber(k)] end
        encode(val, out)
      end
      out[#out + 1] = "}"
    end
  else
    error("json: cannot encode a " .. kind)
  end
end

function M.encode(v)
  local out = {}
  encode(v, out)
  return table.concat(out)
end

-- decode(text) -> value or nil, error message (never throws).
function M.decode(text)
  local ok, v = pcall(cjson.decode, text)
  if ok then return v end
  return nil, tostring(v)
end

return M
