-- libcurl's timer as the core (src/pool.c) passes it on: libcurl reports
-- its timeout rounded down to whole milliseconds, so by the core's clock the
-- timer can come due up to 1 ms early; libcurl, run early, acts on nothing
-- and reports the same expiry again (1 ms while any is left).  Whichever way
-- a host drives the core (step(0) each frame, or c:sockets()/c:action() as
-- the luv driver does), a server that never answers is timed out at the
-- deadline, and no host is told "0 ms" over and over.
local S = require "spec.core.support"
local core = S.core
local socket = require "socket"

describe("libcurl's timer", function()
  local server, url

  setup(function()
    -- accepts connections (the kernel's backlog) and never answers
    server = assert(socket.bind("127.0.0.1", 0))
    local _, port = server:getsockname()
    url = ("http://127.0.0.1:%d/silent"):format(port)
  end)

  teardown(function() server:close() end)

  local function silent_request(c)
    return c:start { method = "GET", url = url }
  end

  -- drives t as the luv driver does: sleeps for the timeout c:sockets()
  -- reads, then c:action(); returns the seconds taken and the actions run
  local function act_on_timer_until_done(c, t)
    local t0, actions = core.now(), 0
    while not t:done() and core.now() - t0 < 3 do
      local _, ms = c:sockets()
      if ms >= 0 then
        core.sleep(ms / 1000)
        c:action()
        actions = actions + 1
      else
        core.sleep(0.01)
      end
    end
    return core.now() - t0, actions
  end

  it("times a silent server out at its deadline when the host steps without waiting (a frame host)", function()
    for _ = 1, 5 do
      local c = core.new { token = S.token, timeout = 0.2, connect_timeout = 1 }
      local t = silent_request(c)
      local t0 = core.now()
      -- step(0) as a game's frame would, as often as possible, so that some
      -- step lands between the core's deadline and libcurl's
      while not t:done() and core.now() - t0 < 3 do
        c:step(0)
        core.sleep(0.0002)
      end
      local took = core.now() - t0
      assert.is_true(t:done(), ("no timeout %.2f s after a 0.2 s deadline: libcurl's timer was lost"):format(took))
      local facts = t:result()
      assert.are.equal(28, facts.code) -- CURLE_OPERATION_TIMEDOUT
      assert.is_true(took < 1, ("timed out after %.2f s"):format(took))
      c:close()
    end
  end)

  it("times a silent server out when the host acts on the timer as it reads it (c:sockets/c:action)", function()
    for _ = 1, 5 do
      local c = core.new { token = S.token, timeout = 0.2, connect_timeout = 1 }
      local t = silent_request(c)
      local took, actions = act_on_timer_until_done(c, t)
      assert.is_true(t:done(), ("no timeout %.2f s after a 0.2 s deadline"):format(took))
      assert.are.equal(28, t:result().code)
      -- never more timeout actions than milliseconds: c:sockets() does not
      -- report 0 ms again once libcurl has been told
      assert.is_true(actions <= took * 1000 + 5, actions .. " timeout actions in " .. took .. " s")
      c:close()
    end
  end)

  -- libcurl forgets its last report when asked to run its timers and then
  -- calls back only while a timer is left: a transfer that ends inside
  -- c:action() (a timeout, or an answer read on the timer's turn) must not
  -- leave the core reporting "0 ms" to an idle host for ever
  it("reports no timer once a transfer has ended inside a timeout action", function()
    local c = core.new { token = S.token, timeout = 0.2, connect_timeout = 1 }
    local t = silent_request(c)
    act_on_timer_until_done(c, t)
    assert.are.equal(28, t:result().code)
    for _ = 1, 3 do
      local _, ms = c:sockets()
      assert.are.equal(-1, ms)
      c:action()
    end
    c:close()
  end)
end)
