-- vinano.host.luv: drives vinano from a luv loop (Neovim's vim.uv /
-- vim.loop, or require "luv") without ticking.
--
-- It watches libcurl's own sockets: where the core has a pollset
-- (c:pollset(), Linux's epoll) one uv poll handle on that one descriptor
-- per client, else one uv poll handle per socket that c:sockets() reports;
-- and one uv timer, armed for the soonest of
-- libcurl's timeouts, the scheduler's next timer and, only while an awaited
-- transfer has an on_progress, 100 ms.  On an event: c:action(fd, what),
-- then c:sockets() is read and applied at once (before any other call into
-- that client: the core closes a removed socket only at the next call after
-- it reported the removal, so no handle ever watches a reused fd), the
-- client's finished transfers go to their tasks, and the scheduler runs.
-- Why the pollset: libuv reports a socket in error (a refused connect, a
-- reset) to its poll handle as UV_EBADF, and luv prints that on stderr
-- (over the screen, in a Neovim TUI) before any callback of ours runs.  A
-- member's error only makes the pollset readable.  Any error status a poll
-- handle still gets is handed to libcurl as CURL_CSELECT_ERR.
-- A request the server holds for 10 s costs a handful of wake-ups; an idle
-- editor none (the timer is stopped and the poll handles of idle pooled
-- connections are unref'd, so they do not keep a luv loop alive).
--
-- Fast context (Neovim): luv callbacks may not call most of the Vim API
-- (vim.notify there raises E5560).  Where `vim` exists, every task
-- resumption (and so every callback of client:generate_cb) runs through
-- vim.schedule, on the main loop, where the whole Vim API is allowed;
-- opts.schedule = false opts into running tasks inside the luv callbacks
-- (fewer hops, Lua and vinano calls only), another function replaces
-- vim.schedule.  Without `vim` (plain luv) tasks run in the callbacks.  Task errors nobody joins go to vim.notify (through
-- vim.schedule) unless async.on_error was set, or opts.notify == false.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local M = {}

local function default_sched() return require("vinano.async").default end

local WHAT = { r = "in", w = "out", rw = "inout", wr = "inout" }
local EVENTS = { ["in"] = "r", out = "w", inout = "rw" }

local function events_to_what(err, events)
  if err then return "error" end
  if type(events) ~= "string" then return "inout" end
  local r, w = events:find("r", 1, true), events:find("w", 1, true)
  if r and w then return "inout" end
  if w then return "out" end
  return "in"
end

---Installs the luv driver on a scheduler (the default one), replacing any
---other driver.  `uv`: vim.uv, vim.loop or require "luv" (default: vim's).
---`opts`: `schedule` (function(fn): run tasks through it; default
---vim.schedule where `vim` exists; false: run them inside luv's callbacks,
---Neovim's fast context), `notify` (false: no vim.notify of task errors).  A number as opts
---(the old tick_ms) is accepted and ignored.
---Returns the driver: `{ stats = { timer=, poll=, scheduled= }, timer =,
---is_active = fn, stop = fn }`.
---@param uv table?
---@param opts { schedule: fun(fn: function)|false|nil, notify: boolean? }|number|nil
---@param sched vinano.async.Scheduler?
---@return table driver
function M.install(uv, opts, sched)
  sched = sched or default_sched()
  local vim = rawget(_G, "vim")
  uv = uv or (vim and (vim.uv or vim.loop))
  if not (type(uv) == "table" and uv.new_timer and (uv.new_socket_poll or uv.new_poll)) then
    error("vinano.async.luv: a luv module is needed (vim.uv, vim.loop or require 'luv')", 3)
  end
  if type(opts) ~= "table" then opts = {} end
  if opts.schedule ~= nil and opts.schedule ~= false and type(opts.schedule) ~= "function" then
    error("vinano.async.luv: opts.schedule must be a function such as vim.schedule, or false", 3)
  end
  if sched.host and sched.host.stop then sched.host.stop() end
  local transport = require "vinano.transport"
  local new_poll = uv.new_socket_poll or uv.new_poll
  local schedule = opts.schedule
  if schedule == nil and vim and type(vim.schedule) == "function" then schedule = vim.schedule end
  if schedule == false then schedule = nil end

  local driver = { name = "luv", stats = { timer = 0, poll = 0, scheduled = 0 } }
  local stats = driver.stats
  local timer = uv.new_timer()
  driver.timer = timer
  local watched = {}        -- core client -> { handles = { [fd] = { handle=, events= } }, deadline = uv ms }
  local refd = true         -- poll handles keep the loop alive (while tasks await transfers)
  local inside = false      -- in one of our callbacks: rearm at its end, not on each wake
  local step_pending = false -- schedule mode: a scheduled turn is on its way
  local stopped = false

  local function report(err)
    sched:report(nil, "vinano.async.luv: " .. tostring(err))
  end

  if vim and vim.notify and vim.schedule and opts.notify ~= false then
    driver.on_error = function(_task, err)
      vim.schedule(function()
        vim.notify("vinano: task failed: " .. tostring(err), vim.log and vim.log.levels.ERROR or 4)
      end)
    end
  end

  -- The watch record of a new client: its pollset, watched by one poll
  -- handle for reading, when the core has one.
  local function watch(c)
    local w = { handles = {} }
    local fd = type(c.pollset) == "function" and c:pollset()
    if fd then
      local handle, perr = new_poll(fd)
      if handle then
        w.handles[fd] = { handle = handle, events = "r" }
        if not refd then handle:unref() end
        handle:start("r", function(err) driver.on_pollset(c, err) end)
      else
        -- (out of descriptors?) its transfers still end at libcurl's timeouts, on the timer
        report("uv poll handle for the pollset " .. tostring(fd) .. ": " .. tostring(perr))
      end
    end
    watched[c] = w
    return w
  end

  -- Reads c's socket changes and libcurl's timeout and applies them at once.
  local function apply(c, w)
    local changes, timeout_ms = c:sockets()
    if changes then
      for i = 1, #changes - 1, 2 do
        local fd, what = changes[i], changes[i + 1]
        local h = w.handles[fd]
        if what == "remove" then
          if h then
            w.handles[fd] = nil
            h.handle:stop()
            h.handle:close()
          end
        else
          local ev = EVENTS[what] or "rw"
          if not h then
            local handle, perr = new_poll(fd)
            if not handle then error("uv poll handle for fd " .. tostring(fd) .. ": " .. tostring(perr), 0) end
            h = { handle = handle }
            w.handles[fd] = h
            if not refd then h.handle:unref() end
          end
          if h.events ~= ev then
            h.events = ev
            h.handle:start(ev, function(err, events) driver.on_poll(c, fd, err, events) end)
          end
        end
      end
    end
    if type(timeout_ms) == "number" then
      w.deadline = timeout_ms >= 0 and uv.now() + timeout_ms or nil
    end
  end

  local function forget(c)
    local w = watched[c]
    if not w then return end
    watched[c] = nil
    for fd, h in pairs(w.handles) do
      w.handles[fd] = nil
      h.handle:stop()
      h.handle:close()
    end
  end

  -- A client that raises (closed behind transport's back): its waiters get
  -- cancelled and it is forgotten; anything else is reported.
  local function failed(c, err)
    if c and not pcall(c.running, c) then
      forget(c)
      transport.forget(c)
    else
      report(err)
    end
  end

  local function sync_all()
    for c, w in pairs(watched) do
      local ok, err = pcall(function()
        apply(c, w)
        transport.drain(c) -- also what a re-entrant c:step() from a callback finished
      end)
      if not ok then failed(c, err) end
    end
    local want = transport.pending() > 0
    if want ~= refd then
      refd = want
      for _, w in pairs(watched) do
        for _, h in pairs(w.handles) do
          if want then h.handle:ref() else h.handle:unref() end
        end
      end
    end
  end

  local rearm

  local function scheduled_turn()
    step_pending = false
    if stopped then return end
    stats.scheduled = stats.scheduled + 1
    inside = true
    local ok, err = pcall(function()
      sched:step()
      sync_all()
    end)
    inside = false
    if not ok then report(err) end
    rearm()
  end

  -- Runs the scheduler now, or (schedule mode) asks for a turn on the main loop.
  local function turn()
    transport.check_progress()
    if schedule then
      local d = sched:next_delay()
      if d == 0 and not step_pending then
        step_pending = true
        schedule(scheduled_turn)
      end
      return
    end
    sched:step()
    sync_all()
  end

  rearm = function()
    if stopped then return end
    local delay
    local d = sched:next_delay()
    if d then
      if d == 0 and schedule then
        if not step_pending then
          step_pending = true
          schedule(scheduled_turn)
        end
      else
        delay = math.ceil(d * 1000)
      end
    end
    local now = uv.now()
    for _, w in pairs(watched) do
      if w.deadline then
        local left = w.deadline - now
        if left < 0 then left = 0 end
        if not delay or left < delay then delay = left end
      end
    end
    if transport.watching() then
      local every = math.floor(require("vinano.progress").EVERY * 1000)
      if not delay or every < delay then delay = every end
    end
    if delay then
      -- never 0: libuv before 1.48 runs a timer restarted with 0 ms from a
      -- callback again in the same pass, on that pass's frozen clock and
      -- without polling sockets, so while the timeout reads 0 (a chain of
      -- libcurl's "run now"s, a task ready again) no socket would be read and
      -- no other timer run: with 1 ms the loop polls and its clock moves
      if delay < 1 then delay = 1 end
      timer:start(delay, 0, driver.on_timer)
    elseif timer:is_active() then
      timer:stop()
    end
  end

  -- A poll handle of c fired: act(c) tells libcurl, then c's changes are
  -- applied, its finished transfers delivered and the scheduler run.
  local function woken(c, act)
    stats.poll = stats.poll + 1
    local w = watched[c]
    if not w or stopped then return end
    inside = true
    local ok, perr = pcall(function()
      act(c)
      apply(c, w)
      transport.drain(c)
    end)
    if not ok then failed(c, perr) end
    ok, perr = pcall(turn)
    inside = false
    if not ok then report(perr) end
    rearm()
  end

  function driver.on_poll(c, fd, err, events)
    woken(c, function() c:action(fd, events_to_what(err, events)) end)
  end

  -- the pollset: c:ready() acts on every socket with an event (an error
  -- status here is the set's own, and the sockets' are read from it anyway)
  local function ready(c) c:ready() end
  function driver.on_pollset(c)
    woken(c, ready)
  end

  function driver.on_timer()
    stats.timer = stats.timer + 1
    if stopped then return end
    inside = true
    local now = uv.now()
    for c, w in pairs(watched) do
      if w.deadline and w.deadline <= now + 1 then
        w.deadline = nil
        local ok, err = pcall(function()
          c:action()
          apply(c, w)
          transport.drain(c)
        end)
        if not ok then failed(c, err) end
      end
    end
    local ok, err = pcall(function()
      sync_all() -- clients whose transfers started outside our callbacks
      turn()
    end)
    inside = false
    if not ok then report(err) end
    rearm()
  end

  function driver.wake()
    if inside or stopped then return end
    rearm()
  end

  ---True while the driver would wake the process by itself (its timer is
  ---armed, a scheduled turn is on its way, or poll handles wait for
  ---transfers tasks await).
  function driver.is_active()
    if stopped then return false end
    if timer:is_active() or step_pending then return true end
    if refd then
      for _, w in pairs(watched) do
        if next(w.handles) then return true end
      end
    end
    return false
  end

  function driver.stop()
    if stopped then return end
    stopped = true
    for c in pairs(watched) do forget(c) end
    timer:stop()
    timer:close()
    transport.set_listener(nil)
    if sched.host == driver then sched:set_host(nil) end
  end

  transport.set_listener {
    add = function(c)
      if stopped then return end
      if not watched[c] then watch(c) end
      -- the new transfer's sockets and timeout are read by the sync that
      -- ends our callback, or else by the timer's next turn, right away
      if not inside then timer:start(0, 0, driver.on_timer) end
    end,
    forget = forget,
  }
  sched:set_host(driver)
  -- clients that already have awaited transfers
  for _, c in ipairs(transport.clients()) do
    if not watched[c] then watch(c) end
  end
  rearm()
  if next(watched) then timer:start(0, 0, driver.on_timer) end
  return driver
end

M.events_to_what = events_to_what
M.WHAT = WHAT

return M
