-- The README's promises, one row each of the hostile review (issue 9):
-- the token never leaves in clear, bad input is refused before anything is
-- sent, callbacks fail only their own request, downloads report disk
-- trouble as io and keep file modes.  Each row was written to fail on the
-- code before the fix.
local vinano = require "vinano"
local env = require "spec.support.env"
local mock_process = require "spec.support.mock_process"

local GEN = "/api/v2/images/generate"

local sh_quote = require("spec.support.mock_process").quote

-- Starts a Lua snippet in a child interpreter (umask 022, extra
-- environment variables); returns the pipe of its output.
local function child_start(vars, code)
  local prefix = "umask 022; "
  for k, v in pairs(vars) do prefix = prefix .. k .. "=" .. sh_quote(v) .. " " end
  return assert(io.popen(prefix .. env.child_lua() .. " -e " .. sh_quote(code) .. " 2>&1", "r"))
end

-- The same, waiting for its output.
local function child(vars, code)
  local p = child_start(vars, code)
  local out = p:read("*a")
  p:close()
  return out
end

-- A TCP listener that records the first request line it gets and answers
-- with a canned HTTP response.  Returns the port and a function that serves
-- one connection (with a bound) and returns the request head.
local function recorder()
  local socket = require "socket"
  local server = assert(socket.bind("127.0.0.1", 0))
  local _, port = server:getsockname()
  server:settimeout(5)
  return tonumber(port), function(answer)
    local conn = server:accept()
    if not conn then return nil end
    conn:settimeout(5)
    local head = {}
    while true do
      local line = conn:receive("*l")
      if not line or line == "" then break end
      head[#head + 1] = line
    end
    conn:send(answer or "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
    conn:close()
    return table.concat(head, "\n")
  end, server
end

describe("promises", function()
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

  describe("row 1: base_url is judged by libcurl's own URL parser", function()
    it("refuses userinfo tricks and scheme-less URLs at vinano.new", function()
      for _, url in ipairs { "http://localhost:80@evil.example", "http://127.0.0.1:1@evil.example",
        "evil.example", "evil.example:8080", "localhost:8080", "ftp://127.0.0.1/", "" } do
        local ok, err = pcall(vinano.new, { token = env.token, base_url = url })
        assert.is_false(ok, url)
        assert.matches("bad option 'base_url' to 'vinano.new'", err, 1, true)
        assert.is_nil(tostring(err):find(env.token, 1, true))
      end
    end)

    it("takes the scheme in any case", function()
      local c = vinano.new { token = env.token, base_url = mock.url:gsub("^http", "HTTP") }
      local res, err = c:generate { prompt = "x" }
      assert.is_nil(err)
      assert.are.equal(200, res.status)
      c:close()
    end)

    it("refuses plain http to another host, sending nothing", function()
      local c = vinano.new { token = env.token, base_url = "http://example.invalid" }
      local res, err = c:generate { prompt = "x" }
      assert.is_nil(res)
      assert.are.equal("invalid_request", err.kind)
      assert.are.equal("base_url", err.field)
      c:close()
    end)
  end)

  describe("row 2: plain http goes through a proxy only when the proxy is on this machine", function()
    it("refuses a proxy elsewhere given as an option", function()
      local c = vinano.new { token = env.token, base_url = mock.url, proxy = "http://proxy.example:3128" }
      local res, err = c:generate { prompt = "x" }
      assert.is_nil(res)
      assert.are.equal("invalid_request", err.kind)
      assert.matches("proxy.example", err.message, 1, true)
      assert.are.equal(0, #mock:requests())
      c:close()
    end)

    it("refuses a proxy elsewhere from http_proxy or ALL_PROXY", function()
      for _, var in ipairs { "http_proxy", "ALL_PROXY", "all_proxy" } do
        local out = child({ [var] = "http://192.0.2.1:3128" }, ([[
          local c = require("vinano").new { token = %q, base_url = %q, timeout = 3, max_retries = 0 }
          local res, err = c:generate { prompt = "x" }
          io.write(err and err.kind or "sent", " ", err and err.message or "")]]):format(env.token, mock.url))
        assert.matches("^invalid_request ", out, nil, var .. ": " .. out)
        assert.matches("192.0.2.1", out, 1, true)
      end
      assert.are.equal(0, #mock:requests())
    end)

    it("uses a loopback proxy, and one elsewhere when allow_http = true", function()
      local port, serve, server = recorder()
      local p = child_start({}, ([[
        local c = require("vinano").new { token = %q, base_url = "http://127.0.0.1:9",
          proxy = "http://127.0.0.1:%d", max_retries = 0, timeout = 5 }
        local res, err = c:generate { prompt = "x" }
        io.write(res and res.images[1] or tostring(err))]]):format(env.token, port))
      local answer = '{"status":200,"images":["http://127.0.0.1:9/u.png"]}'
      local head = serve('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ' .. #answer
        .. '\r\n\r\n' .. answer)
      local out = p:read("*a")
      p:close()
      server:close()
      assert.matches("^POST http://127.0.0.1:9/api/v2/images/generate", head)
      assert.are.equal("http://127.0.0.1:9/u.png", out)
      local loose = vinano.new { token = env.token, base_url = mock.url, proxy = "http://proxy.example:3128",
        allow_http = true, max_retries = 0, connect_timeout = 2 }
      local _, err = loose:generate { prompt = "x" }
      assert.are.equal("network", err.kind) -- it tried: the proxy does not resolve here
      loose:close()
    end)
  end)

  describe("row 4: no credentials in base_url", function()
    it("refuses user:password@ and never shows it", function()
      local ok, err = pcall(vinano.new, { token = env.token, base_url = "https://user:hunter2@vinano.ai" })
      assert.is_false(ok)
      assert.matches("user:password@", err, 1, true)
      assert.is_nil(err:find("hunter2", 1, true))
    end)
  end)

  describe("a server that echoes the request", function()
    it("never gets the token into an error's message", function()
      local c = env.client(mock, { max_retries = 0 })
      for _, body in ipairs {
        '{"message":"bad header Authorization: Bearer ' .. env.token .. '"}',
        '{"error":{"message":"token ' .. env.token .. ' is not allowed"}}',
        "<html>you sent " .. env.token .. "</html>",
      } do
        mock:fault { action = "status", status = 400, path = GEN, body = body }
        local res, err = c:generate { prompt = "x" }
        assert.is_nil(res)
        assert.are.equal("bad_request", err.kind)
        assert.is_nil(tostring(err):find(env.token, 1, true), tostring(err))
        assert.matches("<redacted>", err.message, 1, true)
      end
      mock:fault { action = "body", status = 200, path = GEN, body = "not json " .. env.token }
      local _, err = c:generate { prompt = "x" }
      assert.are.equal("decode", err.kind)
      assert.is_nil(tostring(err):find(env.token, 1, true), tostring(err))
      c:close()
    end)
  end)

  describe("row 7: a raising user callback fails only its own request", function()
    it("on_retry raising is a callback error, not a raise", function()
      mock:fault { action = "status", status = 429, path = GEN, headers = { ["Retry-After"] = "1" } }
      local c = env.client(mock, { on_retry = function() error("boom in on_retry") end })
      local res, err = c:generate { prompt = "x" }
      assert.is_nil(res)
      assert.are.equal("callback", err.kind)
      assert.matches("boom in on_retry", err.message)
      c:close()
    end)

    it("inside generate_many, the other results survive", function()
      mock:fault { action = "status", status = 429, path = GEN, headers = { ["Retry-After"] = "1" }, times = 1 }
      local c = env.client(mock, { on_retry = function() error("boom") end })
      local results = c:generate_many({ { prompt = "a" }, { prompt = "b" }, { prompt = "c" } }, { concurrency = 1 })
      assert.are.equal(3, #results)
      assert.are.equal("callback", results[1].kind)
      assert.are.equal("b", results[2].prompt)
      assert.are.equal("c", results[3].prompt)
      c:close()
    end)

    it("on_poll raising in wait is a callback error", function()
      local c = env.client(mock)
      local task = assert(c:submit_async { prompt = "x" })
      local res, err = c:wait(task.task_id, { interval = 0.05, on_poll = function() error("boom in on_poll") end })
      assert.is_nil(res)
      assert.are.equal("callback", err.kind)
      assert.matches("boom in on_poll", err.message)
      c:close()
    end)
  end)

  describe("row 8: a FIFO, socket or device is refused at once", function()
    it("does not block on a FIFO", function()
      local fifo = dir .. "/fifo"
      assert(os.execute("mkfifo " .. fifo))
      local c = env.client(mock, { timeout = 2 })
      local t0 = vinano.now()
      local res, err = c:generate { prompt = "x", image = fifo }
      assert.is_nil(res)
      assert.are.equal("invalid_request", err.kind)
      assert.matches("is not a regular file", err.message)
      assert.is_true(vinano.now() - t0 < 1.5)
      res, err = c:generate { prompt = "x", image = "/dev/null" }
      assert.is_nil(res)
      assert.are.equal("invalid_request", err.kind)
      assert.are.equal(0, #mock:requests())
      c:close()
    end)
  end)

  describe("row 13: no CR, LF or NUL in part headers", function()
    it("refuses a content_type or filename that would forge headers", function()
      local c = env.client(mock, { validate = false })
      for _, spec in ipairs {
        { data = "abc", content_type = "image/png\r\nContent-Disposition: form-data; name=\"x\"" },
        { data = "abc", content_type = "image/png\0evil" },
        { data = "abc", filename = "a\r\nX-Evil: 1.png" },
        { data = "abc", filename = 'a".png' },
      } do
        local res, err = c:generate { prompt = "x", image = spec }
        assert.is_nil(res)
        assert.are.equal("invalid_request", err.kind)
        assert.are.equal("header", err.rule)
      end
      assert.are.equal(0, #mock:requests())
      c:close()
    end)
  end)

  describe("row 14: no NUL in paths", function()
    it("refuses an image path or a download path with a NUL", function()
      local secret = env.write_file(dir .. "/secret.txt", "secret")
      local c = env.client(mock)
      local res, err = c:generate { prompt = "x", image = secret .. "\0.png" }
      assert.is_nil(res)
      assert.are.equal("invalid_request", err.kind)
      assert.are.equal("nul", err.rule)
      res, err = c:download(mock.url .. "/images/none.png", dir .. "/out.png\0.txt")
      assert.is_nil(res)
      assert.are.equal("invalid_request", err.kind)
      assert.are.equal(0, #mock:requests())
      c:close()
    end)
  end)

  describe("row 15: unusable URLs and options are refused up front", function()
    it("refuses non-http download URLs at the call, sending nothing", function()
      local c = env.client(mock)
      for _, url in ipairs { "file:///etc/passwd", "gopher://127.0.0.1:70/x", "", "http://[::1", "not a url" } do
        local res, err = c:download(url, dir .. "/x")
        assert.is_nil(res, url)
        assert.are.equal("invalid_request", err.kind, url)
        assert.are.equal(1, err.attempts or 1)
      end
      c:close()
    end)

    it("raises at vinano.new for rate_limit 0 or -1 and base_url ''", function()
      for _, o in ipairs { { rate_limit = 0 }, { rate_limit = -1 }, { rate_limit = 1.5 }, { base_url = "" },
        { timeout = 0 / 0 }, { timeout = math.huge }, { max_response = 1e300 }, { max_retries = -1 } } do
        local ok, err = pcall(vinano.new, o)
        assert.is_false(ok)
        assert.matches("bad option '", err, 1, true)
      end
    end)
  end)

  describe("row 16: unknown options and wrong types raise, naming them", function()
    it("suggests the close match", function()
      local ok, err = pcall(vinano.new, { timout = 5 })
      assert.is_false(ok)
      assert.matches("bad option 'timout' to 'vinano.new' (unknown option; did you mean 'timeout'?)", err, 1, true)
      for key, hint in pairs { max_retires = "did you mean 'max_retries'", rate_limt = "did you mean 'rate_limit'",
        frobnicate = "(unknown option)" } do
        ok, err = pcall(vinano.new, { [key] = 1 })
        assert.is_false(ok)
        assert.matches(hint, err, 1, true)
      end
    end)

    it("checks booleans too", function()
      for _, key in ipairs { "insecure", "allow_http", "verbose", "validate", "retry_unsafe" } do
        local ok, err = pcall(vinano.new, { [key] = "yes" })
        assert.is_false(ok)
        assert.matches(("bad option '%s' to 'vinano.new' (boolean expected, got string)"):format(key), err, 1, true)
      end
    end)
  end)

  describe("row 18: a full disk is io, never retried", function()
    local function mounted(path)
      return os.execute("mount -t tmpfs -o size=64k tmpfs " .. path .. " 2>/dev/null")
    end
    it("reports the path and the reason, fetches once, keeps the old file", function()
      local small = dir .. "/small"
      assert(os.execute("mkdir -p " .. small))
      if not mounted(small) then
        error("this spec needs to mount a small tmpfs (run as root): it cannot prove the row otherwise")
      end
      local target = small .. "/out.png"
      env.write_file(target, "old contents")
      mock:fault { action = "body", path = "/images/big.png", status = 200, content_type = "image/png",
        body = ("\137PNG"):rep(50000) } -- 200 kB into a 64 kB file system
      local sent = 0 -- the mock logs API calls, not image downloads: count what the client sends
      local c = env.client(mock, { on_request = function(r) if r.op == "download" then sent = sent + 1 end end })
      local res, err = c:download(mock.url .. "/images/big.png", target)
      os.execute("sleep 0.2")
      local left = env.sh("ls -A " .. small)
      local old = env.read_file(target)
      os.execute("umount " .. small)
      assert.is_nil(res)
      assert.are.equal("io", err.kind, tostring(err))
      assert.matches("No space left on device", err.message, 1, true)
      assert.matches(target, err.message, 1, true)
      assert.are.equal(1, err.attempts)
      assert.are.equal("old contents", old)
      assert.are.equal("out.png\n", left)
      assert.are.equal(1, sent)
      c:close()
    end)
  end)

  describe("row 19: downloaded files get the usual modes", function()
    local function mode(path) return (env.sh("stat -c %a " .. path):gsub("%s+$", "")) end
    it("gives a new file the umask's mode and keeps a replaced file's mode", function()
      local c = env.client(mock)
      local res = assert(c:generate { prompt = "x" })
      local url = res.images[1]
      local fresh, kept644, kept600 = dir .. "/fresh.png", dir .. "/k644.png", dir .. "/k600.png"
      env.write_file(kept644, "x")
      env.write_file(kept600, "x")
      os.execute("chmod 644 " .. kept644 .. "; chmod 600 " .. kept600)
      local out = child({}, ([[
        local c = require("vinano").new { token = %q, base_url = %q }
        for _, p in ipairs { %q, %q, %q } do assert(c:download(%q, p)) end
        io.write("ok")]]):format(env.token, mock.url, fresh, kept644, kept600, url))
      assert.are.equal("ok", out)
      assert.are.equal("644", mode(fresh))
      assert.are.equal("644", mode(kept644))
      assert.are.equal("600", mode(kept600))
      c:close()
    end)
  end)
end)
