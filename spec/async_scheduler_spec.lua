-- The scheduler alone (lua/vinano/async.lua) on a fake clock: nothing here
-- sleeps, loads the C core or does I/O.  The blocking wait of run/join is a
-- function that moves the fake clock to the next timer.
local async = require "vinano.async"

local function new_sched()
  local clock = { t = 0, waited = 0, waits = 0 }
  local sched = async.new_scheduler {
    now = function() return clock.t end,
    wait = function(_, seconds)
      clock.waits = clock.waits + 1
      assert(clock.waits < 10000, "the scheduler spins")
      if seconds == nil then return false end -- no I/O here: nothing else could wake a task
      clock.t = clock.t + seconds
      clock.waited = clock.waited + seconds
      return true
    end,
  }
  return sched, clock
end

describe("vinano.async scheduler", function()
  local sched, clock
  before_each(function() sched, clock = new_sched() end)

  describe("run", function()
    it("drives until fn is done and returns all its results, nils included", function()
      local a, b, c = sched:run(function(x) return x, nil, "c" end, "a")
      local n = select("#", sched:run(function(x) return x, nil, "c" end, "a"))
      assert.are.equal("a", a)
      assert.is_nil(b)
      assert.are.equal("c", c)
      assert.are.equal(3, n)
    end)

    it("raises fn's error; a table error keeps its identity", function()
      assert.has_error(function() sched:run(function() error("boom in task") end) end)
      local ok, err = pcall(sched.run, sched, function() sched:sleep(1); error("late boom") end)
      assert.is_false(ok)
      assert.matches("late boom", err)
      local obj = { kind = "mine" }
      ok, err = pcall(sched.run, sched, function() error(obj) end)
      assert.is_false(ok)
      assert.are.equal(obj, err)
    end)

    it("has one meaning: inside a task it calls fn in that task and returns its results, never a task", function()
      local got = { sched:run(function()
        local inner = { sched:run(function() sched:sleep(2); return 1, 2 end) }
        return #inner, inner[1], inner[2]
      end) }
      assert.are.same({ 2, 1, 2 }, got)
      assert.are.equal(2, clock.t)
    end)

    it("still returns results when a host driver is installed (never an empty answer)", function()
      local woke = 0
      sched:set_host { name = "test", wake = function() woke = woke + 1 end }
      assert.are.equal(42, sched:run(function() sched:sleep(1); return 42 end))
    end)

    it("sleeps on the fake clock instead of spinning or sleeping for real", function()
      local t0 = os.time()
      sched:run(function() for _ = 1, 100 do sched:sleep(60) end end)
      assert.are.equal(6000, clock.t)
      assert.are.equal(6000, clock.waited)
      assert.is_true(clock.waits <= 101, clock.waits .. " waits")
      assert.is_true(os.time() - t0 <= 1)
    end)

    it("raises a clear error when the task waits on something nothing will deliver", function()
      local ok, err = pcall(sched.run, sched, function()
        sched:suspend(function() end) -- nobody keeps resume
      end)
      assert.is_false(ok)
      assert.matches("nothing will deliver", err)
    end)

    it("refuses to be driven from inside the scheduler's own turn", function()
      local ok, err
      sched.on_error = function()
        ok, err = pcall(sched.run, sched, function() return 1 end)
      end
      sched:spawn(function() error("x") end)
      sched:step()
      assert.is_false(ok)
      assert.matches("inside the scheduler's turn", err)
    end)
  end)

  describe("spawn and ordering", function()
    it("spawn never runs fn before returning", function()
      local ran = false
      local task = sched:spawn(function() ran = true end)
      assert.is_false(ran)
      assert.is_false(task.done)
      sched:step()
      assert.is_true(ran)
      assert.is_true(task.done)
    end)

    it("resumes ready tasks in FIFO order, one turn at a time", function()
      local log = {}
      for i = 1, 5 do sched:spawn(function() log[#log + 1] = i end) end
      sched:step()
      assert.are.same({ 1, 2, 3, 4, 5 }, log)
      -- a task made ready during a turn runs on the next one
      local order = {}
      sched:spawn(function()
        order[#order + 1] = "a1"
        sched:spawn(function() order[#order + 1] = "b" end)
        sched:sleep(0)
        order[#order + 1] = "a2"
      end)
      sched:step()
      assert.are.same({ "a1" }, order)
      sched:step()
      assert.are.same({ "a1", "b", "a2" }, order)
    end)

    it("passes spawn's extra arguments", function()
      local t = sched:spawn(function(a, b, c) return a + b + c end, 1, 2, 3)
      assert.are.equal(6, sched:join(t))
    end)

    it("handles many tasks with a queue that does not grow without bound", function()
      local n = 0
      for _ = 1, 20000 do sched:spawn(function() n = n + 1 end) end
      sched:step()
      assert.are.equal(20000, n)
      assert.are.equal(1, sched.head)
      assert.are.equal(0, sched.tail)
      assert.is_nil(next(sched.rq_task))
    end)

    it("wakes sleepers by deadline, equal deadlines in the order they slept", function()
      local log = {}
      sched:run(function()
        sched:all {
          function() sched:sleep(3); log[#log + 1] = "3" end,
          function() sched:sleep(1); log[#log + 1] = "1a" end,
          function() sched:sleep(2); log[#log + 1] = "2" end,
          function() sched:sleep(1); log[#log + 1] = "1b" end,
          function() sched:sleep(0); log[#log + 1] = "0" end,
        }
      end)
      assert.are.same({ "0", "1a", "1b", "2", "3" }, log)
      assert.are.equal(3, clock.t)
    end)
  end)

  describe("sleep", function()
    for _, bad in ipairs { { "NaN", 0 / 0 }, { "inf", math.huge }, { "-inf", -math.huge }, { "-1", -1 } } do
      it("raises on " .. bad[1] .. " inside and outside a task (never spins)", function()
        assert.has_error(function() sched:sleep(bad[2]) end)
        local ok, err = pcall(sched.run, sched, function() sched:sleep(bad[2]) end)
        assert.is_false(ok)
        assert.matches("finite number of seconds", err)
        assert.are.equal(0, clock.waits)
      end)
    end

    it("raises on a non-number", function()
      assert.has_error(function() sched:sleep("1") end, "bad argument #1 to 'sleep' (number expected, got string)")
    end)

    it("outside a task blocks for s while driving the other tasks", function()
      local ticks = 0
      sched:spawn(function() for _ = 1, 4 do sched:sleep(1); ticks = ticks + 1 end end)
      sched:sleep(2.5)
      assert.are.equal(2.5, clock.t)
      assert.are.equal(2, ticks)
    end)
  end)

  describe("join and all", function()
    it("join returns a task's results, raises its error, and drives outside a task", function()
      local t = sched:spawn(function() sched:sleep(1); return "r", 2 end)
      local a, b = sched:join(t)
      assert.are.same({ "r", 2 }, { a, b })
      local bad = sched:spawn(function() sched:sleep(1); error({ kind = "x" }) end)
      local ok, err = pcall(sched.join, sched, bad)
      assert.is_false(ok)
      assert.are.equal("x", err.kind)
    end)

    it("join inside a task yields until the other is done (also one already done)", function()
      local got = sched:run(function()
        local t = sched:spawn(function() sched:sleep(5); return "late" end)
        local quick = sched:spawn(function() return "quick" end)
        sched:sleep(1)
        return sched:join(t) .. "+" .. sched:join(quick)
      end)
      assert.are.equal("late+quick", got)
      assert.are.equal(5, clock.t)
    end)

    it("all returns first values in order; runs concurrently", function()
      local a, b, c = sched:all {
        function() sched:sleep(3); return "a" end,
        function() return "b" end,
        function() sched:sleep(2); return "c", "ignored" end,
      }
      assert.are.same({ "a", "b", "c" }, { a, b, c })
      assert.are.equal(3, clock.t) -- concurrent: the longest, not the sum
    end)

    it("all raises the first error only after every function ended", function()
      local finished = false
      local ok, err = pcall(sched.all, sched, {
        function() sched:sleep(2); finished = true end,
        function() error("first") end,
        function() sched:sleep(1); error("second") end,
      })
      assert.is_false(ok)
      assert.matches("first", err)
      assert.is_true(finished)
    end)

    it("a failure nobody joins goes to on_error; a joined one does not", function()
      local reported = {}
      sched.on_error = function(task, err) reported[#reported + 1] = { task, err } end
      local lonely = sched:spawn(function() error("lonely") end)
      local joined = sched:spawn(function() sched:sleep(1); error("joined") end)
      pcall(sched.join, sched, joined)
      sched:step()
      assert.are.equal(1, #reported)
      assert.are.equal(lonely, reported[1][1])
      assert.matches("lonely", reported[1][2])
    end)
  end)

  describe("suspend", function()
    it("resumes with the values given to resume; resume is one-shot", function()
      local saved
      local t = sched:spawn(function()
        return sched:suspend(function(resume) saved = resume end)
      end)
      sched:step()
      assert.is_false(t.done)
      assert.is_true(sched:busy()) -- a wait a driver must deliver
      assert.is_true(saved(1, nil, 3))
      assert.is_false(saved("again"))
      sched:step()
      assert.is_true(t.done)
      assert.are.same({ n = 3, 1, nil, 3 }, t.results)
      assert.is_false(sched:busy())
    end)

    it("returns at once when register resumes before the task yields", function()
      local v = sched:run(function()
        return sched:suspend(function(resume) resume("now") end)
      end)
      assert.are.equal("now", v)
    end)

    it("raises what register raised, in the task", function()
      local ok, err = pcall(sched.run, sched, function()
        sched:suspend(function() error("register broke") end)
      end)
      assert.is_false(ok)
      assert.matches("register broke", err)
      assert.are.equal(0, sched.external)
    end)

    it("is refused outside a task", function()
      assert.has_error(function() sched:suspend(function() end) end,
        "vinano.async.suspend: not inside a vinano.async task")
    end)

    it("a plain coroutine.yield in a task fails the task with a clear message", function()
      local ok, err = pcall(sched.run, sched, function() coroutine.yield() end)
      assert.is_false(ok)
      assert.matches("yielded without async.suspend", err)
    end)

    it("next_delay, next_deadline and busy tell a driver when to come back", function()
      assert.is_nil(sched:next_delay())
      assert.is_false(sched:busy())
      sched:spawn(function() sched:sleep(4) end)
      assert.are.equal(0, sched:next_delay())
      sched:step()
      assert.are.equal(4, sched:next_deadline())
      clock.t = 1
      assert.are.equal(3, sched:next_delay())
      assert.is_true(sched:busy())
    end)

    it("a host is woken when work appears outside a turn", function()
      local woke = 0
      sched:set_host { wake = function() woke = woke + 1 end }
      sched:spawn(function() end)
      assert.are.equal(1, woke)
      local resume
      sched:spawn(function() sched:suspend(function(r) resume = r end) end)
      sched:step()
      local before = woke
      resume()
      assert.are.equal(before + 1, woke)
    end)
  end)

  describe("cancel", function()
    it("a sleeping task sees an error of kind cancelled; nobody is told through on_error", function()
      local reported = 0
      sched.on_error = function() reported = reported + 1 end
      local after = false
      local t = sched:spawn(function() sched:sleep(100); after = true end)
      sched:step()
      assert.is_true(sched:cancel(t))
      sched:step()
      assert.is_true(t.done)
      assert.is_false(after)
      assert.are.equal("cancelled", t.error.kind)
      assert.are.equal(0, reported)
      assert.is_nil(sched:next_deadline()) -- its timer is gone
      local ok, err = pcall(sched.join, sched, t)
      assert.is_false(ok)
      assert.are.equal("cancelled", err.kind)
      assert.is_false(sched:cancel(t))
    end)

    it("calls the wait's cancel function, which may resume with its own value", function()
      local cancelled_with
      local t = sched:spawn(function()
        local facts = sched:suspend(function(resume)
          return function() cancelled_with = "transfer cancelled"; resume { cancelled = true } end
        end)
        -- the task goes on with the cancelled result; any further wait raises
        local ok, err = pcall(function() sched:suspend(function() error("not called") end) end)
        return facts, ok, err
      end)
      sched:step()
      sched:cancel(t)
      sched:step()
      assert.are.equal("transfer cancelled", cancelled_with)
      local facts, ok, err = t.results[1], t.results[2], t.results[3]
      assert.is_true(facts.cancelled)
      assert.is_false(ok)
      assert.are.equal("cancelled", err.kind)
      assert.are.equal(0, sched.external)
    end)

    it("a task cancelled before it started never runs", function()
      local ran = false
      local t = sched:spawn(function() ran = true end)
      sched:cancel(t)
      sched:step()
      assert.is_false(ran)
      assert.are.equal("cancelled", t.error.kind)
    end)

    it("a task joining another is cancelled without the other", function()
      local other = sched:spawn(function() sched:sleep(10); return "other" end)
      local joiner = sched:spawn(function() return sched:join(other) end)
      sched:step()
      sched:cancel(joiner)
      sched:step()
      assert.are.equal("cancelled", joiner.error.kind)
      assert.are.equal("other", sched:join(other))
    end)

    it("cancelling the current task raises at once", function()
      local ok, err = pcall(sched.run, sched, function() sched:cancel(sched:current()) end)
      assert.is_false(ok)
      assert.are.equal("cancelled", err.kind)
    end)
  end)

  describe("spawn_cb (the callback variants)", function()
    it("raises, naming the drivers, when nothing will ever drive the task", function()
      local ok, err = pcall(sched.spawn_cb, sched, function() return 1 end, function() end)
      assert.is_false(ok)
      assert.matches("no vinano driver is running", err)
      assert.matches("async.luv", err)
      assert.matches("async.update", err)
      assert.matches("async.run", err)
    end)

    it("delivers fn's results to cb inside run, and with a host installed", function()
      local got
      sched:run(function()
        sched:join(sched:spawn_cb(function() sched:sleep(1); return "res", nil end, function(r, e) got = { r, e } end))
      end)
      assert.are.same({ "res" }, got)
      sched:set_host { wake = function() end }
      local t = sched:spawn_cb(function() return "hosted" end, function(r) got = r end)
      sched:step()
      assert.is_true(t.done)
      assert.are.equal("hosted", got)
    end)
  end)

  describe("the default scheduler", function()
    it("backs the module functions and its on_error field", function()
      assert.are.equal(async.Scheduler, getmetatable(async.default))
      assert.is_nil(async.current())
      assert.are.equal(async.default_on_error, async.on_error)
      local reported
      async.on_error = function(_, err) reported = err end
      local t = async.spawn(function() error("to the module handler") end)
      async.step()
      async.on_error = async.default_on_error
      assert.is_true(t.done)
      assert.matches("to the module handler", reported)
    end)

    it("async.sleep raises on NaN without touching the clock or the core", function()
      assert.has_error(function() async.sleep(0 / 0) end)
    end)
  end)
end)
