-- Small text helpers: UTF-8 character counting, URL decoding, identifiers.
-- Written without the utf8 library (absent on 5.1/LuaJIT).
local M = {}

-- utf8_length(s) -> number of characters, or nil if s is not valid UTF-8.
-- Rejects overlong forms, surrogates and code points above U+10FFFF, as a
-- strict server decoder would.
function M.utf8_length(s)
  local i, n, count = 1, #s, 0
  while i <= n do
    local c = s:byte(i)
    local len
    if c < 0x80 then len = 1
    elseif c >= 0xC2 and c <= 0xDF then len = 2
    elseif c >= 0xE0 and c <= 0xEF then len = 3
    elseif c >= 0xF0 and c <= 0xF4 then len = 4
    else return nil end
    if i + len - 1 > n then return nil end
    for k = i + 1, i + len - 1 do
      local d = s:byte(k)
      if d < 0x80 or d > 0xBF then return nil end
    end
    if len > 2 then
      local d = s:byte(i + 1)
      if (c == 0xE0 and d < 0xA0) or (c == 0xED and d > 0x9F)
        or (c == 0xF0 and d < 0x90) or (c == 0xF4 and d > 0x8F) then return nil end
    end
    i, count = i + len, count + 1
  end
  return count
end

function M.url_decode(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- parse_query("a=1&b=x%20y") -> { a = "1", b = "x y" }; a repeated name
-- becomes a list of its values, in order.
function M.parse_query(q)
  local out = {}
  if not q or q == "" then return out end
  for pair in q:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=(.*)$")
    if not k then k, v = pair, "" end
    k, v = M.url_decode(k), M.url_decode(v)
    local old = out[k]
    if old == nil then
      out[k] = v
    elseif type(old) == "table" then
      old[#old + 1] = v
    else
      out[k] = { old, v }
    end
  end
  return out
end

-- A random RFC 4122 version-4 UUID, built from 16-bit pieces so that
-- string.format("%x") never sees a number too large for any Lua.
local seeded = false
function M.uuid()
  if not seeded then
    -- 5.4 seeds itself from good entropy. 5.1/LuaJIT do not, and every mock
    -- process would hand out the same ids: mix the time with a table
    -- address, which address-space randomisation makes differ per process.
    if not math.type or _VERSION == "Lua 5.3" then
      local addr = tonumber(tostring({}):match("0x(%x+)") or "0", 16) or 0
      math.randomseed((os.time() + math.floor(os.clock() * 1e6) + addr) % 2147483647)
    end
    seeded = true
  end
  local function r16() return math.random(0, 65535) end
  return string.format("%04x%04x-%04x-%04x-%04x-%04x%04x%04x", r16(), r16(), r16(),
    16384 + r16() % 4096, 32768 + r16() % 16384, r16(), r16(), r16())
end

return M
