-- The response headers the core collects as they arrive (core.new{headers =
-- ...}, core.header_values): the same X-RateLimit-* and Retry-After as the
-- Lua readers of the raw block (response.rate_limit, response.header) on
-- random header blocks, and in the facts of a real transfer.
local S = require "spec.core.support"
local core = S.core
local api = require "vinano.api"
local response = require "vinano.response"

local RL = api.rate_limit_headers

local function rng(seed)
  local x = seed
  return function(n)
    x = (x * 1103515245 + 12345) % 2147483648
    return x % n + 1
  end
end

-- A header block of lines from pieces that stress names, case, spacing and
-- values (numbers in every spelling tonumber knows, dates, junk).
local function block(rnd)
  local names = { "X-RateLimit-Limit", "x-ratelimit-remaining", "X-RATELIMIT-RESET", "Retry-After", "retry-after",
    "X-RateLimit-Limits", "X-RateLimit-", "x-ratelimit-limit ", " X-RateLimit-Limit", "Content-Type", "X-Other",
    "RETRY-AFTER", "Retry-After2", "x-ratelimit-reset\t" }
  local values = { "20", " 7 ", "1700000060", "0x1A", "1e3", "2.5", "-3", "inf", "nan", "1e999", "", "abc", " 5\r",
    "Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 27 Nov 2026 01:55:00 GMT", "120", "0", "00", "+4", "9223372036854775808",
    "\t9\t", "5 6", "\v8", "١٢", "0X10", "1E2", ".5", "5.", "  ", "12345678901234567890" }
  local lines = { "HTTP/1.1 " .. (200 + rnd(300)) .. " X\r\n" }
  for i = 2, rnd(9) do
    local colon = ({ ":", ":", ":", ": ", " :", "" })[rnd(6)]
    local eol = ({ "\r\n", "\r\n", "\n", "\r\r\n" })[rnd(4)]
    lines[i] = names[rnd(#names)] .. colon .. values[rnd(#values)] .. eol
  end
  return table.concat(lines)
end

local unix_now = 1700000000

describe("collected response headers", function()
  -- VINANO_HEADER_BLOCKS=200000 for the long run bench/README.md records
  local N = tonumber(os.getenv("VINANO_HEADER_BLOCKS")) or 20000
  it(("equal the Lua readers of the raw block on %d random blocks"):format(N), function()
    local rnd = rng(42)
    local seen = 0
    for _ = 1, N do
      local raw = block(rnd)
      local hv = core.header_values(raw, api.response_headers)
      local want = response.rate_limit(raw)
      local got = { limit = hv[RL.limit], remaining = hv[RL.remaining], reset = hv[RL.reset] }
      for _, k in ipairs { "limit", "remaining", "reset" } do
        local a, b = got[k], want[k]
        local same = a == b or (a ~= a and b ~= b)
        if math.type then same = same and math.type(a) == math.type(b) end
        assert(same, ("%q: %s: %s vs %s"):format(raw, k, tostring(a), tostring(b)))
      end
      local ra = hv["retry-after"]
      local lua_ra = response.header(raw, "retry-after")
      assert(ra == lua_ra, ("%q: retry-after %s vs %s"):format(raw, tostring(ra), tostring(lua_ra)))
      assert.are.equal(response.retry_after(lua_ra, unix_now), response.retry_after(ra, unix_now))
      if got.limit or got.remaining or got.reset or ra then seen = seen + 1 end
    end
    assert.is_true(seen > N / 4) -- most blocks carried a value that was read
  end)

  it("start over at a new status line (the last response's only)", function()
    local hv = core.header_values("HTTP/1.1 100 Continue\r\nX-RateLimit-Limit: 5\r\n\r\nHTTP/1.1 200 OK\r\n"
      .. "X-RateLimit-Remaining: 3\r\n", api.response_headers)
    assert.is_nil(hv["x-ratelimit-limit"])
    assert.are.equal(3, hv["x-ratelimit-remaining"])
  end)

  it("refuse a bad list of names, naming the option", function()
    for _, bad in ipairs { { ["a b"] = "number" }, { [""] = "string" }, { ["X-A"] = "float" }, { "x" },
      { ["a:b"] = "string" } } do
      local ok, err = pcall(core.new, { headers = bad })
      assert.is_false(ok)
      assert.matches("bad option 'headers'", err)
    end
    local many = {}
    for i = 1, 17 do many["h" .. i] = "string" end
    assert.has_error(function() core.new { headers = many } end)
  end)
end)
