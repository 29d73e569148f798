-- The client against the mock: results, errors of every kind, async tasks,
-- keep-alive, and the token that never leaks.
local vinano = require "vinano"
local cjson = require "cjson"
local env = require "spec.support.env"
local mock_process = require "spec.support.mock_process"

local function no_token(s)
  assert.is_nil(s:find(env.token, 1, true), "the token leaked into: " .. s)
end

describe("client", function()
  local mock, client, dir
  setup(function()
    mock = mock_process.start { tokens = { env.token, "other-token" }, credits = 100000, rate_limit = 1000,
      task_delay = 0.3 }
    client = env.client(mock)
    dir = env.tmpdir()
  end)
  teardown(function()
    mock:stop()
    os.execute("rm -rf " .. dir)
  end)
  before_each(function()
    mock:reset()
  end)

  describe("generate", function()
    it("returns the decoded body and a real image", function()
      local res, err = client:generate { prompt = "a beautiful sunset over the ocean", aspectRatio = "16:9" }
      assert.is_nil(err)
      assert.are.equal(200, res.status)
      assert.are.equal("a beautiful sunset over the ocean", res.prompt)
      assert.are.equal("gemini-2.5-flash-image-preview", res.model)
      assert.are.equal(10, res.credits.cost)
      assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", res.uuid)
      assert.matches("^" .. mock.url:gsub("%p", "%%%0") .. "/images/.+%.png$", res.images[1])
      local d = res.imageDetails[1]
      assert.are.equal(64, d.width)
      assert.are.equal(36, d.height)

      local path = dir .. "/out.png"
      local file = assert(client:download(res.images[1], path))
      assert.are.equal(path, file.path)
      assert.are.equal(d.filesize, file.bytes)
      local bytes = env.read_file(path)
      assert.are.equal(d.filesize, #bytes)
      local w, h = env.png_size(bytes)
      assert.are.equal(64, w)
      assert.are.equal(36, h)
    end)

    it("decodes whole numbers as integers on Lua 5.3+", function()
      local res = assert(client:generate { prompt = "x", aspectRatio = "1:1" })
      assert.are.equal("64", tostring(res.imageDetails[1].width))
      assert.are.equal("200", tostring(res.status))
      if math.type then assert.are.equal("integer", math.type(res.credits.cost)) end
    end)

    it("reports the last response: status, headers, rate limit", function()
      mock:set { rate_limit = 50 }
      assert(client:generate { prompt = "one" })
      local info = client:last_response()
      assert.are.equal(200, info.status)
      assert.are.equal("application/json", info.headers["content-type"]:match("^[^;]+"))
      assert.are.equal(50, info.rate_limit.limit)
      assert.are.equal(49, info.rate_limit.remaining)
      assert.is_number(info.rate_limit.reset)
      assert(client:generate { prompt = "two" })
      assert.are.equal(48, client:last_response().rate_limit.remaining)
    end)

    it("reuses one connection across calls (keep-alive)", function()
      assert(client:generate { prompt = "warm up" })
      local port = client:last_response().local_port
      for i = 1, 5 do
        assert(client:generate { prompt = "again " .. i })
        local info = client:last_response()
        assert.are.equal(0, info.new_connections)
        assert.are.equal(port, info.local_port)
      end
    end)

    it("decodes JSON null as vinano.null", function()
      mock:fault { action = "body", status = 200, content_type = "application/json",
        body = '{"status":200,"images":["https://x/a.png"],"imageDetails":[{"width":1,"height":1,"filesize":null}],'
          .. '"uuid":null}' }
      local res = assert(client:generate { prompt = "x" })
      assert.are.equal(vinano.null, res.uuid)
      assert.are.equal(cjson.null, res.imageDetails[1].filesize)
    end)
  end)

  describe("errors", function()
    local function fails(kind, status, params, c)
      local res, err = (c or client):generate(params or { prompt = "x" })
      assert.is_nil(res)
      assert.are.equal(kind, err.kind, tostring(err))
      assert.are.equal(status, err.status)
      assert.is_string(err.message)
      no_token(tostring(err))
      no_token(cjson.encode(err))
      return err
    end

    it("401 is unauthorized", function()
      local bad = vinano.new { token = "wrong-token", base_url = mock.url }
      local err = fails("unauthorized", 401, nil, bad)
      assert.matches("^vinano: unauthorized %(HTTP 401%): ", tostring(err))
    end)

    it("400 is bad_request with the server's message", function()
      local loose = env.client(mock, { validate = false })
      local err = fails("bad_request", 400, { prompt = ("x"):rep(2001) }, loose)
      assert.matches("prompt", err.message)
    end)

    it("413 is payload_too_large", function()
      mock:set { max_upload = 1000 }
      local path = env.write_file(dir .. "/big.png", ("x"):rep(5000))
      local err = fails("payload_too_large", 413, { prompt = "x", image = path })
      assert.matches("100MB", err.message)
    end)

    it("an image removed between the checks and the send is an io error naming it, nothing sent", function()
      local path = env.write_file(dir .. "/vanishing.png", "\137PNG\r\n\26\nxyz")
      local res, err = client:generate({ prompt = "x", image = path }, {
        on_send = function() assert(os.remove(path)) end, -- after validation, before the transfer starts
      })
      assert.is_nil(res)
      assert.are.equal("io", err.kind)
      assert.are.equal(("reading '%s': No such file or directory"):format(path), err.message)
      assert.are.equal(1, err.attempts)
      assert.are.equal(0, #mock:requests())
    end)

    it("429 is rate_limited with retry_after", function()
      mock:set { rate_limit = 2, rate_window = 30 }
      assert(client:generate { prompt = "1" })
      assert(client:generate { prompt = "2" })
      local err = fails("rate_limited", 429)
      assert.is_number(err.retry_after)
      assert.is_true(err.retry_after > 0 and err.retry_after <= 30)
      assert.matches("retry after %d+ s", tostring(err))
      assert.are.equal(0, client:last_response().rate_limit.remaining)
    end)

    it("495 is insufficient_credits", function()
      mock:set { credits = 15 }
      assert(client:generate { prompt = "costs 10" })
      fails("insufficient_credits", 495)
    end)

    it("403 is forbidden and 5xx is server", function()
      mock:fault { action = "status", status = 403 }
      fails("forbidden", 403)
      mock:fault { action = "status", status = 500 }
      fails("server", 500)
      mock:fault { action = "html", status = 502 }
      local err = fails("server", 502)
      assert.matches("Bad Gateway", err.message)
    end)

    it("a dropped connection is network", function()
      -- a fresh client: on a reused keep-alive connection libcurl itself
      -- retries once when the connection dies before any response byte
      mock:fault { action = "drop" }
      local err = fails("network", nil, nil, env.client(mock))
      assert.is_number(err.curl_code)
    end)

    it("a slow server is timeout, within the client's bound", function()
      local quick = env.client(mock, { timeout = 0.5 })
      mock:fault { action = "delay", seconds = 3 }
      local t0 = os.time()
      fails("timeout", nil, nil, quick)
      assert.is_true(os.time() - t0 <= 2)
    end)

    it("a body that is not JSON is decode, quoting its start", function()
      mock:fault { action = "malformed" }
      local err = fails("decode", 200)
      assert.matches('body: "{\\"status\\":200,\\"images\\":%["', err.message, 1, false)
      mock:fault { action = "body", status = 200, body = "\255\254 not json at all" }
      err = fails("decode", 200)
      assert.matches('\\xff\\xfe not json', err.message, 1, true)
    end)

    it("a JSON body without images is decode", function()
      mock:fault { action = "body", status = 200, content_type = "application/json", body = '{"status":200}' }
      local err = fails("decode", 200)
      assert.matches("no 'images' list", err.message)
    end)

    it("an error told in the body of a 200 is that error", function()
      mock:fault { action = "body", status = 200, content_type = "application/json",
        body = '{"status":495,"message":"Insufficient credits"}' }
      fails("insufficient_credits", 495)
    end)

    it("a numeric string status in the body of a 200 is read as the number", function()
      mock:fault { action = "body", status = 200, content_type = "application/json",
        body = '{"status":"495","message":"Insufficient credits"}' }
      fails("insufficient_credits", 495)
    end)

    it("a result without an http(s) image URL is decode, saying what arrived", function()
      for _, body in ipairs { '{"images":{"a":1}}', '{"images":[null]}', '{"success":false,"images":[]}',
        '{"status":200,"images":["ftp://x/a.png"]}', '{"status":200,"images":[42]}' } do
        mock:fault { action = "body", status = 200, content_type = "application/json", body = body }
        local err = fails("decode", 200)
        assert.matches("no http(s) image URL", err.message, 1, true)
        assert.matches(body:sub(1, 12), err.message:gsub("\\", ""), 1, true)
      end
    end)

    it("a cost that is not a finite number >= 0 becomes nil; the image is still returned", function()
      for _, cost in ipairs { "1e400", "-1e400", "-5", '"ten"', "null" } do
        mock:fault { action = "body", status = 200, content_type = "application/json",
          body = '{"status":200,"images":["http://127.0.0.1:9/a.png"],"credits":{"cost":' .. cost .. '}}' }
        local res = assert(client:generate { prompt = "x" })
        assert.are.equal("http://127.0.0.1:9/a.png", res.images[1])
        assert.is_nil(res.credits.cost, cost)
      end
    end)

    it("a connection refused is network", function()
      local nowhere = vinano.new { token = env.token, base_url = "http://127.0.0.1:9", max_retries = 0 }
      fails("network", nil, nil, nowhere)
    end)
  end)

  describe("async", function()
    it("submits, polls pending, then done", function()
      local task = assert(client:submit_async { prompt = "slow one" })
      assert.are.equal(202, task.status)
      assert.is_string(task.task_id)
      assert.are.equal(10, task.credits.cost)
      local st = assert(client:poll(task.task_id))
      assert.are.equal("pending", st.state)
      local states = {}
      local res = assert(client:wait(task.task_id, { interval = 0.1, timeout = 5,
        on_poll = function(s) states[#states + 1] = s.state end }))
      assert.are.equal("done", res.state)
      assert.are.equal(200, res.status)
      assert.are.equal("slow one", res.prompt)
      assert.is_string(res.images[1])
      assert.are.equal("done", states[#states])
      assert.is_true(#states >= 2)
    end)

    it("classifies the string style of pending", function()
      mock:set { pending_style = "string" }
      local task = assert(client:submit_async { prompt = "x" })
      local st = assert(client:poll(task.task_id))
      assert.are.equal("pending", st.state)
      assert.are.equal("processing", st.status)
    end)

    it("turns a failed task into task_failed", function()
      mock:fault { action = "fail_task" }
      local task = assert(client:submit_async { prompt = "doomed" })
      local res, err = client:wait(task.task_id, { interval = 0.1, timeout = 5 })
      assert.is_nil(res)
      assert.are.equal("task_failed", err.kind)
      assert.matches("image generation failed", err.message)
    end)

    it("an unknown task is failed with status 404", function()
      local st = assert(client:poll("no-such-task"))
      assert.are.equal("failed", st.state)
      assert.are.equal(404, st.status)
      local _, err = client:wait("no-such-task", { interval = 0.1, timeout = 1 })
      assert.are.equal("task_failed", err.kind)
      assert.are.equal(404, err.status)
    end)

    it("wait gives up at its deadline with a timeout error", function()
      mock:set { task_delay = 30 }
      local task = assert(client:submit_async { prompt = "x" })
      local t0 = os.time()
      local res, err = client:wait(task.task_id, { interval = 0.2, timeout = 0.6 })
      assert.is_nil(res)
      assert.are.equal("timeout", err.kind)
      assert.matches("still pending after 0.6 s", err.message)
      assert.is_true(os.time() - t0 <= 2)
    end)

    it("wait sleeps through the sleep hook when one is given", function()
      local slept = {}
      local task = assert(client:submit_async { prompt = "x" })
      local res = assert(client:wait(task.task_id, { interval = 0.1, timeout = 5,
        sleep = function(s) slept[#slept + 1] = s; vinano.sleep(s) end }))
      assert.are.equal("done", res.state)
      assert.is_true(#slept >= 1)
      assert.are.equal(0.1, slept[1])
    end)

    it("an answer of unknown shape is decode, never a hang", function()
      local task = assert(client:submit_async { prompt = "x" })
      mock:fault { action = "body", status = 200, content_type = "application/json", body = '{"weird":true}' }
      local st, err = client:poll(task.task_id, { max_retries = 0 })
      assert.is_nil(st)
      assert.are.equal("decode", err.kind)
      assert.matches("task status not recognised", err.message)
    end)
  end)

  describe("per-call options", function()
    it("are checked as vinano.new checks its own: the option and the rule named, nothing sent", function()
      for _, row in ipairs {
        { "generate", { timeout = "x" }, "timeout", "number expected, got string" },
        { "generate", { timeout = -1 }, "timeout", "must be > 0" },
        { "generate", { timeout = 0 / 0 }, "timeout", "must be a finite number" },
        { "generate", { max_credits = "x" }, "max_credits", "number expected, got string" },
        { "generate", { max_retries = -1 }, "max_retries", "must be >= 0" },
        { "generate", { max_retries = 1.5 }, "max_retries", "must be a whole number" },
        { "generate", { retry_unsafe = 1 }, "retry_unsafe", "boolean expected, got number" },
        { "generate", { on_send = true }, "on_send", "function expected, got boolean" },
        { "generate", { timeuot = 5 }, "timeuot", "unknown option; did you mean 'timeout'?" },
        { "generate", { stall = 5 }, "stall", "unknown option" },
        { "submit_async", { max_credit = 5 }, "max_credit", "did you mean 'max_credits'?" },
        { "poll", { stall = 0 }, "stall", "must be > 0" },
        { "poll", { max_credits = 5 }, "max_credits", "unknown option" },
        { "download", { mkdir = "yes" }, "mkdir", "boolean expected, got string" },
        { "fetch", { on_progress = 1 }, "on_progress", "function expected, got number" },
      } do
        local op, opts, name, why = row[1], row[2], row[3], row[4]
        local ok, err
        if op == "generate" or op == "submit_async" then
          ok, err = pcall(client[op], client, { prompt = "x" }, opts)
        elseif op == "poll" then
          ok, err = pcall(client.poll, client, "t1", opts)
        elseif op == "download" then
          ok, err = pcall(client.download, client, mock.url .. "/images/x.png", dir .. "/x.png", opts)
        else
          ok, err = pcall(client.fetch, client, mock.url .. "/images/x.png", opts)
        end
        assert.is_false(ok, op .. " " .. name)
        assert.matches(("bad option '%s' to '%s' ("):format(name, op), err, 1, true)
        assert.matches(why, err, 1, true)
      end
      assert.are.equal(0, #mock:requests())
    end)
  end)

  describe("the token", function()
    it("never appears in tostring(client), errors or the mock's log", function()
      no_token(tostring(client))
      assert.matches("token set", tostring(client))
      mock:fault { action = "status", status = 500 }
      local _, err = client:generate { prompt = "x" }
      no_token(tostring(err))
      assert(client:generate { prompt = "x" })
      local log = cjson.encode(mock:requests())
      no_token(log)
      assert.matches("<token:1>", log, 1, true)
    end)
  end)
end)
