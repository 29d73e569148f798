-- Host-driven transfers: c:sockets() hands libcurl's socket changes and
-- timeout to a host loop, c:action() acts on them; no c:step() here.  A
-- socket libcurl closes while the host watches it stays open until the host
-- has read its "remove".
local S = require "spec.core.support"
local core = S.core
local socket = require "socket"

local function pid()
  local f = assert(io.open("/proc/self/stat"))
  local n = f:read("*l"):match("^(%d+)")
  f:close()
  return n
end

local function is_open(fd)
  return S.sh("readlink /proc/" .. pid() .. "/fd/" .. fd):match("^socket:") ~= nil
end

-- The host loop: applies changes, acts on every watched socket and on the
-- timer; returns the watched set and what was seen.
local function host_run(c, t)
  local watched, log = {}, { adds = {}, removes = {} }
  local deadline = core.now() + 20
  local timer_at
  while true do
    local changes, timeout = c:sockets()
    assert.are.equal(0, #changes % 2)
    for i = 1, #changes, 2 do
      local fd, what = changes[i], changes[i + 1]
      assert.is_number(fd)
      if what == "remove" then
        assert.is_truthy(watched[fd], "remove of a socket never added")
        watched[fd] = nil
        log.removes[#log.removes + 1] = fd
      else
        assert.is_truthy(({ ["in"] = true, out = true, inout = true })[what])
        watched[fd] = what
        log.adds[#log.adds + 1] = fd
      end
    end
    if t:done() then return watched, log end
    if timeout >= 0 then timer_at = core.now() + timeout / 1000 end
    -- a real host would poll; acting on a socket that is not ready is harmless
    for fd, what in pairs(watched) do c:action(fd, what) end
    if timer_at and core.now() >= timer_at then
      timer_at = nil
      c:action()
    end
    assert.is_true(core.now() < deadline, "host loop did not finish")
    socket.sleep(0.002)
  end
end

describe("sockets() and action()", function()
  local mock, gen
  setup(function()
    mock = S.mock { rate_limit = 1000 }
    gen = mock.url .. "/api/v2/images/generate"
  end)
  teardown(function() mock:stop() end)

  it("drive a transfer to completion without step", function()
    local c = core.new { token = S.token }
    local t = c:start { method = "POST", url = gen, auth = true, parts = S.parts() }
    local watched, log = host_run(c, t)
    assert.is_true(#log.adds >= 1)
    local r = t:result()
    assert.are.equal(200, r.status)
    assert.is_true(r.request_sent)
    -- whatever is still watched is open; close ends it all
    for fd in pairs(watched) do assert.is_true(is_open(fd)) end
    c:close()
    for _, fd in ipairs(log.adds) do assert.is_false(is_open(fd)) end
  end)

  it("closes a socket libcurl dropped only after the host read its removal", function()
    local c = core.new { token = S.token }
    c:sockets()
    mock:fault { action = "drop" }
    local t = c:start { method = "POST", url = gen, auth = true, parts = S.parts() }
    local watched, log = host_run(c, t)
    local r = t:result()
    assert.are.equal(52, r.code) -- CURLE_GOT_NOTHING
    -- host_run read the remove in its last sockets() call; the fd is still open
    assert.are.equal(1, #log.removes)
    local fd = log.removes[1]
    assert.is_nil(watched[fd])
    assert.is_true(is_open(fd))
    -- closed at the next call into the client
    c:action()
    assert.is_false(is_open(fd))
    c:close()
  end)

  it("reports nothing for a client nobody hosts, and step still works after sockets()", function()
    local c = core.new {}
    local t = c:start { url = mock.url .. "/nowhere" }
    local changes, timeout = c:sockets()
    assert.are.same({}, changes)
    assert.are.equal(0, timeout) -- libcurl wants to start at once
    local r = S.run(c, t)
    assert.are.equal(404, r.status)
    -- the socket came and went between two reads: the host never hears of it
    assert.are.same({}, (c:sockets()))
    c:close()
  end)

  -- c:pollset(): one descriptor for all of a client's sockets (Linux), so a
  -- host loop never watches a socket in error itself (libuv calls that
  -- EBADF); c:ready() acts on what is ready in it.
  it("pollset: sockets() lists none, ready() drives transfers, a refused one and a good one", function()
    local c = core.new { token = S.token }
    local fd = c:pollset()
    if not fd then
      pending("this system has no pollset (epoll): the luv driver watches each socket")
      return
    end
    assert.is_number(fd)
    assert.are.equal(fd, c:pollset()) -- one per client
    local function is_pollset(n) return S.sh("readlink /proc/" .. pid() .. "/fd/" .. n):match("eventpoll") ~= nil end
    assert.is_true(is_pollset(fd))
    local probe = assert(socket.bind("127.0.0.1", 0))
    local _, port = probe:getsockname()
    probe:close()
    local refused = c:start { url = ("http://127.0.0.1:%d/"):format(port) }
    local good = c:start { method = "POST", url = gen, auth = true, parts = S.parts() }
    local deadline, timer_at = core.now() + 20, nil
    while not (refused:done() and good:done()) do
      local changes, timeout = c:sockets()
      assert.are.same({}, changes)
      if timeout >= 0 then timer_at = core.now() + timeout / 1000 end
      c:ready()
      if timer_at and core.now() >= timer_at then
        timer_at = nil
        c:action()
      end
      assert.is_true(core.now() < deadline, "the transfers did not finish")
      socket.sleep(0.002)
    end
    assert.are.equal(7, refused:result().code) -- CURLE_COULDNT_CONNECT
    assert.are.equal(200, good:result().status)
    c:close()
    assert.is_false(is_pollset(fd))
  end)
end)
