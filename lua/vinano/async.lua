-- vinano.async: the scheduler.  Many tasks (coroutines) in one Lua thread,
-- no threads, no I/O here.
--
-- A task waits in exactly one way: async.suspend(register).  The task
-- yields; register(resume) is called with a one-shot resume(...) that makes
-- the task ready again with those values; register may return a cancel
-- function, called if the task is cancelled while it waits.  sleep, join and
-- the transfers of vinano.transport are all built on it.  The scheduler
-- never touches the C core: who waits for sockets is a host driver's job
-- (vinano/host/*.lua), and run() borrows the blocking one.
--
-- Who drives:
--   * a plain script: async.run(fn) drives until fn is done and returns
--     its results (vinano.host.blocking: it sleeps in the core's wait, or
--     until the next timer; it never spins);
--   * a frame loop (LÖVE): async.spawn(fn), and async.update(0) every frame
--     (vinano.host.frame: never waits when given 0);
--   * luv / Neovim: async.luv(vim.uv or vim.loop) once, then spawn
--     (vinano.host.luv: uv poll handles on libcurl's sockets + one uv timer).
--
-- Every function of this module works on one default scheduler;
-- async.new_scheduler{ now = clock } makes another (specs use a fake clock).
local pack = table.pack or function(...) return { n = select("#", ...), ... } end
local unpack = table.unpack or unpack

local async = {}

---A coroutine task of vinano.async (spawn, run, the client's `_cb` methods).
---@class vinano.AsyncTask
---@field done boolean      true once the function returned or raised
---@field results table?    packed results (with .n) when it returned
---@field error any         what it raised (a cancelled task: an error of kind "cancelled")
---@field cancelled boolean cancel() was called on it

---A scheduler.  Its methods are semi-public: the module's functions
---(async.spawn, ...) are these methods on the default scheduler
---(`async.default`); another one, from async.new_scheduler, is for custom
---drivers and for specs with a fake clock.
---@class vinano.async.Scheduler
---@field on_error fun(task: vinano.AsyncTask, err: any)? the handler of failures nobody joins (nil: the default)
local Scheduler = {}
Scheduler.__index = Scheduler

-- The value a cancelled wait resumes with: suspend turns it into an error.
local CANCELLED = setmetatable({}, { __tostring = function() return "vinano.async.CANCELLED" end })

local CancelledError = {}
CancelledError.__index = CancelledError
CancelledError.__tostring = function(e) return e.message end

---An error of kind "cancelled" (what a cancelled task sees).
---@param message string?
---@return table err `{ kind = "cancelled", message = ... }`
function async.cancelled_error(message)
  return setmetatable({ kind = "cancelled", message = message or "vinano.async: the task was cancelled" },
    CancelledError)
end

local function is_cancelled(err)
  return type(err) == "table" and err.kind == "cancelled"
end

local function default_report(_task, err)
  io.stderr:write("vinano.async: task failed: ", tostring(err), "\n")
end

local function check_seconds(s, fname)
  if type(s) ~= "number" then
    error(("bad argument #1 to '%s' (number expected, got %s)"):format(fname, type(s)), 3)
  end
  if s ~= s or s < 0 or s == math.huge then
    error(("bad argument #1 to '%s' (a finite number of seconds >= 0 expected, got %s)"):format(fname, tostring(s)), 3)
  end
end

---Makes a scheduler.  The module's functions use one default instance.
---@param opts { now: (fun(): number)?, wait: (fun(sched: vinano.async.Scheduler, seconds: number?): boolean)? }?
--- `now`: a monotonic clock in seconds (default: the core's, through vinano.host.blocking);
--- `wait(sched, seconds)`: how run/join block outside a task: wait at most `seconds` (nil: no timer)
--- for something to make a task ready; return false when nothing ever could (default: vinano.host.blocking).
---@return vinano.async.Scheduler
function async.new_scheduler(opts)
  opts = opts or {}
  return setmetatable({
    _now = opts.now,
    _wait = opts.wait,
    tasks = {},      -- coroutine -> task, live tasks
    live = 0,
    external = 0,    -- tasks suspended on a wait a driver must deliver (not sleep, not join)
    -- ready FIFO: task, number of values, the value (n == 1) or packed values (n > 1)
    rq_task = {}, rq_n = {}, rq_v = {}, head = 1, tail = 0,
    heap = {},       -- timers: { at=, seq=, task=, token= } min-heap on (at, seq)
    seq = 0,
    stepping = false,
    driving = 0,     -- run/join loops in progress
    host = nil,      -- the installed host driver: { wake=, on_error=, name= }
    on_error = nil,
  }, Scheduler)
end

---The scheduler's monotonic clock, in seconds.
---@return number
function Scheduler:now()
  local now = self._now
  if not now then
    now = require("vinano.host.blocking").now
    self._now = now
  end
  return now()
end

---The task running now, or nil outside a task of this scheduler.
---@return vinano.AsyncTask?
function Scheduler:current()
  local co = coroutine.running()
  return co and self.tasks[co] or nil
end

---Reports the failure of a task nobody joins: the scheduler's on_error,
---else (the default scheduler) async.on_error when it was replaced, else
---the host driver's, else stderr.  A raising handler is written to stderr.
---@param task vinano.AsyncTask|nil
---@param err any
---@return nil
function Scheduler:report(task, err)
  local handler = self.on_error
  if self == async.default and async.on_error ~= default_report then handler = async.on_error end
  if not handler and self.host and self.host.on_error then handler = self.host.on_error end
  local ok, herr = pcall(handler or default_report, task, err)
  if not ok then io.stderr:write("vinano.async: on_error raised: ", tostring(herr), "\n") end
end

-- ready queue -------------------------------------------------------------

function Scheduler:_ready(task, ...)
  local n = select("#", ...)
  local i = self.tail + 1
  self.tail = i
  self.rq_task[i], self.rq_n[i] = task, n
  if n == 1 then
    self.rq_v[i] = ...
  elseif n > 1 then
    self.rq_v[i] = pack(...)
  end
  local host = self.host
  if host and host.wake and not self.stepping then host.wake() end
end

---True when a task is ready to run.
---@return boolean
function Scheduler:has_ready()
  return self.tail >= self.head
end

-- timers: a binary min-heap on (at, seq) ---------------------------------

local function before(a, b)
  return a.at < b.at or (a.at == b.at and a.seq < b.seq)
end

function Scheduler:_push_timer(t)
  local heap = self.heap
  local i = #heap + 1
  heap[i] = t
  while i > 1 do
    local p = (i - i % 2) / 2
    if before(heap[i], heap[p]) then
      heap[i], heap[p] = heap[p], heap[i]
      i = p
    else
      break
    end
  end
end

function Scheduler:_pop_timer()
  local heap = self.heap
  local n = #heap
  local top = heap[1]
  heap[1] = heap[n]
  heap[n] = nil
  n = n - 1
  local i = 1
  while true do
    local l, r, m = 2 * i, 2 * i + 1, i
    if l <= n and before(heap[l], heap[m]) then m = l end
    if r <= n and before(heap[r], heap[m]) then m = r end
    if m == i then break end
    heap[i], heap[m] = heap[m], heap[i]
    i = m
  end
  return top
end

-- the soonest live timer (dead ones, of cancelled sleeps, are dropped)
function Scheduler:_top_timer()
  local heap = self.heap
  while heap[1] and heap[1].dead do self:_pop_timer() end
  return heap[1]
end

---The clock time of the soonest timer (a sleeping task), or nil.
---@return number?
function Scheduler:next_deadline()
  local t = self:_top_timer()
  return t and t.at or nil
end

---Seconds until the scheduler next has something to do by itself: 0 when a
---task is ready, the time to the soonest timer, or nil (only outside events
---can make work).
---@return number?
function Scheduler:next_delay()
  if self:has_ready() then return 0 end
  local at = self:next_deadline()
  if not at then return nil end
  local d = at - self:now()
  return d > 0 and d or 0
end

---True while a task is ready, sleeping, or waiting on a driver's delivery.
---@return boolean
function Scheduler:busy()
  return self:has_ready() or self:_top_timer() ~= nil or self.external > 0
end

-- tasks -------------------------------------------------------------------

local function finish(self, task, ok, ...)
  task.done = true
  task.wait = nil
  self.tasks[task.co] = nil
  self.live = self.live - 1
  if ok then
    task.results = pack(...)
  else
    task.error = ...
  end
  local joiners = task.joiners
  task.joiners = nil
  for i = 1, #joiners do joiners[i](task) end
  if not ok and #joiners == 0 and not task.joined and not is_cancelled(task.error) then
    self:report(task, task.error)
  end
end

local function resumed(self, task, ok, ...)
  if not ok then
    local err = ...
    if type(err) ~= "table" then err = debug.traceback(task.co, tostring(err)) end
    return finish(self, task, false, err)
  end
  if coroutine.status(task.co) == "dead" then return finish(self, task, true, ...) end
  if not task.wait then
    -- it yielded, but not through async.suspend: nobody would ever resume it
    local co = task.co
    finish(self, task, false, debug.traceback(co,
      "vinano.async: a task yielded without async.suspend (coroutine.yield inside a vinano.async task"
      .. " is not supported: use async.suspend, async.sleep or async.join)"))
  end
end

local function resume(self, task, ...)
  task.started = true
  return resumed(self, task, coroutine.resume(task.co, ...))
end

---Starts fn(...) as a task; never blocks, never runs fn before returning.
---@param fn function
---@param ... any fn's arguments
---@return vinano.AsyncTask
function Scheduler:spawn(fn, ...)
  if type(fn) ~= "function" then
    error("bad argument #1 to 'spawn' (function expected, got " .. type(fn) .. ")", 2)
  end
  local task = { co = coroutine.create(fn), joiners = {}, done = false, cancelled = false, sched = self }
  self.tasks[task.co] = task
  self.live = self.live + 1
  self:_ready(task, ...)
  return task
end

---The await interface: the current task yields; register(resume) is called
---with a one-shot resume(...) that makes the task ready with those values
---(they become suspend's results; a second call returns false and does
---nothing).  register may return a cancel function, called (once) if the
---task is cancelled while it waits: it may resume with a value of its own
---(a transfer's `{cancelled = true}` facts); otherwise suspend raises an
---error of kind "cancelled".  A task already cancelled raises at once.
---@param register fun(resume: fun(...): boolean): (fun())?
---@param internal boolean? true for the scheduler's own waits (sleep, join): they do not count as waiting on a driver
---@return any ... what resume was given
function Scheduler:suspend(register, internal)
  local me = self:current()
  if not me then error("vinano.async.suspend: not inside a vinano.async task", 2) end
  if me.cancelled then error(async.cancelled_error(), 0) end
  local wait = { internal = internal }
  local fired, sync
  local function resume_fn(...)
    if fired or me.wait ~= wait then return false end
    fired = true
    me.wait = nil
    if not wait.internal then self.external = self.external - 1 end
    if coroutine.running() == me.co then
      sync = pack(...) -- resumed before it yielded: no trip through the queue
    else
      self:_ready(me, ...)
    end
    return true
  end
  me.wait = wait
  if not internal then self.external = self.external + 1 end
  local ok, cancel = pcall(register, resume_fn)
  if not ok then
    if not fired then
      me.wait = nil
      if not internal then self.external = self.external - 1 end
    end
    error(cancel, 0)
  end
  if sync then return unpack(sync, 1, sync.n) end
  if not fired then wait.cancel = cancel end
  wait.resume = resume_fn
  return self:_after_yield(coroutine.yield())
end

function Scheduler._after_yield(_, first, ...)
  if first == CANCELLED then error(async.cancelled_error(), 0) end
  return first, ...
end

---Sleeps s seconds inside a task (other tasks run meanwhile).  Outside a
---task it drives the scheduler for s seconds (blocking).  Raises on a
---negative, NaN or infinite s.
---@param s number seconds
---@return nil
function Scheduler:sleep(s)
  check_seconds(s, "sleep")
  if not self:current() then
    return self:run(function() self:sleep(s) end)
  end
  local me = self:current()
  self.seq = self.seq + 1
  local t = { at = self:now() + s, seq = self.seq, task = me }
  self:suspend(function(wake)
    t.resume = wake
    self:_push_timer(t)
    local host = self.host
    if host and host.wake and not self.stepping then host.wake() end
    return function() t.dead = true end
  end, true)
end

-- Waits until task is done without raising its error.
function Scheduler:_await_done(task)
  if task.done then return end
  if self:current() then
    local mark
    self:suspend(function(wake)
      mark = function() wake() end
      task.joiners[#task.joiners + 1] = function() if mark then mark() end end
      return function() mark = nil end
    end, true)
  else
    task.joined = true
    self:_drive_until(task)
  end
end

---Waits for task and returns its results, or raises its error (yields
---inside a task, drives the scheduler outside).
---@param task vinano.AsyncTask
---@return any ...
function Scheduler:join(task)
  if type(task) ~= "table" or task.co == nil then
    error("bad argument #1 to 'join' (task expected, got " .. type(task) .. ")", 2)
  end
  task.joined = true
  self:_await_done(task)
  if not task.results then error(task.error, 0) end
  return unpack(task.results, 1, task.results.n)
end

---Runs the functions concurrently; returns the first value of each, in
---order, once all are done.  If any raised, raises the first error (in
---list order) after all have ended.  Outside a task: run(all, fns).
---@param fns function[]
---@return any ...
function Scheduler:all(fns)
  if type(fns) ~= "table" then
    error("bad argument #1 to 'all' (table of functions expected, got " .. type(fns) .. ")", 2)
  end
  if not self:current() then return self:run(function() return self:all(fns) end) end
  local children = {}
  for i = 1, #fns do
    children[i] = self:spawn(fns[i])
    children[i].joined = true
  end
  local results, first_error = {}, nil
  for i = 1, #children do
    local child = children[i]
    self:_await_done(child)
    if child.results then
      results[i] = child.results[1]
    elseif first_error == nil then
      first_error = child.error
    end
  end
  if first_error ~= nil then error(first_error, 0) end
  return unpack(results, 1, #fns)
end

---Cancels a task: if it waits, its wait's cancel function runs (an awaited
---transfer is cancelled and the task gets its cancelled result) or the wait
---raises an error of kind "cancelled"; every later wait of the task raises
---that error; a task not started yet never starts.  Cancelling the current
---task raises the error at once.  Returns false for a finished task.
---@param task vinano.AsyncTask
---@return boolean
function Scheduler:cancel(task)
  if type(task) ~= "table" or task.co == nil then
    error("bad argument #1 to 'cancel' (task expected, got " .. type(task) .. ")", 2)
  end
  if task.done then return false end
  task.cancelled = true
  if task == self:current() then error(async.cancelled_error(), 0) end
  local wait = task.wait
  if wait then
    if wait.cancel then
      local ok, err = pcall(wait.cancel)
      if not ok then io.stderr:write("vinano.async: a cancel function raised: ", tostring(err), "\n") end
    end
    if task.wait == wait then -- the cancel function did not resume it
      wait.resume(CANCELLED)
    end
  end
  return true
end

-- driving -----------------------------------------------------------------

---One turn: fires due timers, then resumes the tasks that were ready when
---the turn began (tasks made ready meanwhile run next turn).  Drivers call
---it after delivering I/O.  Returns the number of live tasks.
---@return integer
function Scheduler:step()
  if self.stepping then error("vinano.async: the scheduler was stepped from inside its own step", 2) end
  self.stepping = true
  local heap = self.heap
  if heap[1] then
    local now = self:now()
    while heap[1] and heap[1].at <= now do
      local t = self:_pop_timer()
      if not t.dead then t.resume() end
    end
  end
  local last = self.tail
  local rq_task, rq_n, rq_v = self.rq_task, self.rq_n, self.rq_v
  local ok, err = pcall(function()
    while self.head <= last do
      local i = self.head
      local task, n, v = rq_task[i], rq_n[i], rq_v[i]
      rq_task[i], rq_n[i], rq_v[i] = nil, nil, nil
      self.head = i + 1
      if task.done then -- luacheck: ignore 542
      elseif task.cancelled and not task.started then
        finish(self, task, false, async.cancelled_error())
      elseif n == 0 then
        resume(self, task)
      elseif n == 1 then
        resume(self, task, v)
      else
        resume(self, task, unpack(v, 1, v.n))
      end
    end
  end)
  if self.head > self.tail then self.head, self.tail = 1, 0 end
  self.stepping = false
  if not ok then error(err, 0) end
  return self.live
end

-- The blocking wait run/join use outside a task.
function Scheduler:_block(seconds)
  local wait = self._wait
  if not wait then
    wait = require("vinano.host.blocking").wait
    self._wait = wait
  end
  return wait(self, seconds)
end

function Scheduler:_drive_until(task)
  if self.stepping then
    error("vinano.async: cannot wait for a task from inside the scheduler's turn (an on_error handler or a"
      .. " callback outside a task): spawn a task instead", 3)
  end
  self.driving = self.driving + 1
  local ok, err = pcall(function()
    while not task.done do
      self:step()
      if task.done then break end
      if not self:has_ready() then
        if not self:_block(self:next_delay()) and not self:has_ready() and not task.done then
          error("vinano.async.run: the task waits on something nothing will deliver (no timer, no transfer"
            .. " in flight)", 0)
        end
      end
    end
  end)
  self.driving = self.driving - 1
  if not ok then error(err, 0) end
end

---Runs fn(...) until it is done and returns its results; raises what it
---raised.  Outside a task it spawns fn and drives this scheduler (and every
---other task) with the blocking driver until fn is done, whatever host
---driver is installed (so it blocks the host: in Neovim or LÖVE use spawn).
---Inside a task it simply calls fn(...) in that task (its waits yield).
---It never returns a task.
---@param fn function
---@param ... any fn's arguments
---@return any ...
function Scheduler:run(fn, ...)
  if type(fn) ~= "function" then
    error("bad argument #1 to 'run' (function expected, got " .. type(fn) .. ")", 2)
  end
  if self:current() then return fn(...) end
  local task = self:spawn(fn, ...)
  task.joined = true
  self:_drive_until(task)
  if not task.results then error(task.error, 0) end
  return unpack(task.results, 1, task.results.n)
end

---True when something will drive a task spawned now: inside a task, while
---run/join drive, or with a host driver installed.
---@return boolean
function Scheduler:driven()
  return self.host ~= nil or self.driving > 0 or self:current() ~= nil
end

async.NO_DRIVER = "vinano: no vinano driver is running: call async.luv(vim.uv or vim.loop) (Neovim, luv),"
  .. " use async.update in your frame loop (LÖVE), or wrap the call in async.run(function() ... end)"

---What the callback variants (client:generate_cb ...) call: starts fn() as a
---task whose results go to cb(...).  Raises NO_DRIVER when nothing will
---ever drive the task (no host driver, not in a task, not inside run): a
---callback call is never silently dropped and never silently blocks.
---@param fn fun(): ...
---@param cb fun(...)
---@return vinano.AsyncTask
function Scheduler:spawn_cb(fn, cb)
  if type(fn) ~= "function" then error("bad argument #1 to 'spawn_cb' (function expected)", 2) end
  if type(cb) ~= "function" then error("bad argument #2 to 'spawn_cb' (callback function expected)", 2) end
  if not self:driven() then error(async.NO_DRIVER, 2) end
  return self:spawn(function() return cb(fn()) end)
end

---Installs (or with nil removes) the host driver: `host.wake()` is called
---when a task becomes ready or a timer is added outside a turn;
---`host.on_error(task, err)` reports failures when no on_error was set.
---@param host vinano.HostDriver?
---@return nil
function Scheduler:set_host(host)
  self.host = host
end

-- the default scheduler and the module's functions ------------------------

local default = async.new_scheduler()
async.default = default

---The handler of failures of tasks nobody joins; set it to your own
---function (the default writes to stderr; under async.luv in Neovim,
---vim.notify through vim.schedule).
async.on_error = default_report
async.default_on_error = default_report

for _, name in ipairs { "spawn", "run", "join", "all", "sleep", "cancel", "current", "suspend", "step",
  "next_deadline", "next_delay", "busy", "spawn_cb", "driven", "has_ready" } do
  local method = Scheduler[name]
  async[name] = function(...) return method(default, ...) end
end
async.Scheduler = Scheduler

-- The host drivers, re-exported under their old names.

---Installs the frame-loop driver (LÖVE): after this, call async.update(0)
---every frame.  Returns the driver.
---@return vinano.HostDriver
function async.host()
  return require("vinano.host.frame").install(default)
end

---One frame: advance transfers (waiting at most budget_ms; 0 never waits),
---fire timers, resume tasks.  Returns the number of live tasks.
---@param budget_ms number?
---@return integer
function async.update(budget_ms)
  return require("vinano.host.frame").update(budget_ms, default)
end

---Drives vinano from a luv loop (Neovim: vim.uv / vim.loop).  opts:
---`schedule` (the function tasks resume through: default vim.schedule
---where `vim` exists, so tasks run on the main loop; false: inside luv's
---callbacks, Neovim's fast context), `notify` (false: no vim.notify of task
---errors).  Returns the driver.
---@param uv table? vim.uv, vim.loop or require "luv" (default: vim's)
---@param opts { schedule: fun(fn: function)|false|nil, notify: boolean? }?
---@return vinano.HostDriver
function async.luv(uv, opts)
  return require("vinano.host.luv").install(uv, opts, default)
end

---The installed host driver's name ("luv" or "frame"), or nil when none is
---installed (a plain script: async.run drives with the blocking loop).
---@return string|nil
function async.driver()
  local host = default.host
  return host and host.name or nil
end

---Removes the installed host driver (and closes the luv handles).
---@return nil
function async.stop_driver()
  local host = default.host
  if host and host.stop then host.stop() end
  default.host = nil
end

return async
