-- Transfers against the mock (a generic HTTP server here): the facts of
-- t:result(), cancel, close mid-flight, the finished queue, the registry.
local S = require "spec.core.support"
local core = S.core

describe("transfers", function()
  local mock, gen
  setup(function()
    mock = S.mock { rate_limit = 1000 }
    gen = mock.url .. "/api/v2/images/generate"
  end)
  teardown(function() mock:stop() end)
  before_each(function()
    mock:reset()
    mock:set { rate_limit = 1000 }
  end)

  it("POSTs the parts in order with the Authorization line and gives the facts of a 200", function()
    local c = core.new { token = S.token, user_agent = "core-spec/1" }
    local t = c:start { method = "POST", url = gen, auth = true, parts = {
      { name = "prompt", value = "a red fox" },
      { name = "aspectRatio", value = "16:9" },
      { name = "image", data = "\137PNG\r\n\26\n....", filename = "in.png", type = "image/png" },
      { name = "image", file = "spec/core/support.lua", filename = "s.png", type = "image/png" },
    } }
    assert.are.equal("running", t:state())
    assert.are.equal(1, c:running())
    assert.has_error(function() t:result() end)
    local r = S.run(c, t)
    assert.are.equal(0, r.code)
    assert.is_nil(r.error)
    assert.are.equal(200, r.status)
    assert.matches('"status":%s*200', r.body)
    assert.matches("^HTTP/1.1 200", r.headers)
    assert.matches("\r\nX%-RateLimit%-Limit: 1000\r\n", r.headers)
    assert.matches("\r\n\r\n$", r.headers)
    assert.matches("^application/json", r.content_type)
    assert.is_true(r.request_sent)
    assert.are.equal("1.1", r.http_version)
    assert.are.equal(1, r.new_connections)
    assert.is_number(r.local_port)
    assert.is_true(r.seconds > 0)
    assert.is_nil(r.cancelled)
    local sent, up_total = t:progress()
    assert.is_true(sent > 0 and sent == up_total)
    local log = mock:requests()
    local e = log[#log]
    assert.are.equal("POST", e.method)
    assert.are.equal("Bearer <token:1>", e.headers.authorization)
    assert.are.equal("core-spec/1", e.headers["user-agent"])
    local names = {}
    for i, p in ipairs(e.parts) do names[i] = p.name end
    assert.are.same({ "prompt", "aspectRatio", "image", "image" }, names)
    assert.are.equal("a red fox", e.parts[1].value)
    assert.are.equal("in.png", e.parts[3].filename)
    assert.are.equal("image/png", e.parts[3].content_type)
    assert.are.equal("s.png", e.parts[4].filename)
    assert.are.equal(#S.read_file("spec/core/support.lua"), e.parts[4].size)
    -- a second transfer reuses the connection
    r = S.run(c, c:start { method = "POST", url = gen, auth = true, parts = S.parts() })
    assert.are.equal(200, r.status)
    assert.are.equal(0, r.new_connections)
    c:close()
  end)

  it("sends no Authorization line without auth = true", function()
    local c = core.new { token = S.token }
    local r = S.run(c, c:start { method = "POST", url = gen, parts = S.parts() })
    assert.are.equal(401, r.status)
    assert.are.equal(0, r.code)
    assert.matches("^HTTP/1.1 401", r.headers)
    assert.is_nil(mock:requests()[1].headers.authorization)
    c:close()
  end)

  it("gives 4xx, 5xx and 429 as facts: status, raw headers, body, retry_after", function()
    local c = core.new { token = S.token }
    mock:fault { action = "status", status = 429, headers = { ["Retry-After"] = "7" }, body = '{"m":"slow"}' }
    local r = S.run(c, c:start { method = "POST", url = gen, auth = true, parts = S.parts() })
    assert.are.equal(429, r.status)
    assert.are.equal(0, r.code)
    assert.are.equal(7, r.retry_after)
    assert.matches("\r\nRetry%-After: 7\r\n", r.headers)
    assert.are.equal('{"m":"slow"}', r.body)
    mock:fault { action = "status", status = 503, body = "down" }
    r = S.run(c, c:start { method = "POST", url = gen, auth = true, parts = S.parts() })
    assert.are.equal(503, r.status)
    assert.are.equal("down", r.body)
    assert.is_nil(r.retry_after)
    r = S.run(c, c:start { url = mock.url .. "/nowhere" })
    assert.are.equal(404, r.status)
    assert.is_true(r.request_sent)
    c:close()
  end)

  it("decodes a JSON object body on json = true and collects the named headers", function()
    local names = { ["X-RateLimit-Limit"] = "number", ["x-ratelimit-remaining"] = "number", ["Retry-After"] = "string" }
    local c = core.new { token = S.token, headers = names }
    local r = S.run(c, c:start { method = "POST", url = gen, auth = true, parts = S.parts(), json = true })
    assert.are.equal(200, r.status)
    assert.are.equal(200, r.json.status)
    assert.is_table(r.json.images)
    if math.type then assert.are.equal("integer", math.type(r.json.status)) end
    assert.are.equal(1000, r.header_values["x-ratelimit-limit"])
    assert.is_number(r.header_values["x-ratelimit-remaining"])
    assert.is_nil(r.header_values["retry-after"])
    mock:fault { action = "status", status = 429, headers = { ["Retry-After"] = "  7 " }, body = '{"m":' }
    r = S.run(c, c:start { method = "POST", url = gen, auth = true, parts = S.parts(), json = true })
    assert.are.equal("7", r.header_values["retry-after"])
    assert.is_false(r.json)
    assert.are.equal("invalid JSON at byte 6: expected a value, found the end of the text", r.json_error)
    mock:fault { action = "status", status = 503, body = "down" }
    r = S.run(c, c:start { method = "POST", url = gen, auth = true, parts = S.parts(), json = true })
    assert.is_false(r.json)
    assert.is_nil(r.json_error) -- not JSON at all: nothing to say where
    r = S.run(c, c:start { method = "POST", url = gen, auth = true, parts = S.parts() })
    assert.is_nil(r.json) -- not asked
    c:close()
    c = core.new { token = S.token }
    r = S.run(c, c:start { method = "POST", url = gen, auth = true, parts = S.parts() })
    assert.is_nil(r.header_values) -- no names given
    c:close()
  end)

  it("redacts an error body before any Lua sees it, a 2xx body never", function()
    local c = core.new { token = S.token }
    local echo = '{"message":"you sent ' .. S.token .. '"}'
    mock:fault { action = "status", status = 400, body = echo }
    local r = S.run(c, c:start { method = "POST", url = gen, auth = true, parts = S.parts(), json = true })
    assert.are.equal(400, r.status)
    assert.are.equal('{"message":"you sent <redacted>"}', r.body)
    assert.are.equal("you sent <redacted>", r.json.message)
    -- an echoed Authorization line loses the token and stays JSON (c:snippet,
    -- which quotes a body in an error, also hides the rest of such a line)
    mock:fault { action = "status", status = 500, body = '{"h":"Authorization: Bearer ' .. S.token .. '"}\nnext' }
    r = S.run(c, c:start { method = "POST", url = gen, auth = true, parts = S.parts(), json = true })
    assert.are.equal('{"h":"Authorization: Bearer <redacted>"}\nnext', r.body)
    assert.is_false(r.json) -- "next" after the object: not one JSON value
    assert.are.equal('"{\\"h\\":\\"Authorization: <redacted>\\x0anext"', c:snippet(r.body))
    mock:fault { action = "body", status = 200, body = echo }
    r = S.run(c, c:start { method = "POST", url = gen, auth = true, parts = S.parts() })
    assert.are.equal(echo, r.body) -- the answer itself: what the user asked for
    c:close()
  end)

  it("says request_sent = false when the connection is refused", function()
    local c = core.new {}
    local url = "http://127.0.0.1:" .. S.free_port() .. "/"
    local r = S.run(c, c:start { method = "POST", url = url, parts = S.parts() })
    assert.are.equal(7, r.code) -- CURLE_COULDNT_CONNECT
    assert.is_string(r.error)
    assert.are.equal(0, r.status)
    assert.is_false(r.request_sent)
    assert.is_nil(r.headers)
    c:close()
  end)

  it("refuses other protocols and stops at max_response", function()
    local c = core.new { max_response = 100 }
    local r = S.run(c, c:start { url = "file:///etc/hosts" })
    assert.are.equal(1, r.code) -- CURLE_UNSUPPORTED_PROTOCOL
    mock:fault { action = "endless_body" }
    r = S.run(c, c:start { method = "POST", url = gen, parts = S.parts() })
    assert.is_true(r.too_large)
    assert.are.equal(23, r.code) -- CURLE_WRITE_ERROR
    assert.is_true(#r.body <= 100)
    c:close()
  end)

  it("reports a redirect, or follows it when told", function()
    local c = core.new { token = S.token }
    mock:fault { action = "redirect", location = mock.url .. "/api/v1/images/task-status?task_id=x" }
    local r = S.run(c, c:start { method = "POST", url = gen, parts = S.parts() })
    assert.are.equal(302, r.status)
    assert.are.equal(mock.url .. "/api/v1/images/task-status?task_id=x", r.redirect_url)
    mock:fault { action = "redirect", location = mock.url .. "/nowhere" }
    r = S.run(c, c:start { url = mock.url .. "/api/v1/images/task-status?task_id=x", follow = 3 })
    assert.are.equal(404, r.status)
    assert.matches("^HTTP/1.1 404", r.headers) -- only the last response's block
    assert.matches("not found", r.body) -- and body
    assert.is_nil(r.redirect_url)
    c:close()
  end)

  it("cancels a running transfer", function()
    local c = core.new { token = S.token }
    mock:fault { action = "delay", seconds = 3 }
    local t = c:start { method = "POST", url = gen, auth = true, parts = S.parts() }
    local t0 = core.now()
    while core.now() - t0 < 0.3 do c:step(50) end
    assert.is_true(t:cancel())
    assert.is_false(t:cancel())
    assert.are.equal("done", t:state())
    assert.are.equal(0, c:running())
    local r = t:result()
    assert.is_true(r.cancelled)
    assert.are.equal(42, r.code)
    assert.are.equal("cancelled", r.error)
    assert.is_true(r.request_sent)
    c:close()
  end)

  it("closes mid-flight: the client (transfers read cancelled) and a transfer", function()
    local c = core.new { token = S.token }
    mock:fault { action = "delay", seconds = 3, times = 3 }
    local t1 = c:start { method = "POST", url = gen, auth = true, parts = S.parts() }
    local t2 = c:start { method = "POST", url = gen, auth = true, parts = S.parts() }
    local t3 = c:start { method = "POST", url = gen, auth = true, parts = S.parts() }
    c:step(50)
    t3:close()
    assert.are.equal("closed", t3:state())
    assert.has_error(function() t3:result() end)
    assert.are.equal(2, c:running())
    local before = tostring(c)
    assert.are.equal("vinano.core.client (2 in flight)", before)
    c:close()
    for _, t in ipairs { t1, t2 } do
      assert.are.equal("done", t:state())
      assert.is_true(t:result().cancelled)
    end
    t1:close()
    t2 = nil -- luacheck: ignore
    collectgarbage()
    collectgarbage()
  end)

  it("gives identical facts before and after its client is closed", function()
    local c = core.new { token = S.token }
    local t = c:start { method = "POST", url = gen, auth = true, parts = S.parts() }
    local before = S.run(c, t)
    assert.are_not.equal(before, t:result()) -- a new table each call
    c:close()
    assert.are.same(before, t:result())
    t:close()
    t:close()
  end)

  it("queues transfers started with queue = true, drained by finished()", function()
    local c = core.new { token = S.token }
    assert.is_nil(c:finished())
    local queued = {}
    for i = 1, 3 do queued[c:start { method = "POST", url = gen, auth = true, parts = S.parts(), queue = true }] = i end
    local plain = c:start { method = "POST", url = gen, auth = true, parts = S.parts() }
    local seen, deadline = {}, core.now() + 20
    while c:running() > 0 do
      c:step(50)
      for _, t in ipairs(c:finished() or {}) do
        assert.is_truthy(queued[t])
        assert.is_nil(seen[t])
        assert.is_true(t:done())
        seen[t] = true
      end
      assert.is_true(core.now() < deadline)
    end
    local n = 0
    for _ in pairs(seen) do n = n + 1 end
    assert.are.equal(3, n)
    assert.is_nil(seen[plain])
    assert.is_nil(c:finished())
    -- a sink that cannot be opened finishes at once, and is queued too
    local t = c:start { url = gen, sink = "/nonexistent-dir/x.png", queue = true }
    assert.are.equal("done", t:state())
    assert.are.equal(t, c:finished()[1])
    c:close()
  end)

  it("keeps running transfers whose references were dropped, and the registry does not grow", function()
    local c = core.new { token = S.token }
    for _ = 1, 3 do c:start { url = mock.url .. "/nowhere" } end
    collectgarbage()
    assert.are.equal(3, c:running())
    while c:running() > 0 do c:step(50) end
    collectgarbage()
    local base = S.anchors()
    for _ = 1, 40 do
      local t = c:start { url = mock.url .. "/nowhere", queue = true }
      S.run(c, t)
      c:finished()
      local x = c:start { url = mock.url .. "/nowhere" }
      x:cancel()
    end
    collectgarbage()
    assert.is_true(S.anchors() <= base + 1, ("registry grew from %d to %d"):format(base, S.anchors()))
    c:close()
  end)

  it("waits on several clients with core.wait", function()
    local a, b = core.new { token = S.token }, core.new { token = S.token }
    local ta = a:start { method = "POST", url = gen, auth = true, parts = S.parts() }
    local tb = b:start { url = mock.url .. "/nowhere" }
    local deadline = core.now() + 20
    while not (ta:done() and tb:done()) do
      core.wait({ a, b }, 100)
      assert.is_true(core.now() < deadline)
    end
    assert.are.equal(200, ta:result().status)
    assert.are.equal(404, tb:result().status)
    -- with nothing running, wait sleeps ms
    local t0 = core.now()
    core.wait({ a, b }, 30)
    assert.is_true(core.now() - t0 >= 0.025)
    a:close()
    b:close()
    core.wait({ a, b }, 0)
  end)
end)
