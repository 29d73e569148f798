-- A small cooperative scheduler over socket.select: one coroutine per task
-- (per connection, plus one accepting), sockets in non-blocking mode. A
-- coroutine that would block yields what it waits for (a socket to become
-- readable/writable, a point in time, or both); the loop sleeps in select for
-- exactly as long as the nearest deadline allows, so it never spins.
-- wait/sleep/pause are methods for a uniform call style, though they only
-- need the running coroutine:
-- luacheck: ignore 212/self
local socket = require "socket"

local Loop = {}
Loop.__index = Loop

local M = {}

function M.new()
  return setmetatable({
    waits = {},    -- coroutine -> { sock=, dir="r"|"w", deadline= }
    on_exit = {},  -- coroutine -> function(ok, err)
    count = 0,     -- live coroutines
    signals = {},  -- name -> list of coroutines waiting for it
    ready_list = {}, -- coroutines to resume in the next round, unconditionally
  }, Loop)
end

M.now = socket.gettime
Loop.now = socket.gettime -- called as loop.now(), not loop:now()

-- spawn(fn, on_exit): runs fn in a new coroutine (immediately, until its
-- first wait). on_exit(ok, err) is called when it finishes or fails.
function Loop:spawn(fn, on_exit)
  local co = coroutine.create(fn)
  self.count = self.count + 1
  self.on_exit[co] = on_exit
  self:resume(co)
  return co
end

-- Called from inside a coroutine. Returns true when the socket is ready,
-- false when the deadline (absolute time, optional) passed first.
function Loop:wait(sock, dir, deadline)
  return coroutine.yield({ sock = sock, dir = dir, deadline = deadline })
end

function Loop:sleep(seconds)
  coroutine.yield({ deadline = M.now() + math.max(0, seconds) })
end

-- Lets other coroutines run before this one continues (long computations).
function Loop:pause()
  coroutine.yield({ deadline = 0 })
end

-- Waits until someone calls signal(name) (e.g. "a connection slot is free").
function Loop:wait_signal(name)
  local list = self.signals[name] or {}
  self.signals[name] = list
  list[#list + 1] = coroutine.running()
  return coroutine.yield({ signal = name })
end

function Loop:signal(name)
  local list = self.signals[name]
  if list and #list > 0 then
    self.signals[name] = nil
    for _, co in ipairs(list) do self.ready_list[#self.ready_list + 1] = co end
  end
end

-- Makes a waiting coroutine run in the next round (its wait returns true),
-- e.g. after its socket was closed under it.
function Loop:wake(co)
  if self.waits[co] then
    self.waits[co] = nil
    self.ready_list[#self.ready_list + 1] = co
  end
end

-- One select round, blocking at most `max_wait` seconds (nil: no limit other
-- than the deadlines). Resumes every coroutine whose condition holds.
function Loop:round(max_wait)
  local recvt, sendt = {}, {}
  local nearest = max_wait and (M.now() + max_wait) or nil
  for _, w in pairs(self.waits) do
    if w.sock then
      local set = (w.dir == "w") and sendt or recvt
      set[#set + 1] = w.sock
    end
    if w.deadline and (not nearest or w.deadline < nearest) then nearest = w.deadline end
  end
  local timeout
  if #self.ready_list > 0 then
    timeout = 0
  elseif nearest then
    timeout = math.max(0, nearest - M.now())
  end
  local readable, writable = {}, {}
  if #recvt > 0 or #sendt > 0 then
    readable, writable = socket.select(recvt, sendt, timeout)
  elseif timeout then
    socket.sleep(timeout)
  else
    return false -- nothing to wait for, ever: the caller should stop
  end
  local now = M.now()
  local due = {}
  for co, w in pairs(self.waits) do
    if w.sock and ((w.dir == "w" and writable[w.sock]) or (w.dir ~= "w" and readable[w.sock])) then
      due[#due + 1] = { co, true }
    elseif w.deadline and w.deadline <= now then
      due[#due + 1] = { co, false }
    end
  end
  local woken = self.ready_list
  self.ready_list = {}
  for _, co in ipairs(woken) do due[#due + 1] = { co, true } end
  for _, d in ipairs(due) do
    if coroutine.status(d[1]) == "suspended" then self:resume(d[1], d[2]) end
  end
  return true
end

-- Runs `co` until it waits again or ends; what it yields is its wait
-- condition (see wait/sleep/pause), recorded for the next round.
function Loop:resume(co, ...)
  self.waits[co] = nil
  local results = { coroutine.resume(co, ...) }
  if coroutine.status(co) == "dead" then
    self.count = self.count - 1
    local cb = self.on_exit[co]
    self.on_exit[co] = nil
    if cb then
      cb(results[1], results[2])
    elseif not results[1] then
      io.stderr:write("vinano-mock: task failed: ", tostring(results[2]), "\n")
    end
  elseif type(results[2]) == "table" and not results[2].signal then
    self.waits[co] = results[2]
  end
end

return M
