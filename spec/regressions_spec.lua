-- Bugs the fuzzers found (fuzz/regressions/), replayed through the real
-- module.  Under `make check-asan` a relapse is a sanitizer report; the
-- folded-header one also crashes a plain build.
local core = require "vinano.core"
local socket = require "socket"
local raw = require "spec.support.raw"

describe("regressions", function()
  it("a part table whose fields come from __index (form.c use-after-free, now refused)", function()
    local c = core.new { token = "t" }
    local part = setmetatable({}, { __index = function(_, k)
      collectgarbage() -- the collection that freed the popped string
      if k == "name" then return ("i"):rep(1) .. "mage" end
      if k == "data" then return "x" .. ("y"):rep(2) end
      if k == "filename" then return ("n"):rep(3) .. ".png" end -- nothing else references it
    end })
    -- the core reads parts with rawget: a proxy table is refused, cleanly
    local ok, err = pcall(c.start, c, { method = "POST", url = "http://127.0.0.1:9/api",
      parts = { { name = "prompt", value = "p" }, part } })
    assert.is_false(ok)
    assert.matches("parts[2].name: string expected", err, 1, true)
    c:close()
  end)

  -- One request of client c, answered by hand with the raw bytes answer.
  local function serve(c, server, answer)
    local req = c:start(raw.generate(c.base_url, { prompt = "p" }))
    local conn
    while not req:done() do
      c:step(10)
      if not conn then
        conn = server:accept()
        if conn then assert(conn:send(answer)) end
      end
    end
    local res, err, info = raw.result(req)
    req:close()
    if conn then conn:close() end
    return res, err, info
  end

  local function local_server()
    local server = assert(socket.bind("127.0.0.1", 0))
    server:settimeout(0)
    local _, port = server:getsockname()
    local c = core.new { token = "t", timeout = 5 }
    return server, setmetatable({ base_url = "http://127.0.0.1:" .. port }, { __index = function(_, k)
      return function(_, ...) return c[k](c, ...) end
    end })
  end

  it("a folded first header on the next response (libcurl < 8.1.0 with a reused handle)", function()
    local server, c = local_server()
    local body = '{"images":["https://x/u.png"]}'
    local first = serve(c, server, "HTTP/1.1 200 OK\r\nX-A: 1\r\nConnection: close\r\nContent-Length: " .. #body
      .. "\r\n\r\n" .. body)
    assert.are.equal("https://x/u.png", first.images[1])
    -- libcurl refuses the folded line; what matters is that it does so
    -- without touching freed memory, and that the answer is a structured error
    local second, err = serve(c, server, "HTTP/1.1 200 OK\r\n X-B: folded first header\r\nContent-Length: "
      .. #body .. "\r\n\r\n" .. body)
    assert.is_nil(second)
    assert.are.equal("network", err.kind)
    c:close()
    server:close()
  end)

  it("numbers out of integer range in a body status or a rate-limit header", function()
    local server, c = local_server()
    local body = '{"status":1e300,"message":"huge"}'
    local res, err, info = serve(c, server, "HTTP/1.1 200 OK\r\nX-RateLimit-Reset: 1e300\r\n"
      .. "X-RateLimit-Limit: nan\r\nX-RateLimit-Remaining: inf\r\nConnection: close\r\nContent-Length: " .. #body
      .. "\r\n\r\n" .. body)
    assert.is_nil(res)
    assert.are.equal(999, err.status)
    assert.are.equal(1e300, info.rate_limit.reset)
    assert.is_nil(info.rate_limit.limit) -- nan: not a number the limiter could use
    assert.is_nil(info.rate_limit.remaining) -- inf
    c:close()
    server:close()
  end)
end)
