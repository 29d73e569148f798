-- Retries that never double-charge, one deadline per call, the client-side
-- rate limiter, hostile servers (one row each: the exact error kind, that
-- nothing hangs, and what was retried), and the token that never leaks.
local vinano = require "vinano"
local cjson = require "cjson"
local env = require "spec.support.env"
local mock_process = require "spec.support.mock_process"

local GEN = "/api/v2/images/generate"
local POLL = "/api/v1/images/task-status"

local function count(log, path, status)
  local n = 0
  for _, e in ipairs(log) do
    if (not path or e.path == path) and (not status or e.status == status) then n = n + 1 end
  end
  return n
end

describe("reliability", function()
  local mock, dir
  setup(function()
    mock = mock_process.start { tokens = { env.token }, credits = 1000000, rate_limit = 100000, task_delay = 0.2 }
    dir = env.tmpdir()
  end)
  teardown(function()
    mock:stop()
    os.execute("rm -rf " .. dir)
  end)
  before_each(function() mock:reset() end)

  local function client(opts) return env.client(mock, opts) end

  describe("retries", function()
    it("retries a 429 after Retry-After, and reports the attempts", function()
      mock:fault { action = "status", status = 429, path = GEN, headers = { ["Retry-After"] = "1" } }
      local retries = {}
      local c = client { on_retry = function(attempt, err, delay)
        retries[#retries + 1] = { attempt, err.kind, delay }
      end }
      local t0 = vinano.now()
      local res = assert(c:generate { prompt = "x" })
      assert.are.equal(2, res.attempts)
      assert.is_true(res.elapsed >= 0.9 and vinano.now() - t0 >= 0.9)
      assert.are.same({ { 1, "rate_limited", 1 } }, retries)
      assert.are.equal(2, count(mock:requests(), GEN))
    end)

    it("reads Retry-After as an HTTP date", function()
      local when = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + 2)
      mock:fault { action = "status", status = 429, path = GEN, headers = { ["Retry-After"] = when } }
      local _, err = client { max_retries = 0 }:generate { prompt = "x" }
      assert.are.equal("rate_limited", err.kind)
      assert.is_true(err.retry_after >= 1 and err.retry_after <= 3, tostring(err.retry_after))
    end)

    it("fails at once when Retry-After is absurdly large, and says so", function()
      mock:fault { action = "status", status = 429, path = GEN, headers = { ["Retry-After"] = "99999" } }
      local t0 = vinano.now()
      local res, err = client():generate { prompt = "x" }
      assert.is_nil(res)
      assert.are.equal("rate_limited", err.kind)
      assert.are.equal(99999, err.retry_after)
      assert.matches("over the 300 s cap", err.message)
      assert.are.equal(1, err.attempts)
      assert.is_true(vinano.now() - t0 < 1)
    end)

    it("fails at once when Retry-After is longer than the time left", function()
      mock:fault { action = "status", status = 429, path = GEN, headers = { ["Retry-After"] = "5" } }
      local t0 = vinano.now()
      local _, err = client { timeout = 2 }:generate { prompt = "x" }
      assert.are.equal("rate_limited", err.kind)
      assert.are.equal(5, err.retry_after)
      assert.matches("would overrun the 2 s timeout", err.message)
      assert.is_true(vinano.now() - t0 < 1)
    end)

    it("never sends a POST again after a 500 (it may have cost credits)", function()
      mock:fault { action = "status", status = 500, path = GEN, times = 3 }
      local _, err = client():generate { prompt = "x" }
      assert.are.equal("server", err.kind)
      assert.are.equal(1, err.attempts)
      assert.are.equal(1, count(mock:requests(), GEN))
    end)

    it("sends a POST again after a 500 when the caller opts in", function()
      mock:fault { action = "status", status = 500, path = GEN, times = 2 }
      local res = assert(client { retry_unsafe = true }:generate { prompt = "x" })
      assert.are.equal(3, res.attempts)
      assert.are.equal(3, count(mock:requests(), GEN))
    end)

    it("never sends a POST again after the connection dropped mid-request", function()
      mock:fault { action = "drop", path = GEN }
      local _, err = client():generate { prompt = "x" }
      assert.are.equal("network", err.kind)
      assert.is_true(err.request_sent)
      assert.are.equal(1, err.attempts)
    end)

    it("retries a POST whose connection failed before anything was sent", function()
      local nowhere = vinano.new { token = env.token, base_url = "http://127.0.0.1:9" }
      local retries = 0
      local _, err = nowhere:generate({ prompt = "x" }, { on_retry = function() retries = retries + 1 end })
      assert.are.equal("network", err.kind)
      assert.is_false(err.request_sent)
      assert.are.equal(3, err.attempts)
      assert.are.equal(2, retries)
      assert.matches("after 3 attempts", tostring(err))
    end)

    it("retries a poll on 5xx, up to max_retries", function()
      local c = client()
      local task = assert(c:submit_async { prompt = "x" })
      mock:fault { action = "status", status = 503, path = POLL, times = 2 }
      local st = assert(c:poll(task.task_id))
      assert.are.equal(3, st.attempts)
      mock:fault { action = "status", status = 500, path = POLL, times = 5 }
      local _, err = c:poll(task.task_id)
      assert.are.equal("server", err.kind)
      assert.are.equal(3, err.attempts)
    end)

    it("never retries 400, 401, 403, 413 or 495", function()
      for _, status in ipairs { 400, 401, 403, 413, 495 } do
        mock:reset()
        mock:fault { action = "status", status = status, path = GEN, times = 5 }
        local _, err = client { retry_unsafe = true }:generate { prompt = "x" }
        assert.are.equal(status, err.status)
        assert.are.equal(1, err.attempts)
        assert.are.equal(1, count(mock:requests(), GEN))
      end
    end)

    it("keeps one deadline for the whole call, retries included", function()
      local c = client { timeout = 1.5 }
      local task = assert(c:submit_async { prompt = "x" })
      -- every attempt stalls for 1 s; ten of them would take 10 s
      mock:fault { action = "hang_headers", path = POLL, times = 10 }
      local t0 = vinano.now()
      local _, err = c:poll(task.task_id, { max_retries = 10, stall = 1 })
      local took = vinano.now() - t0
      assert.are.equal("timeout", err.kind, tostring(err))
      assert.is_true(took < 2.2, "took " .. took .. " s for a 1.5 s budget")
      assert.is_true(err.elapsed < 2.2)
    end)

    it("calls on_request and on_response, with no token in them", function()
      local seen = {}
      local c = client {
        on_request = function(i) seen[#seen + 1] = cjson.encode { "request", i.op, i.method, i.attempt } end,
        on_response = function(i) seen[#seen + 1] = cjson.encode { "response", i.op, i.status, i.attempt } end,
      }
      assert(c:generate { prompt = "x" })
      assert.are.same({ '["request","generate","POST",1]', '["response","generate",200,1]' }, seen)
    end)
  end)

  describe("rate limiting", function()
    it("drives 60 requests through a 20-per-window server with zero 429s", function()
      mock:set { rate_limit = 20, rate_window = 2 }
      local c = client { rate_limit = 20, rate_window = 2, max_retries = 0 }
      for i = 1, 40 do assert(c:generate { prompt = "s" .. i }) end
      local results = c:generate_many((function()
        local l = {}
        for i = 1, 20 do l[i] = { prompt = "a" .. i } end
        return l
      end)(), { concurrency = 8 })
      for i = 1, 20 do assert.is_nil(results[i].kind, tostring(results[i])) end
      local log = mock:requests()
      assert.are.equal(60, count(log, GEN))
      assert.are.equal(0, count(log, nil, 429))
    end)

    it("adapts to X-RateLimit-Remaining when its own limit is too generous", function()
      mock:set { rate_limit = 5, rate_window = 1.5 }
      local c = client { plan = "yearly", max_retries = 0 }
      for i = 1, 12 do assert(c:generate { prompt = "p" .. i }) end
      assert.are.equal(0, count(mock:requests(), nil, 429))
    end)

    it("refuses a request over max_credits before sending it", function()
      local c = client { max_credits = 30 }
      local _, err = c:generate { prompt = "x", model = "gemini-3.1-pro-image-preview", img_size = "4k" }
      assert.are.equal("invalid_request", err.kind)
      assert.are.equal("max_credits", err.rule)
      assert.are.equal(60, err.estimate)
      _, err = client():generate({ prompt = "x", hdPro = true }, { max_credits = 10 })
      assert.are.equal("max_credits", err.rule)
      assert.are.equal(0, #mock:requests())
      assert(c:generate { prompt = "x", hdPro = true })
    end)
  end)

  describe("bounds", function()
    it("connect_timeout bounds a connection that is never accepted", function()
      local socket = require "socket"
      local server = assert(socket.tcp())
      assert(server:bind("127.0.0.1", 0))
      assert(server:listen(0))
      local _, port = server:getsockname()
      local fillers = {} -- fill the accept queue: the kernel then drops new SYNs
      for i = 1, 4 do
        fillers[i] = socket.tcp()
        fillers[i]:settimeout(0.2)
        fillers[i]:connect("127.0.0.1", port)
      end
      local c = vinano.new { token = env.token, base_url = "http://127.0.0.1:" .. port, connect_timeout = 1,
        timeout = 10, max_retries = 0 }
      local t0 = vinano.now()
      local _, err = c:generate { prompt = "x" }
      local took = vinano.now() - t0
      for _, f in ipairs(fillers) do f:close() end
      server:close()
      assert.are.equal("timeout", err.kind)
      assert.is_false(err.request_sent)
      assert.matches("Failed to connect", err.message)
      assert.is_true(took >= 0.9 and took < 3, "took " .. took .. " s")
    end)
  end)

  describe("hostile servers", function()
    -- each row: fault, expected kind, max attempts, the call
    local function row(fault, kind, opts)
      opts = opts or {}
      mock:reset()
      mock:fault(fault)
      local c = client { timeout = opts.timeout or 5, max_response = opts.max_response }
      local t0 = vinano.now()
      local res, err
      if opts.poll then
        local task = assert(c:submit_async { prompt = "x" })
        res, err = c:poll(task.task_id, { max_retries = opts.max_retries, stall = opts.stall })
      else
        res, err = c:generate({ prompt = "x" }, { max_retries = opts.max_retries })
      end
      local took = vinano.now() - t0
      assert.is_nil(res)
      assert.are.equal(kind, err.kind, tostring(err))
      assert.is_true(took < (opts.bound or 4), "took " .. took .. " s")
      assert.is_nil(tostring(err):find(env.token, 1, true))
      return err, mock:requests()
    end

    it("connection refused: network, retried before sending", function()
      local _, err = vinano.new { token = env.token, base_url = "http://127.0.0.1:9", max_retries = 1 }
        :generate { prompt = "x" }
      assert.are.equal("network", err.kind)
      assert.are.equal(2, err.attempts)
    end)
    it("reset before the response: network, POST not retried", function()
      local err, log = row({ action = "drop", path = GEN }, "network")
      assert.are.equal(1, err.attempts)
      assert.are.equal(1, count(log, GEN))
    end)
    it("reset mid-body: network, poll retried", function()
      local err = row({ action = "drop_mid_body", path = POLL, times = 5 }, "network", { poll = true })
      assert.are.equal(3, err.attempts)
    end)
    it("truncated JSON: decode", function()
      local err = row({ action = "malformed", path = GEN }, "decode")
      assert.matches('body: "{', err.message)
    end)
    it("HTML 502 from a proxy: server, quoting the page", function()
      local err = row({ action = "html", status = 502, path = GEN }, "server")
      assert.matches("Bad Gateway", err.message)
      assert.are.equal(502, err.status)
    end)
    it("200 with invalid JSON: decode", function()
      row({ action = "body", status = 200, body = "{not json}", path = GEN }, "decode")
    end)
    it("invalid UTF-8: decode, escaped in the message", function()
      local err = row({ action = "body", status = 200, body = "\255\254\253", path = GEN }, "decode")
      assert.matches("\\xff\\xfe\\xfd", err.message, 1, true)
    end)
    it("a body that never ends: timeout at the deadline", function()
      row({ action = "endless_body", path = GEN }, "timeout", { timeout = 1.5, bound = 3 })
    end)
    it("a body that never ends: decode at max_response", function()
      local err = row({ action = "endless_body", path = GEN, interval = 0.01, bytes = 4096 }, "decode",
        { max_response = 20000 })
      assert.matches("larger than the 20000%-byte limit", err.message)
    end)
    it("headers that never come: timeout, bounded by the stall limit on a poll", function()
      row({ action = "hang_headers", path = POLL, times = 5 }, "timeout",
        { poll = true, stall = 1, max_retries = 0 })
    end)
    it("429 storm: rate_limited after the retries", function()
      local storm = { action = "status", status = 429, path = GEN, times = -1, headers = { ["Retry-After"] = "0" } }
      local err, log = row(storm, "rate_limited")
      assert.are.equal(3, err.attempts)
      assert.are.equal(3, count(log, GEN, 429))
    end)
    it("500 storm on poll: server after the retries", function()
      local err = row({ action = "status", status = 500, path = POLL, times = -1 }, "server", { poll = true })
      assert.are.equal(3, err.attempts)
    end)
    it("poll answers of an unknown shape: decode", function()
      row({ action = "body", status = 200, body = '{"status":"mystery"}', content_type = "application/json",
        path = POLL, times = -1 }, "decode", { poll = true, max_retries = 0 })
    end)
    it("task-status 404: the task failed", function()
      local c = client()
      local st = assert(c:poll("no-such-task"))
      assert.are.equal("failed", st.state)
      local _, err = c:wait("no-such-task", { interval = 0.05, timeout = 2 })
      assert.are.equal("task_failed", err.kind)
    end)
    it("a redirect to another host: not followed, the token stays", function()
      local other = mock.url:gsub("127%.0%.0%.1", "localhost")
      local err, log = row({ action = "redirect", location = other .. GEN, path = GEN }, "server")
      assert.are.equal(302, err.status)
      assert.matches("not followed", err.message)
      assert.are.equal(1, #log)
    end)
  end)

  describe("the token", function()
    it("never appears in any error of the table, nor in verbose output", function()
      local script = dir .. "/verbose.lua"
      -- the hostile rows again, in a process whose stderr is read whole
      env.write_file(script, ([[
        local vinano = require "vinano"
        local c = vinano.new { token = %q, base_url = %q, verbose = true, timeout = 2 }
        for _ = 1, 9 do
          local res, err = c:generate { prompt = "x" }
          print(tostring(err), tostring(c), err and require("cjson").encode(err))
        end
        local task = assert(c:submit_async { prompt = "x" })
        print(select(2, c:wait(task.task_id, { interval = 0.1, timeout = 1 })))
      ]]):format(env.token, mock.url))
      local other = mock.url:gsub("127%.0%.0%.1", "localhost")
      for _, f in ipairs {
        { action = "status", status = 500 }, { action = "drop" }, { action = "drop_mid_body" },
        { action = "malformed" }, { action = "html", status = 502 }, { action = "body", status = 200, body = "\255" },
        { action = "status", status = 429, headers = { ["Retry-After"] = "99999" } },
        { action = "redirect", location = other .. GEN }, { action = "endless_body" },
      } do
        f.path = GEN
        mock:fault(f)
      end
      mock:fault { action = "fail_task" }
      -- this run's own paths and interpreter (the sanitizer host under check-asan)
      local out = env.sh(env.child_lua() .. " " .. script .. " 2>&1")
      assert.matches("> POST /api/v2/images/generate", out, 1, true)
      assert.matches("Authorization: <redacted>", out, 1, true)
      for _, kind in ipairs { "server", "network", "decode", "rate_limited", "timeout", "task_failed" } do
        assert.matches("vinano: " .. kind, out, 1, true)
      end
      assert.is_nil(out:find(env.token, 1, true))
      assert.is_nil(cjson.encode(mock:requests()):find(env.token, 1, true))
    end)

    it("is not sent over plain http to another host unless allow_http", function()
      local c = vinano.new { token = env.token, base_url = "http://vinano.example" }
      local _, err = c:generate { prompt = "x" }
      assert.are.equal("invalid_request", err.kind)
      assert.are.equal("https", err.rule)
      local allowed = vinano.new { token = env.token, base_url = "http://256.0.0.1", allow_http = true,
        max_retries = 0, connect_timeout = 1 }
      _, err = allowed:generate { prompt = "x" }
      assert.are.equal("network", err.kind) -- it tried
    end)
  end)

  describe("TLS", function()
    local server, port, cert
    setup(function()
      cert = dir .. "/cert.pem"
      local key = dir .. "/key.pem"
      assert.are.equal("", env.sh(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
        .. "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout %s -out %s 2>/dev/null"):format(key, cert)))
      env.write_file(dir .. "/hello.png", "\137PNG\r\n\26\nhello")
      port = env.free_port()
      local p = io.popen(("cd %s && exec openssl s_server -quiet -WWW -accept 127.0.0.1:%d -cert %s -key %s "
        .. ">/dev/null 2>&1 & echo $!"):format(dir, port, cert, key))
      server = p:read("*l")
      p:close()
      env.wait_listening(port)
    end)
    teardown(function() os.execute("kill " .. server) end)

    it("refuses a self-signed server without ca_file, accepts it with", function()
      local url = ("https://localhost:%d/hello.png"):format(port)
      local _, err = vinano.new { max_retries = 0 }:download(url, dir .. "/a.png")
      assert.are.equal("network", err.kind)
      assert.matches("certificate", err.message)
      local file = assert(vinano.new { ca_file = cert }:download(url, dir .. "/b.png"))
      assert.are.equal(13, file.bytes)
      file = assert(vinano.new { insecure = true }:download(url, dir .. "/c.png"))
      assert.are.equal(13, file.bytes)
    end)

    it("fails an API call to an unverified server before sending anything", function()
      local c = vinano.new { token = env.token, base_url = ("https://localhost:%d"):format(port), max_retries = 0 }
      local _, err = c:generate { prompt = "x" }
      assert.are.equal("network", err.kind)
      assert.is_false(err.request_sent)
      assert.matches("certificate", err.message)
    end)
  end)
end)
