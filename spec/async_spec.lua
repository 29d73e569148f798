-- Many requests in flight from one Lua thread: the C core's start/step/
-- result/cancel, the coroutine layer, progress, downloads, and safety when
-- requests or clients are dropped mid-flight.
local vinano = require "vinano"
local async = require "vinano.async"
local env = require "spec.support.env"
local mock_process = require "spec.support.mock_process"
local raw = require "spec.support.raw"

local function registry_size()
  local n = 0
  for _ in pairs(debug.getregistry()) do n = n + 1 end
  return n
end

describe("async", function()
  local mock, client, dir
  setup(function()
    mock = mock_process.start { tokens = { env.token }, credits = 1000000, rate_limit = 100000, task_delay = 0.3,
      max_connections = 400 }
    client = env.client(mock, { timeout = 30 })
    dir = env.tmpdir()
  end)
  teardown(function()
    mock:stop()
    os.execute("rm -rf " .. dir)
  end)
  before_each(function() mock:reset() end)

  describe("the C core", function()
    local function start(c, prompt, extra)
      return c.core:start(raw.generate(c.base_url, { prompt = prompt }, extra))
    end

    it("runs 100 delayed generates concurrently in one thread", function()
      mock:fault { action = "delay", seconds = 1, times = 100, path = "/api/v2/images/generate" }
      local t0 = vinano.now()
      local reqs = {}
      for i = 1, 100 do reqs[i] = start(client, "p" .. i, { queue = true }) end
      local longest_step = 0
      local done = 0
      while done < 100 do
        local s0 = vinano.now()
        client.core:step(0)
        longest_step = math.max(longest_step, vinano.now() - s0)
        client.core:step(50)
        local finished = client.core:finished()
        if finished then done = done + #finished end
      end
      local elapsed = vinano.now() - t0
      for i = 1, 100 do
        local res, err = raw.result(reqs[i])
        assert.is_nil(err)
        assert.are.equal("p" .. i, res.prompt)
      end
      -- serial would take 100 s; concurrency makes it about one delay
      assert.is_true(elapsed < 30, "100 delayed requests took " .. elapsed .. " s")
      assert.is_true(longest_step < 0.5, "step(0) blocked for " .. longest_step .. " s")
      assert.are.equal(100, #mock:requests())
    end)

    it("cancel releases the request and its anchor", function()
      -- luaL_unref leaves a free-list link in the slot, so the registry keeps
      -- the high-water mark of refs in use; a leak would grow it every round
      local function round()
        for _ = 1, 20 do
          local req = start(client, "x")
          client.core:step(0)
          assert.is_true(req:cancel())
          assert.is_false(req:cancel())
          local res, err = raw.result(req)
          assert.is_nil(res)
          assert.are.equal("cancelled", err.kind)
          req:close()
        end
        assert.are.equal(0, client.core:running())
        collectgarbage()
        collectgarbage()
        return registry_size()
      end
      mock:fault { action = "delay", seconds = 5, times = 60 }
      local before = registry_size()
      local first = round()
      assert.is_true(first <= before + 3, "registry grew from " .. before .. " to " .. first)
      assert.are.equal(first, round())
      assert.are.equal(first, round())
    end)

    it("survives dropping requests in flight", function()
      mock:fault { action = "delay", seconds = 0.3, times = 10 }
      for i = 1, 10 do start(client, "dropped " .. i, { queue = true }) end
      collectgarbage()
      collectgarbage()
      -- anchored while in flight: they still finish
      assert.are.equal(10, client.core:running())
      local finished = 0
      while client.core:running() > 0 do
        client.core:step(100)
        local f = client.core:finished()
        finished = finished + (f and #f or 0)
      end
      local f = client.core:finished()
      finished = finished + (f and #f or 0)
      assert.are.equal(10, finished)
      collectgarbage()
    end)

    it("survives garbage-collecting a client with transfers in flight", function()
      mock:fault { action = "delay", seconds = 2, times = 5 }
      local reqs = {}
      do
        local c = env.client(mock)
        for i = 1, 5 do reqs[i] = start(c, "x") end
        c.core:step(0)
      end
      collectgarbage()
      collectgarbage()
      for _, req in ipairs(reqs) do
        local res, err = raw.result(req)
        assert.is_nil(res)
        assert.are.equal("cancelled", err.kind)
      end
    end)

    -- <close> is 5.4 syntax: elsewhere the test does not exist (rather than pass empty)
    if _VERSION == "Lua 5.4" then
      it("closes requests and clients that go out of scope with <close> (Lua 5.4)", function()
        local chunk = assert(load([[
          local env, mock, start = ...
          mock:fault { action = "delay", seconds = 5 }
          local c <close> = env.client(mock)
          do
            local req <close> = start(c, "scoped")
            c.core:step(0)
            assert(c.core:running() == 1)
          end
          return c.core:running(), c
        ]]))
        local running, c = chunk(env, mock, start)
        assert.are.equal(0, running)
        assert.has_error(function() c:generate { prompt = "x" } end, "vinano: attempt to use a closed client")
      end)
    end

    it("closes a client explicitly, idempotently", function()
      local c = env.client(mock)
      local req = start(c, "x")
      c:close()
      c:close()
      assert.are.equal("cancelled", select(2, raw.result(req)).kind)
      assert.has_error(function() c:generate { prompt = "x" } end, "vinano: attempt to use a closed client")
    end)
  end)

  describe("vinano.async", function()
    it("runs generate, submit_async, poll, wait and download inside a task", function()
      local out = dir .. "/task.png"
      local res, file = async.run(function()
        local r = assert(client:generate { prompt = "in a task" })
        local task = assert(client:submit_async { prompt = "later" })
        local st = assert(client:poll(task.task_id))
        assert.are.equal("pending", st.state)
        local done = assert(client:wait(task.task_id, { interval = 0.05, timeout = 5 }))
        assert.are.equal("done", done.state)
        return r, assert(client:download(done.images[1], out))
      end)
      assert.are.equal("in a task", res.prompt)
      assert.are.equal(out, file.path)
      assert.are.equal(64, (env.png_size(env.read_file(out))))
    end)

    it("interleaves tasks: a slow request never blocks a sleeping task", function()
      mock:fault { action = "delay", seconds = 1, times = 1 }
      local ticks = 0
      local finished_at
      async.run(function()
        async.all {
          function() assert(client:generate { prompt = "slow" }); finished_at = ticks end,
          function() for _ = 1, 8 do async.sleep(0.05); ticks = ticks + 1 end end,
        }
      end)
      assert.are.equal(8, ticks)
      assert.are.equal(8, finished_at) -- the ticker finished first, while the request was in flight
    end)

    it("all() returns each function's first value in order", function()
      local a, b, c = async.all {
        function() async.sleep(0.05); return "a" end,
        function() return "b" end,
        function() return (assert(client:generate { prompt = "c" })).prompt end,
      }
      assert.are.same({ "a", "b", "c" }, { a, b, c })
    end)

    it("generate_many keeps input order and bounds concurrency", function()
      mock:fault { action = "delay", seconds = 0.1, times = 20 }
      local inflight, peak = 0, 0
      local real = client.generate
      client.generate = function(self, params)
        inflight = inflight + 1
        peak = math.max(peak, inflight)
        local r, e = real(self, params)
        inflight = inflight - 1
        return r, e
      end
      local list = {}
      for i = 1, 20 do list[i] = { prompt = "n" .. i } end
      list[7] = { prompt = "x", aspectRatio = "5:4" } -- invalid: its slot holds the error
      local results = client:generate_many(list, { concurrency = 4 })
      client.generate = nil
      assert.are.equal(20, #results)
      for i = 1, 20 do
        if i == 7 then
          assert.are.equal("invalid_request", results[i].kind)
        else
          assert.are.equal("n" .. i, results[i].prompt)
        end
      end
      assert.are.equal(4, peak)
    end)

    it("generate_many outside a task drives the core itself: no task per request, same answers", function()
      local main = coroutine.running() -- nil (5.1) or the main thread
      local hooks, in_task, peak, now = 0, 0, 0, 0
      local c = env.client(mock, {
        on_request = function()
          hooks = hooks + 1
          if coroutine.running() ~= main or async.current() then in_task = in_task + 1 end
          now = now + 1
          peak = math.max(peak, now)
        end,
        on_response = function() now = now - 1 end,
      })
      mock:fault { action = "delay", seconds = 0.1, times = 12 }
      local list = {}
      for i = 1, 12 do list[i] = { prompt = "d" .. i } end
      list[5] = { prompt = "x", aspectRatio = "5:4" } -- refused before sending: its slot holds the error
      local results = c:generate_many(list, { concurrency = 3 })
      assert.are.equal(12, #results)
      for i = 1, 12 do
        if i == 5 then
          assert.are.equal("invalid_request", results[i].kind)
        else
          assert.are.equal("d" .. i, results[i].prompt)
          assert.are.equal(1, results[i].attempts)
        end
      end
      assert.are.equal(11, hooks)
      assert.are.equal(0, in_task) -- every request was sent from the caller's own thread
      assert.are.equal(3, peak)
      assert.are.equal(0, async.default.live)
      c:close()
    end)

    it("callback-last variants deliver (res, err)", function()
      local got = {}
      async.run(function()
        local t1 = client:generate_cb({ prompt = "cb" }, function(res, err) got.res, got.err = res, err end)
        local t2 = client:poll_cb("missing-task", function(st) got.st = st end)
        async.join(t1)
        async.join(t2)
      end)
      assert.is_nil(got.err)
      assert.are.equal("cb", got.res.prompt)
      assert.are.equal("failed", got.st.state)
    end)

    it("a task's error is raised by run, with its traceback", function()
      assert.has_error(function()
        async.run(function() error("boom in task") end)
      end)
      local ok, err = pcall(async.run, function() async.sleep(0.01); error("late boom") end)
      assert.is_false(ok)
      assert.matches("late boom", err)
    end)

    it("an error in on_progress fails that request only", function()
      local path = env.write_file(dir .. "/up.png", ("u"):rep(300000))
      local res1, err1, res2
      async.run(function()
        async.all {
          function()
            res1, err1 = client:generate({ prompt = "x", image = path },
              { on_progress = function() error("progress callback broke") end })
          end,
          function() res2 = client:generate { prompt = "fine" } end,
        }
      end)
      assert.is_nil(res1)
      assert.are.equal("callback", err1.kind)
      assert.matches("progress callback broke", err1.message)
      assert.are.equal("fine", res2.prompt)
    end)

    it("reports upload progress, sync and async", function()
      local size = 3 * 1024 * 1024
      local path = env.write_file(dir .. "/progress.png", ("p"):rep(size))
      mock:fault { action = "delay", seconds = 0.3, times = 2 }
      local calls = {}
      assert(client:generate({ prompt = "x", image = path }, { on_progress = function(sent, total)
        calls[#calls + 1] = { sent, total }
      end }))
      assert.is_true(#calls >= 1)
      local last = calls[#calls]
      assert.is_true(last[2] > size and last[1] == last[2], "sent " .. last[1] .. " of " .. last[2])
      local acalls = 0
      async.run(function()
        assert(client:generate({ prompt = "x", image = path }, { on_progress = function() acalls = acalls + 1 end }))
      end)
      assert.is_true(acalls >= 1)
    end)
  end)

  describe("download", function()
    it("never leaves a half file under the final name", function()
      local res = assert(client:generate { prompt = "x" })
      local out = dir .. "/half.png"
      mock:fault { action = "drop_mid_body", path = res.images[1]:match("^https?://[^/]+(/.*)$") }
      local file, err = client:download(res.images[1], out, { max_retries = 0 })
      assert.is_nil(file)
      assert.are.equal("network", err.kind)
      assert.is_nil(env.read_file(out))
      assert.are.equal("", env.sh("ls " .. dir .. " | grep half || true"))
    end)

    it("sends the token only to the API host, also across redirects", function()
      local task = assert(client:submit_async { prompt = "x" })
      mock:clear()
      local api_path = "/api/v1/images/task-status?task_id=" .. task.task_id
      assert(client:download(mock.url .. api_path, dir .. "/a.json"))
      local other = mock.url:gsub("127%.0%.0%.1", "localhost")
      -- another host name: no token, so the API refuses
      local file, err = client:download(other .. api_path, dir .. "/b.json")
      assert.is_nil(file)
      assert.are.equal("unauthorized", err.kind)
      mock:fault { action = "redirect", location = other .. api_path }
      file, err = client:download(mock.url .. api_path, dir .. "/c.json")
      assert.is_nil(file)
      assert.are.equal(401, err.status)
      local log = mock:requests()
      assert.are.equal(4, #log)
      assert.are.equal("Bearer <token:1>", log[1].headers.authorization)
      assert.is_nil(log[2].headers.authorization)
      assert.are.equal("Bearer <token:1>", log[3].headers.authorization) -- the API answered the redirect
      assert.is_nil(log[4].headers.authorization)                      -- the token did not follow it
    end)

    it("reports HTTP errors with their kind", function()
      local file, err = client:download(mock.url .. "/images/nope.png", dir .. "/nope.png")
      assert.is_nil(file)
      assert.are.equal(404, err.status)
      assert.is_nil(env.read_file(dir .. "/nope.png"))
    end)
  end)
end)
