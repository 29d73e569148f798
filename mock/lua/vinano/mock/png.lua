-- A minimal, valid PNG encoder: 8-bit RGB, no interlace, filter 0 on every
-- row, zlib stream made of stored (uncompressed) deflate blocks. Any PNG
-- decoder accepts it, and it needs no compression code. The mock's images
-- are small (at most 128 px on a side), so the lack of compression is fine.
local checksum = require "vinano.mock.checksum"

local M = {}

local be32 = checksum.be32
local SIGNATURE = "\137PNG\r\n\26\n"
M.SIGNATURE = SIGNATURE

local function chunk(kind, data)
  return be32(#data) .. kind .. data .. be32(checksum.crc32(kind .. data))
end

-- zlib container (RFC 1950) around stored deflate blocks (RFC 1951 3.2.4).
local function zlib_stored(raw)
  local out = { "\120\1" } -- CMF=0x78 (deflate, 32K window), FLG=0x01 (check bits)
  local n, i = #raw, 1
  repeat
    local len = math.min(65535, n - i + 1)
    local final = (i + len > n) and 1 or 0
    local nlen = 65535 - len
    out[#out + 1] = string.char(final, len % 256, math.floor(len / 256),
      nlen % 256, math.floor(nlen / 256))
    out[#out + 1] = raw:sub(i, i + len - 1)
    i = i + len
  until i > n
  out[#out + 1] = be32(checksum.adler32(raw))
  return table.concat(out)
end

-- encode(width, height, pixel) -> PNG bytes.
-- pixel(x, y) returns r, g, b (0..255); x and y start at 0.
function M.encode(width, height, pixel)
  assert(width >= 1 and height >= 1, "png: empty image")
  local rows = {}
  for y = 0, height - 1 do
    local row = { "\0" } -- filter type 0 (None)
    for x = 0, width - 1 do
      row[#row + 1] = string.char(pixel(x, y))
    end
    rows[#rows + 1] = table.concat(row)
  end
  -- IHDR: width, height, bit depth 8, colour type 2 (RGB), compression 0,
  -- filter 0, interlace 0.
  local ihdr = be32(width) .. be32(height) .. "\8\2\0\0\0"
  return SIGNATURE .. chunk("IHDR", ihdr) .. chunk("IDAT", zlib_stored(table.concat(rows)))
    .. chunk("IEND", "")
end

-- A diagonal gradient whose hue depends on `seed`, so that two generated
-- images are distinguishable by eye and by bytes.
function M.gradient(width, height, seed)
  seed = seed or 0
  local a = { (seed * 67) % 256, (seed * 131 + 80) % 256, (seed * 29 + 160) % 256 }
  local b = { 255 - a[2], 255 - a[3], 255 - a[1] }
  local span = math.max(1, width + height - 2)
  return M.encode(width, height, function(x, y)
    local t = (x + y) / span
    return math.floor(a[1] + (b[1] - a[1]) * t), math.floor(a[2] + (b[2] - a[2]) * t),
      math.floor(a[3] + (b[3] - a[3]) * t)
  end)
end

-- Reads width and height from a PNG's IHDR (used by specs and sanity checks).
function M.dimensions(data)
  if data:sub(1, 8) ~= SIGNATURE or data:sub(13, 16) ~= "IHDR" then return nil end
  local function u32(i)
    local a, b, c, d = data:byte(i, i + 3)
    return ((a * 256 + b) * 256 + c) * 256 + d
  end
  return u32(17), u32(21)
end

return M
