-- lua/vinano/transport.lua with the default scheduler and the blocking and
-- frame drivers, over a FAKE core (spec/support/fake_core.lua: the contract
-- of docs/architecture.md in Lua, on a fake clock), so it runs before the
-- real core lands and never sleeps.
local fake_core = require "spec.support.fake_core"

local MODULES = { "vinano.core", "vinano.async", "vinano.transport", "vinano.progress", "vinano.host.blocking",
  "vinano.host.frame", "vinano.host.luv" }

describe("vinano.transport", function()
  local core, async, transport
  local saved = {}

  before_each(function()
    for _, m in ipairs(MODULES) do
      saved[m] = package.loaded[m]
      package.loaded[m] = nil
    end
    core = fake_core.new()
    package.loaded["vinano.core"] = core
    async = require "vinano.async"
    transport = require "vinano.transport"
  end)

  after_each(function()
    for _, m in ipairs(MODULES) do package.loaded[m] = saved[m] end
  end)

  local function spec(name) return { method = "GET", url = "http://fake/" .. (name or "x") } end

  describe("outside a task", function()
    it("blocks, stepping the client (no spin), and returns the facts", function()
      core.plan = function() return { after = 5, facts = { body = "slow" } } end
      local c = core.new {}
      local s = spec()
      local facts, cberr = transport.perform(c, s, nil)
      assert.is_nil(cberr)
      assert.are.equal("slow", facts.body)
      assert.are.equal(200, facts.status)
      assert.is_false(s.queue)
      assert.are.equal(5, core.clock)
      assert.is_true(core.steps <= 6, core.steps .. " steps for a 5 s transfer")
      assert.are.equal("closed", core.started[1]:state())
      assert.is_false(transport.in_task())
    end)

    it("delivers the transfers tasks await on the same client while it blocks", function()
      core.plan = function(s) return { after = s.url:match("slow") and 3 or 1, facts = { body = s.url } } end
      local c = core.new {}
      local got
      local task = async.spawn(function() got = transport.perform(c, spec("quick")) end)
      async.step() -- the task starts its transfer and waits
      assert.is_nil(got)
      local facts = transport.perform(c, spec("slow")) -- blocking, 3 s
      assert.are.equal("http://fake/slow", facts.body)
      -- the quick one finished meanwhile and went to its owner: the task is ready
      assert.is_true(async.has_ready())
      async.step()
      assert.is_true(task.done)
      assert.are.equal("http://fake/quick", got.body)
      assert.are.equal(0, #transport.clients())
    end)

    it("a raising on_progress cancels the transfer and returns the raised value", function()
      core.plan = function() return { after = 10, upload = 1000 } end
      local c = core.new {}
      local calls = 0
      local facts, cberr = transport.perform(c, spec(), { on_progress = function(sent, total)
        calls = calls + 1
        assert(total == 1000)
        if sent >= 300 then error({ why = "enough" }) end
      end })
      assert.is_true(facts.cancelled)
      assert.are.equal("enough", cberr.why)
      assert.is_true(core.started[1].cancelled_by_cancel)
      assert.is_true(calls >= 2)
      assert.is_true(core.clock < 10)
    end)

    it("sleep blocks through the core and raises on NaN", function()
      transport.sleep(2)
      assert.are.equal(2, core.slept)
      assert.has_error(function() transport.sleep(0 / 0) end)
    end)
  end)

  describe("inside a task", function()
    it("starts with queue = true, suspends, and is resumed when the driver drains c:finished()", function()
      core.plan = function(s) return { after = tonumber(s.url:match("%d+")), facts = { body = s.url } } end
      local c = core.new {}
      local s1, s2 = spec("2"), spec("3")
      local a, b = async.run(function()
        assert.is_true(transport.in_task())
        return async.all {
          function() return transport.perform(c, s1).body end,
          function() return transport.perform(c, s2).body end,
        }
      end)
      assert.are.equal("http://fake/2", a)
      assert.are.equal("http://fake/3", b)
      assert.is_true(s1.queue)
      assert.are.equal(3, core.clock) -- concurrent
      assert.is_true(core.waits <= 4, core.waits .. " waits")
      assert.are.equal(0, #transport.clients())
      assert.are.equal(0, transport.pending())
    end)

    it("sleep yields inside a task (other tasks run meanwhile)", function()
      local log = {}
      async.run(function()
        async.all {
          function() transport.sleep(2); log[#log + 1] = "slept" end,
          function() log[#log + 1] = "ran" end,
        }
      end)
      assert.are.same({ "ran", "slept" }, log)
      assert.are.equal(2, core.clock)
      assert.are.equal(2, core.slept) -- nothing in flight: the blocking driver slept until the timer
    end)

    it("a re-entrant c:step() from other code cannot steal a task's finished transfer", function()
      core.plan = function(s) return { after = s.url:match("long") and 1 or 0.5 } end
      local c = core.new {}
      local got
      async.run(function()
        async.all {
          function() got = transport.perform(c, spec("long")) end,
          function()
            -- a callback stepping the client by hand (old code: it took the
            -- other task's finished request and run() spun forever)
            transport.perform(c, spec("short"))
            while c:running() > 0 do c:step(1000) end
          end,
        }
      end)
      assert.are.equal(200, got.status)
      assert.is_true(core.steps + core.waits < 20)
    end)

    it("a raising on_progress fails only its own transfer", function()
      core.plan = function(s)
        return { after = 2, upload = s.url:match("up") and 500 or nil, facts = { body = s.url } }
      end
      local c = core.new {}
      local r1, e1, r2
      async.run(function()
        async.all {
          function()
            r1, e1 = transport.perform(c, spec("up"), { on_progress = function() error("progress broke") end })
          end,
          function() r2 = transport.perform(c, spec("other")) end,
        }
      end)
      assert.is_true(r1.cancelled)
      assert.matches("progress broke", e1)
      assert.are.equal("http://fake/other", r2.body)
      assert.is_false(transport.watching())
    end)

    it("cancel(task) cancels the awaited transfer; the task sees cancelled facts, later transfers too", function()
      core.plan = function() return { after = 100 } end
      local c = core.new {}
      local first, second
      local t = async.spawn(function()
        first = transport.perform(c, spec("a"))
        second = transport.perform(c, spec("b"))
      end)
      async.step()
      assert.is_true(async.cancel(t))
      async.step()
      assert.is_true(t.done)
      assert.is_true(first.cancelled)
      assert.is_true(second.cancelled)
      assert.are.equal(1, #core.started) -- the second was never started
      assert.is_true(core.started[1].cancelled_by_cancel)
      assert.are.equal(0, #transport.clients())
    end)
  end)

  describe("closing a client while tasks await it", function()
    it("delivers {cancelled = true} to every waiter, forgets the client, closes it", function()
      core.plan = function() return { after = 100 } end
      local c = core.new {}
      local results = {}
      local waiters = {}
      for i = 1, 3 do waiters[i] = async.spawn(function() results[i] = transport.perform(c, spec()) end) end
      async.run(function()
        async.sleep(1)
        transport.close(c)
      end)
      async.step() -- run returned when its own task was done; the waiters are ready
      for i = 1, 3 do
        assert.is_true(waiters[i].done)
        assert.is_true(results[i].cancelled)
      end
      assert.are.equal(0, #transport.clients())
      assert.has_error(function() c:running() end, "vinano: attempt to use a closed client")
      -- the scheduler has forgotten it: later runs and updates work
      assert.are.equal("fine", async.run(function() async.sleep(1); return "fine" end))
      assert.are.equal(0, async.update(0))
      transport.close(c) -- idempotent
      assert.is_true(core.clock < 100)
    end)

    it("a client closed behind transport's back (c:close()) is pruned: waiters get cancelled, run goes on", function()
      core.plan = function() return { after = 100 } end
      local c = core.new {}
      local got
      local t = async.spawn(function() got = transport.perform(c, spec()) end)
      async.run(function()
        async.sleep(1)
        c:close() -- not transport.close
        async.sleep(1)
      end)
      assert.is_true(t.done)
      assert.is_true(got.cancelled)
      assert.are.equal(0, #transport.clients())
    end)

    if _VERSION == "Lua 5.4" then
      it("a `local c <close>` going out of scope while a spawned task waits (Lua 5.4)", function()
        core.plan = function() return { after = 100 } end
        -- a stand-in for the API client: its close() calls transport.close
        local Client = {}
        Client.__index = Client
        Client.__close = function(self) transport.close(self.core) end
        local chunk = assert(load([[
          local async, transport, Client, core = ...
          local got
          do
            local client <close> = setmetatable({ core = core.new {} }, Client)
            async.spawn(function() got = transport.perform(client.core, { method = "GET", url = "http://fake/" }) end)
            async.step()
          end
          return function() return got end
        ]]))
        local get = chunk(async, transport, Client, core)
        assert.are.equal(0, #transport.clients())
        async.step()
        assert.is_true(get().cancelled)
        assert.are.equal(0, async.update(0))
      end)
    end
  end)

  describe("the frame driver (update)", function()
    it("never waits when given 0 and delivers over frames", function()
      core.plan = function() return { after = 0.05 } end
      local c = core.new {}
      async.host()
      local got
      async.spawn(function() got = transport.perform(c, spec()) end)
      local frames = 0
      while not got do
        local before = core.clock
        async.update(0)
        assert.are.equal(before, core.clock) -- 0: no wait
        core.clock = core.clock + 0.016 -- the game's frame
        frames = frames + 1
        assert(frames < 100)
      end
      assert.is_true(frames >= 3)
      assert.are.equal(200, got.status)
      async.stop_driver()
    end)

    it("callback variants are driven once a host is installed, refused before", function()
      local ok, err = pcall(async.spawn_cb, function() end, function() end)
      assert.is_false(ok)
      assert.matches("no vinano driver is running", err)
      async.host()
      local got
      async.spawn_cb(function() return "x" end, function(v) got = v end)
      async.update(0)
      assert.are.equal("x", got)
      async.stop_driver()
    end)

    it("update rejects NaN budgets", function()
      assert.has_error(function() async.update(0 / 0) end)
    end)
  end)
end)
