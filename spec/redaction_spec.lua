-- Every text that came from a server is redacted before anyone sees it:
-- error messages, a failed task's answer, results, the CLI's output, the
-- batch's stderr and journal (issue 14, items 2, 3 and 13).  Each case was
-- written to fail on the code before its fix.
local vinano = require "vinano"
local env = require "spec.support.env"
local mock_process = require "spec.support.mock_process"
local cli = require "spec.support.cli_process"

local GEN = "/api/v2/images/generate"
local POLL = "/api/v1/images/task-status"
local TOKEN = env.token

local function no_token(text, what)
  text = tostring(text)
  assert.is_nil(text:find(TOKEN, 1, true), (what or "text") .. " carries the token: " .. text)
  -- and no piece of it of 8 or more characters either
  for i = 1, #TOKEN - 7 do
    local piece = TOKEN:sub(i, i + 7)
    assert.is_nil(text:find(piece, 1, true), (what or "text") .. " carries '" .. piece .. "': " .. text)
  end
end

describe("server text is redacted", function()
  local mock, dir
  setup(function()
    mock = mock_process.start { tokens = { TOKEN, "t", "abc/defghijklmno" }, credits = 1000000,
      rate_limit = 100000, task_delay = 0.2 }
    dir = env.tmpdir()
  end)
  teardown(function()
    mock:stop()
    env.sh("rm -rf " .. mock_process.quote(dir))
  end)
  before_each(function()
    mock:clear_faults()
    mock:clear()
  end)

  describe("a failed task's answer (item 2)", function()
    it("404 echoing the token: wait's error, its tostring and err.task.message", function()
      local c = env.client(mock, { max_retries = 0 })
      mock:fault { action = "status", status = 404, path = POLL, times = -1,
        body = '{"message":"no task for Bearer ' .. TOKEN .. '"}' }
      local res, err = c:wait("t-404", { interval = 0.05, timeout = 5 })
      assert.is_nil(res)
      assert.are.equal("task_failed", err.kind)
      no_token(tostring(err), "tostring(err)")
      no_token(err.message, "err.message")
      no_token(err.task.message, "err.task.message")
      assert.matches("no task for Bearer <redacted>", err.task.message, 1, true)
      c:close()
    end)

    it("200 with a failed status echoing the token", function()
      local c = env.client(mock, { max_retries = 0 })
      mock:fault { action = "body", status = 200, path = POLL, times = -1,
        body = '{"status":"failed","message":"refused ' .. TOKEN .. ' here"}' }
      local res, err = c:wait("t-200", { interval = 0.05, timeout = 5 })
      assert.is_nil(res)
      assert.are.equal("task_failed", err.kind)
      no_token(tostring(err), "tostring(err)")
      no_token(err.task.message, "err.task.message")
      c:close()
    end)

    it("a JSON-escaped echo (\\/ for /) is caught once decoded", function()
      local c = env.client(mock, { max_retries = 0, token = "abc/defghijklmno" })
      mock:fault { action = "status", status = 404, path = POLL,
        body = '{"message":"no task for abc\\/defghijklmno"}' }
      local st = assert(c:poll("t-esc"))
      assert.are.equal("failed", st.state)
      assert.are.equal("no task for <redacted>", st.message)
      c:close()
    end)

    it("`vinano wait` and `vinano status` print no token", function()
      mock:fault { action = "status", status = 404, path = POLL, times = -1,
        body = '{"message":"no task for Bearer ' .. TOKEN .. '"}' }
      local commands = { { "wait", "t-cli", "--interval", "0.05", "-o", dir .. "/w.png" }, { "status", "t-cli" } }
      for _, args in ipairs(commands) do
        local code, stdout, stderr = cli.run(mock, args)
        assert.are_not.equal(0, code)
        no_token(stdout, args[1] .. " stdout")
        no_token(stderr, args[1] .. " stderr")
        assert.matches("<redacted>", stdout .. stderr, 1, true)
      end
    end)

    it("the batch's stderr and its journal's failed line; the journal is 0600", function()
      local manifest = dir .. "/jobs.jsonl"
      env.write_file(manifest, '{"prompt":"a cat","out":"cat.png"}\n')
      local journal = dir .. "/jobs.journal"
      mock:fault { action = "status", status = 404, path = POLL, times = -1,
        body = '{"message":"no task for Bearer ' .. TOKEN .. '"}' }
      local code, stdout, stderr = cli.run(mock, { "batch", manifest, "--journal", journal })
      assert.are_not.equal(0, code)
      no_token(stdout, "batch stdout")
      no_token(stderr, "batch stderr")
      local text = env.read_file(journal)
      assert.matches('"state":"failed"', text, 1, true)
      no_token(text, "journal")
      assert.matches("<redacted>", text, 1, true)
      assert.are.equal("-rw-------", env.sh("stat -c %A " .. mock_process.quote(journal)):match("%S+"))
    end)
  end)

  describe("cut after redaction (item 3)", function()
    -- the token straddles byte 120, where the snippet is cut
    local body = ("x"):rep(110) .. TOKEN .. ("y"):rep(40)

    it("a 502 text body", function()
      local c = env.client(mock, { max_retries = 0 })
      mock:fault { action = "status", status = 502, path = GEN, content_type = "text/plain", body = body }
      local _, err = c:generate { prompt = "x" }
      assert.are.equal("server", err.kind)
      no_token(tostring(err), "502 error")
      c:close()
    end)

    it("a 200 body that is not JSON", function()
      local c = env.client(mock, { max_retries = 0 })
      mock:fault { action = "body", status = 200, path = GEN, content_type = "text/plain", body = body }
      local _, err = c:generate { prompt = "x" }
      assert.are.equal("decode", err.kind)
      no_token(tostring(err), "decode error")
      c:close()
    end)

    it("an echoed Authorization line keeps the snippet's closing quote", function()
      local c = env.client(mock, { max_retries = 0 })
      mock:fault { action = "status", status = 502, path = GEN, content_type = "text/plain",
        body = "echo:\nAuthorization: Bearer " .. TOKEN .. "\nend of echo" }
      local _, err = c:generate { prompt = "x" }
      no_token(err.message, "err.message")
      assert.are.equal('HTTP 502; body: "echo:\\x0aAuthorization: <redacted>\\x0aend of echo"', err.message)
      c:close()
    end)
  end)

  describe("results and headers", function()
    it("a result's strings and the response headers", function()
      local c = env.client(mock, { max_retries = 0 })
      mock:fault { action = "status", status = 200, path = GEN, headers = { ["X-Echo"] = "Bearer " .. TOKEN },
        body = '{"status":200,"images":["http://127.0.0.1:9/a.png"],"prompt":"x ' .. TOKEN .. '"}' }
      local res = assert(c:generate { prompt = "x" })
      assert.are.equal("x <redacted>", res.prompt)
      no_token(c:last_response().headers["x-echo"], "a header")
      c:close()
    end)
  end)

  describe("a short token (item 13)", function()
    it("keeps messages readable and still hides the token where it stands alone", function()
      local c = vinano.new { token = "t", base_url = mock.url, max_retries = 0, timeout = 10 }
      mock:fault { action = "status", status = 401, path = GEN, body = '{"message":"invalid API token"}' }
      local _, err = c:generate { prompt = "x" }
      assert.are.equal("unauthorized", err.kind)
      assert.are.equal("invalid API token", err.message)
      for _, echo in ipairs { "no task for Bearer t", "token=t", 'got "t"', "t" } do
        mock:fault { action = "status", status = 400, path = GEN, body = '{"message":' .. ("%q"):format(echo) .. '}' }
        local _, e = c:generate { prompt = "x" }
        assert.are.equal(echo:gsub("t$", "<redacted>"):gsub('"t"', '"<redacted>"'):gsub("=t$", "=<redacted>"),
          e.message)
      end
      c:close()
    end)

    it("a token of 8 characters or more is hidden inside a word too", function()
      local c = env.client(mock, { max_retries = 0 })
      mock:fault { action = "status", status = 400, path = GEN, body = '{"message":"x' .. TOKEN .. 'y"}' }
      local _, err = c:generate { prompt = "x" }
      assert.are.equal("x<redacted>y", err.message)
      c:close()
    end)
  end)
end)
