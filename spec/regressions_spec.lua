-- Bugs the fuzzers found (fuzz/regressions/), replayed through the real
-- module.  Under `make check-asan` a relapse is a sanitizer report; the
-- folded-header one also crashes a plain build.
local core = require "vinano.core"
local socket = require "socket"

describe("regressions", function()
  it("a file table whose fields come from __index (form.c use-after-free)", function()
    local c = core.new { token = "t", base_url = "http://127.0.0.1:9" }
    local file = setmetatable({}, { __index = function(_, k)
      collectgarbage() -- the collection that freed the popped string
      if k == "data" then return "x" .. ("y"):rep(2) end
      if k == "filename" then return ("n"):rep(3) .. ".png" end -- nothing else references it
    end })
    local req = assert(c:start("generate", { prompt = "p", image = file }))
    req:close()
    c:close()
  end)

  -- One request of client c, answered by hand with the raw bytes answer.
  local function serve(c, server, answer)
    local req = assert(c:start("generate", { prompt = "p" }))
    local conn
    while not req:done() do
      c:step(10)
      if not conn then
        conn = server:accept()
        if conn then assert(conn:send(answer)) end
      end
    end
    local res, err, info = req:result()
    req:close()
    if conn then conn:close() end
    return res, err, info
  end

  local function local_server()
    local server = assert(socket.bind("127.0.0.1", 0))
    server:settimeout(0)
    local _, port = server:getsockname()
    return server, core.new { token = "t", base_url = "http://127.0.0.1:" .. port, timeout = 5 }
  end

  it("a folded first header on the next response (libcurl < 8.1.0 with a reused handle)", function()
    local server, c = local_server()
    local body = '{"images":["u"]}'
    local first = serve(c, server, "HTTP/1.1 200 OK\r\nX-A: 1\r\nConnection: close\r\nContent-Length: " .. #body
      .. "\r\n\r\n" .. body)
    assert.are.equal("u", first.images[1])
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
    c:close()
    server:close()
  end)
end)
