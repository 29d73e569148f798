-- vinano.async: many requests in flight from one Lua thread, no threads.
--
-- A task is a coroutine.  Inside one, the client's calls start a request in
-- the C core and yield; the scheduler steps the core (libcurl's multi
-- interface), and resumes each task whose request finished.  The C core
-- never calls Lua: everything a user gave us (tasks, callbacks) runs here,
-- between steps.
--
-- Who drives:
--   * a plain script: async.run(fn) drives until fn is done, sleeping in
--     curl_multi_poll (no busy loop);
--   * a host with a frame loop (LÖVE): async.spawn(fn) and async.update(0)
--     every frame;
--   * luv / Neovim: async.luv(vim.uv or vim.loop) once, then spawn/run.
local core = require "vinano.core"
local Client = require "vinano.client"
local progress = require "vinano.progress"

local async = {}

local pack = table.pack or function(...) return { n = select("#", ...), ... } end
local unpack = table.unpack or unpack

local tasks = {}   -- coroutine -> task, for every live task
local waiting = {} -- request -> { task=, client=, watch= (progress, if any) }
local watched = {} -- the subset of waiting with an on_progress
local ntasks = 0   -- live tasks
local active = {}  -- core client -> number of its requests that tasks await
local timers = {}  -- { at=, task= }, unordered: few at a time
-- tasks to resume, FIFO: ready_task[ready_head .. ready_tail], each with
-- its resume value (ready_n = 0 or 1) or its packed values (ready_packed)
local ready_task, ready_arg, ready_n, ready_packed = {}, {}, {}, {}
local ready_head, ready_tail = 1, 0
local host = nil   -- nil: run() drives itself; otherwise a table with wake()


-- The error handler of tasks nobody joins (spawned in a host loop).
function async.on_error(_task, err)
  io.stderr:write("vinano.async: task failed: ", tostring(err), "\n")
end

local function wake()
  if host then host.wake() end
end

local function current()
  local co = coroutine.running()
  return co and tasks[co] or nil
end
async.current = current

local function finish(task, ok, ...)
  task.done = true
  tasks[task.co] = nil
  ntasks = ntasks - 1
  if ok then
    task.results = pack(...)
  else
    task.error = ...
  end
  local joiners = task.joiners
  task.joiners = nil
  for _, j in ipairs(joiners) do j(task) end
  if not ok and #joiners == 0 then async.on_error(task, task.error) end
end

-- resume's results go through varargs: no table per resume
local function resumed(task, ok, ...)
  if not ok then
    finish(task, false, debug.traceback(task.co, tostring((...))))
  elseif coroutine.status(task.co) == "dead" then
    finish(task, true, ...)
  end
end

local function resume(task, ...)
  return resumed(task, coroutine.resume(task.co, ...))
end

local function has_ready()
  return ready_tail >= ready_head
end

local function run_ready()
  while ready_head <= ready_tail do
    local i = ready_head
    local task, n, arg, packed = ready_task[i], ready_n[i], ready_arg[i], ready_packed[i]
    ready_task[i], ready_arg[i], ready_n[i], ready_packed[i] = nil, nil, nil, nil
    ready_head = i + 1
    if packed then
      resume(task, unpack(packed, 1, packed.n))
    elseif n == 0 then
      resume(task)
    else
      resume(task, arg)
    end
  end
  ready_head, ready_tail = 1, 0
end

local function schedule(task, ...)
  local n = select("#", ...)
  local i = ready_tail + 1
  ready_tail = i
  ready_task[i], ready_n[i] = task, n
  if n == 1 then
    ready_arg[i] = ...
  elseif n > 1 then
    ready_packed[i] = pack(...)
  end
  wake()
end

-- Starts fn(...) as a task; never blocks.  Returns the task.
function async.spawn(fn, ...)
  if type(fn) ~= "function" then
    error("bad argument #1 to 'spawn' (function expected, got " .. type(fn) .. ")", 2)
  end
  local task = { co = coroutine.create(fn), joiners = {}, done = false }
  tasks[task.co] = task
  ntasks = ntasks + 1
  schedule(task, ...)
  return task
end

local function next_timer_delay(now)
  local soonest
  for _, t in ipairs(timers) do
    if not soonest or t.at < soonest then soonest = t.at end
  end
  return soonest and math.max(0, soonest - now) or nil
end

local function fire_timers(now)
  local i = 1
  while i <= #timers do
    if timers[i].at <= now then
      local t = table.remove(timers, i)
      if t.fn then t.fn() else schedule(t.task) end
    else
      i = i + 1
    end
  end
end

local function report_progress(now)
  for req, w in pairs(watched) do
    local ok, raised = w.watch:check(req, now)
    if not ok then
      -- a broken callback fails its own request, never the others
      req:cancel()
      w.callback_error = raised
      async.deliver(nil, req)
    end
  end
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

-- A finished request goes back to the task that awaits it.
local function deliver(_, req)
  local w = waiting[req]
  if not w then return false end
  waiting[req] = nil
  watched[req] = nil
  local c = w.client
  active[c] = active[c] - 1
  if active[c] == 0 then active[c] = nil end
  schedule(w.task, w.callback_error)
  return true
end
-- for blocking calls that step a client tasks also use
async.deliver = deliver

-- Steps every client that has awaited requests, waiting at most wait_ms
-- (one client: inside curl_multi_poll; several: in short slices).
local function drive(wait_ms)
  local n = count(active)
  if n == 0 then
    if wait_ms > 0 then core.sleep(wait_ms / 1000) end
    return
  end
  local per = n == 1 and wait_ms or 0
  local finished_any = false
  for c in pairs(active) do
    local _, finished = c:step(per)
    if finished then
      for _, req in ipairs(finished) do
        if deliver(c, req) then finished_any = true end
      end
    end
  end
  if n > 1 and not finished_any and wait_ms > 0 then core.sleep(math.min(wait_ms, 2) / 1000) end
end

-- One turn of the loop: advance transfers (waiting at most budget_ms, 0 =
-- never wait), fire due timers, resume tasks.  Returns the number of live
-- tasks.  Hosts call it each frame.
function async.update(budget_ms)
  budget_ms = budget_ms or 0
  if has_ready() then budget_ms = 0 end
  local delay = next_timer_delay(core.now())
  if delay then budget_ms = math.min(budget_ms, math.ceil(delay * 1000)) end
  drive(budget_ms)
  local now = core.now()
  report_progress(now)
  fire_timers(now)
  run_ready()
  return ntasks
end

-- True while anything is in flight, scheduled or sleeping.
function async.busy()
  return next(active) ~= nil or has_ready() or #timers > 0
end

local function drive_until(task)
  while not task.done do
    if not async.busy() then
      error("vinano.async: the task waits on something no one will deliver", 3)
    end
    async.update(1000)
  end
end

-- Runs fn(...) as a task.  In a plain script it drives the loop until fn is
-- done and returns what fn returned (a task error is raised again).  With a
-- host driver installed, or inside a task, it only starts fn and returns
-- the task.
function async.run(fn, ...)
  local task = async.spawn(fn, ...)
  if host or current() then return task end
  local errored
  task.joiners[1] = function(t) errored = t.error end
  drive_until(task)
  if errored then error(errored, 0) end
  return unpack(task.results, 1, task.results.n)
end

-- Waits until task is done, without raising: yields inside a task, drives
-- the loop outside.  (No pcall around a yield: PUC Lua 5.1 cannot yield
-- across it.)
local function await_done(task)
  if task.done then return end
  local me = current()
  if me then
    task.joiners[#task.joiners + 1] = function() schedule(me) end
    coroutine.yield()
  else
    task.joiners[#task.joiners + 1] = function() end
    drive_until(task)
  end
end

-- Waits for a task and returns its results, or raises its error.
function async.join(task)
  await_done(task)
  if task.error then error(task.error, 0) end
  return unpack(task.results, 1, task.results.n)
end

-- Sleeps s seconds: yields inside a task, blocks outside.
function async.sleep(s)
  local me = current()
  if not me then return core.sleep(s) end
  timers[#timers + 1] = { at = core.now() + s, task = me }
  wake()
  coroutine.yield()
end

-- Suspends the current task until something else resumes it: register is
-- called with a function resume() that wakes the task (once; later calls do
-- nothing; it may be called from anywhere, even before register returns).
-- With timeout (seconds) the task also wakes by itself after that long.
-- Returns true when resumed, false on timeout.  Inside a task only.
function async.suspend(register, timeout)
  local me = current()
  if not me then error("vinano.async.suspend: not inside a task", 2) end
  local woken, timer = false, nil
  local function wake_with(value)
    if woken then return end
    woken = true
    if timer then
      for i, t in ipairs(timers) do
        if t == timer then table.remove(timers, i) break end
      end
    end
    schedule(me, value)
  end
  if timeout then
    timer = { at = core.now() + math.max(0, timeout), fn = function() timer = nil; wake_with(false) end }
    timers[#timers + 1] = timer
  end
  register(function() wake_with(true) end)
  wake()
  return coroutine.yield()
end

-- Runs the functions concurrently; returns the first value of each, in
-- order, once all are done.  If one raised, raises its error after all end.
function async.all(fns)
  if type(fns) ~= "table" then
    error("bad argument #1 to 'all' (table of functions expected, got " .. type(fns) .. ")", 2)
  end
  if not current() then return async.run(async.all, fns) end
  local children = {}
  for i, f in ipairs(fns) do
    children[i] = async.spawn(f)
    children[i].joiners[1] = function() end -- joined below: no on_error report
  end
  local results, first_error = {}, nil
  for i, child in ipairs(children) do
    await_done(child)
    if child.error then
      first_error = first_error or child.error
    else
      results[i] = child.results[1]
    end
  end
  if first_error then error(first_error, 0) end
  return unpack(results, 1, #fns)
end

-- The client's hook: inside a task, start the request and yield until the
-- scheduler sees it finish.
function async.await(core_client, req, opts)
  local me = current()
  local on_progress = opts and opts.on_progress
  local w = { task = me, client = core_client, watch = on_progress and progress.watch(on_progress) }
  waiting[req] = w
  if w.watch then watched[req] = w end
  active[core_client] = (active[core_client] or 0) + 1
  wake()
  local callback_error = coroutine.yield()
  local res, err, info = req:result()
  req:close()
  if callback_error ~= nil then
    return nil, progress.error(callback_error), info
  end
  return res, err, info
end

-- Installs a driver for a host loop that calls async.update itself (LÖVE):
-- after this, run() only starts tasks.
function async.host()
  host = { wake = function() end }
end

-- Drives vinano from a luv loop (Neovim's vim.uv / vim.loop, or luv): a
-- one-shot timer armed only while something is pending, so an idle editor
-- does no work.  While transfers are in flight it ticks every tick_ms.
function async.luv(uv, tick_ms)
  local vim = rawget(_G, "vim")
  uv = uv or (vim and (vim.uv or vim.loop))
  assert(uv and uv.new_timer, "vinano.async.luv: a luv module is needed (vim.uv, vim.loop or require 'luv')")
  async.stop_driver()
  tick_ms = tick_ms or 5
  local timer = uv.new_timer()
  local armed, due = false, nil -- due: the loop time (ms) the armed timer fires at
  local tick
  local function arm()
    if not async.busy() then return end
    local delay = 0
    if not has_ready() then
      delay = next(active) and tick_ms or math.ceil((next_timer_delay(core.now()) or 0) * 1000)
    end
    local at = uv.now() + delay
    if armed and due <= at then return end -- already fires soon enough
    armed, due = true, at
    timer:start(delay, 0, tick) -- restarting moves an armed timer earlier for new work
  end
  tick = function()
    armed = false
    local ok, err = pcall(async.update, 0)
    arm() -- pending work goes on even if this turn raised
    if not ok then error(err, 0) end
  end
  host = { wake = arm, timer = timer }
  arm()
  return timer
end

-- Removes the host driver (and stops the luv timer).
function async.stop_driver()
  if host and host.timer then
    host.timer:stop()
    if host.timer.close then host.timer:close() end
  end
  host = nil
end

Client.scheduler = async
return async
