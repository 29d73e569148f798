-- CRC-32 (as used by PNG and zip) and Adler-32 (as used by zlib), in pure Lua.
--
-- The mock must run on Lua 5.4 and LuaJIT/5.1, which disagree on bit
-- operations: 5.4 has native operators (a syntax error in 5.1), LuaJIT has
-- the `bit` library, 5.2 has `bit32`. The operators are picked once, here,
-- so the rest of the code stays portable. Native operators are compiled with
-- load() so that this file still parses under 5.1.
local M = {}

local band, bxor, rshift
do
  -- math.type exists from 5.3 on, exactly where the operators do.
  local native = math.type and load([[
    return function(a, b) return a & b end,
           function(a, b) return a ~ b end,
           function(a, n) return a >> n end
  ]])
  local ok_bit, bit = pcall(require, "bit")
  if native then
    band, bxor, rshift = native()
  elseif ok_bit then
    -- LuaJIT's results are signed 32-bit numbers; callers normalise with % 2^32.
    band, bxor, rshift = bit.band, bit.bxor, bit.rshift
  elseif bit32 then -- luacheck: ignore 113 (only exists on 5.2)
    band, bxor, rshift = bit32.band, bit32.bxor, bit32.rshift -- luacheck: ignore 113
  else
    -- Plain Lua 5.1: arithmetic fallback, slow but correct.
    local function op(a, b, keep)
      local r, p = 0, 1
      a, b = a % 4294967296, b % 4294967296
      for _ = 1, 32 do
        local x, y = a % 2, b % 2
        if keep(x, y) then r = r + p end
        a, b, p = (a - x) / 2, (b - y) / 2, p * 2
      end
      return r
    end
    band = function(a, b) return op(a, b, function(x, y) return x == 1 and y == 1 end) end
    bxor = function(a, b) return op(a, b, function(x, y) return x ~= y end) end
    rshift = function(a, n) return math.floor((a % 4294967296) / 2 ^ n) end
  end
end

local TABLE = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if band(c, 1) == 1 then
      c = bxor(rshift(c, 1), 0xEDB88320)
    else
      c = rshift(c, 1)
    end
  end
  TABLE[i] = c
end

local byte = string.byte
local CHUNK = 1024 * 1024

-- crc32(s [, crc [, pause]]) -> unsigned integer.
-- `crc` continues a previous result; `pause`, if given, is called after each
-- MiB so a long checksum does not starve other connections of the server.
function M.crc32(s, crc, pause)
  crc = bxor(crc or 0, 0xFFFFFFFF)
  local n = #s
  local i = 1
  -- Eight bytes per string.byte call: about twice as fast as one at a time.
  while i + 7 <= n do
    local b1, b2, b3, b4, b5, b6, b7, b8 = byte(s, i, i + 7)
    crc = bxor(rshift(crc, 8), TABLE[band(bxor(crc, b1), 0xFF)])
    crc = bxor(rshift(crc, 8), TABLE[band(bxor(crc, b2), 0xFF)])
    crc = bxor(rshift(crc, 8), TABLE[band(bxor(crc, b3), 0xFF)])
    crc = bxor(rshift(crc, 8), TABLE[band(bxor(crc, b4), 0xFF)])
    crc = bxor(rshift(crc, 8), TABLE[band(bxor(crc, b5), 0xFF)])
    crc = bxor(rshift(crc, 8), TABLE[band(bxor(crc, b6), 0xFF)])
    crc = bxor(rshift(crc, 8), TABLE[band(bxor(crc, b7), 0xFF)])
    crc = bxor(rshift(crc, 8), TABLE[band(bxor(crc, b8), 0xFF)])
    i = i + 8
    if pause and (i - 1) % CHUNK == 0 then pause() end
  end
  for j = i, n do
    crc = bxor(rshift(crc, 8), TABLE[band(bxor(crc, byte(s, j)), 0xFF)])
  end
  return bxor(crc, 0xFFFFFFFF) % 4294967296
end

function M.crc32_hex(s, pause)
  return string.format("%08x", M.crc32(s, nil, pause))
end

-- adler32(s) -> unsigned integer. Only needs arithmetic.
function M.adler32(s)
  local a, b = 1, 0
  local n = #s
  local i = 1
  while i <= n do
    -- 5552 is zlib's NMAX: the largest run that cannot overflow before the
    -- modulo in 32-bit arithmetic; we are on doubles/int64 but keep it cheap.
    local last = math.min(i + 5551, n)
    for j = i, last do
      a = a + byte(s, j)
      b = b + a
    end
    a, b = a % 65521, b % 65521
    i = last + 1
  end
  return b * 65536 + a
end

-- Big-endian 4-byte encoding of an unsigned 32-bit number, without string.pack
-- (absent on 5.1).
function M.be32(n)
  n = n % 4294967296
  return string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256,
    math.floor(n / 256) % 256, n % 256)
end

return M
