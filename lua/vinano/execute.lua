-- One API call from start to answer: the rate limiter, attempts and the
-- waits between them, all inside one deadline (`timeout` is a budget for
-- the whole call, not per attempt), with the hooks.  The transfer itself is
-- the C core's: blocking, stepped in Lua for on_progress, or awaited by a
-- vinano.async task.
local core = require "vinano.core"
local retry = require "vinano.retry"
local progress = require "vinano.progress"

local M = {}

local NO_OPTS = {} -- read only

-- The blocking call of the C core for each API operation.
local SYNC = { generate = "generate", submit = "submit_async", poll = "poll" }
local METHOD = { generate = "POST", submit = "POST", poll = "GET", download = "GET" }

local function scheduler(client)
  local sched = client.scheduler
  return sched and sched.current() and sched or nil
end

-- Sleeps: yields inside a task, else the client's sleep or a blocking one.
function M.sleep(client, seconds)
  if seconds <= 0 then return end
  local sched = scheduler(client)
  if sched then return sched.sleep(seconds) end
  return (client.sleep or core.sleep)(seconds)
end

-- A blocking transfer that reports progress: the core is stepped here, so
-- on_progress runs in Lua between steps, never inside libcurl.
local function with_progress(client, op, arg, arg2, ropts, on_progress)
  local c = client.core
  local req, err = c:start(op, arg, arg2, ropts)
  if not req then return nil, err end
  local watch = progress.watch(on_progress)
  while not req:done() do
    local _, finished = c:step(100)
    if finished and client.scheduler then
      for _, r in ipairs(finished) do
        if r ~= req then client.scheduler.deliver(c, r) end
      end
    end
    local ok, raised = watch:check(req, core.now())
    if not ok then
      req:close()
      return nil, progress.error(raised)
    end
  end
  local res, rerr, info = req:result()
  req:close()
  return res, rerr, info
end

local function transfer(client, op, arg, arg2, ropts, on_progress)
  local sched = scheduler(client)
  if sched then
    local req, err = client.core:start(op, arg, arg2, ropts)
    if not req then return nil, err end
    return sched.await(client.core, req, on_progress and { on_progress = on_progress } or nil)
  end
  if on_progress then return with_progress(client, op, arg, arg2, ropts, on_progress) end
  local c = client.core
  if op == "download" then return c:download(arg, arg2, ropts) end
  return c[SYNC[op]](c, arg, ropts)
end

-- Rate limiter (vinano.ratelimit) calling protocol, for every attempt:
--   1. reserve a slot (limiter:reserve) before anything else; a gate (the
--      first-use probe is in flight, or the server's quota is spent with no
--      known reset) is waited out, then reserve is called again;
--   2. sleep the reserved wait (yields inside a task), then ask
--      limiter:confirm(ticket) and sleep again while it says to (the
--      server's answers meanwhile may have moved the slot later); send
--      right after it says 0, with no yield in between;
--   3. end the attempt with exactly one limiter:observe(ticket, rate_limit)
--      once anything may have reached the server (a response, or a failure
--      after sending), or limiter:cancel(ticket) when nothing was sent.
-- reserve_slot does 1: it returns wait, ticket, or nil when the deadline
-- passed while gated.  A gate is waited for by suspending the task (woken
-- by the gate, or at the deadline); outside a task (alone on the thread) in
-- bounded sleeps of 0.05 s.
local GATE_POLL = 0.05
local function reserve_slot(client, limiter, deadline)
  while true do
    local wait, ticket = limiter:reserve(core.now())
    if wait then return wait, ticket end
    local gate, left = ticket, deadline - core.now()
    if left <= 0 then return nil end
    local sched = scheduler(client)
    if sched then
      sched.suspend(gate, left)
    else
      local open = false
      gate(function() open = true end)
      while not open and core.now() < deadline do
        M.sleep(client, math.min(GATE_POLL, deadline - core.now()))
      end
    end
  end
end

-- Step 3: what the server may have seen of this attempt.
local function settle_slot(limiter, ticket, err, info)
  local now = core.now()
  if not info and err and (err.request_sent == false or err.kind == "invalid_request") then
    return limiter:cancel(ticket, now) -- refused before sending (connect failed, bad file)
  end
  local rate_limit = info and info.rate_limit
  if err and err.kind == "rate_limited" and err.retry_after and not (rate_limit and rate_limit.remaining) then
    rate_limit = { remaining = 0, reset = err.retry_after } -- a 429 without X-RateLimit-*: its Retry-After
  end
  limiter:observe(ticket, rate_limit, now, os.time())
end

local function hook(fn, info)
  if fn then
    local ok, err = pcall(fn, info)
    if not ok then io.stderr:write("vinano: hook raised: ", tostring(err), "\n") end
  end
end

local function finish(t, attempts, started, rate_limit)
  t.attempts = attempts
  t.elapsed = core.now() - started
  t.rate_limit = rate_limit
  return t
end

-- Runs op with retries.  opts: timeout, max_retries, retry_unsafe,
-- on_retry, on_progress, stall (seconds).  Returns res or nil, err.
function M.run(client, op, arg, arg2, opts)
  opts = opts or NO_OPTS
  local started = core.now()
  local budget = opts.timeout or client.timeout
  local deadline = started + budget
  local max_retries = opts.max_retries or client.max_retries
  local unsafe = opts.retry_unsafe
  if unsafe == nil then unsafe = client.retry_unsafe end
  local on_retry = opts.on_retry or client.on_retry
  local limiter = op ~= "download" and client.limiter or nil
  local stall = opts.stall or client.stall_timeout[op]
  local attempt, rate_limit = 0, nil

  while true do
    attempt = attempt + 1
    local ticket -- this attempt's slot of the rate limiter (protocol above)
    if limiter then
      local wait
      wait, ticket = reserve_slot(client, limiter, deadline)
      if not wait then
        return nil, finish(core.error { kind = "timeout", message =
          ("the %g s timeout passed while the rate limiter waited for the server's first answer"):format(budget) },
          attempt - 1, started, rate_limit)
      end
      while wait > 0 do -- until the slot comes; answers meanwhile may move it later
        if core.now() + wait > deadline then
          limiter:cancel(ticket, core.now())
          return nil, finish(core.error { kind = "timeout", message =
            ("the client's rate limit (%d per %g s) needs a %.1f s wait, more than the %g s left of the timeout")
            :format(limiter.limit, limiter.window, wait, deadline - core.now()) }, attempt - 1, started, rate_limit)
        end
        M.sleep(client, wait)
        wait = limiter:confirm(ticket, core.now())
      end
    end
    local left = deadline - core.now()
    if left <= 0 then
      if ticket then limiter:cancel(ticket, core.now()) end
      return nil, finish(core.error { kind = "timeout", message = ("no time left of the %g s timeout"):format(budget) },
        attempt - 1, started, rate_limit)
    end
    if client.on_request then -- the table only when someone looks at it
      hook(client.on_request, { op = op, method = METHOD[op], attempt = attempt,
        url = op == "download" and arg or client.base_url })
    end
    local res, err, info = transfer(client, op, arg, arg2,
      { timeout = math.max(1, math.floor(left * 1000)), stall = stall }, opts.on_progress)
    if ticket then settle_slot(limiter, ticket, err, info) end
    if info then
      if op ~= "download" then client.last = info end
      if info.rate_limit and next(info.rate_limit) then rate_limit = info.rate_limit end
    end
    if client.on_response then
      hook(client.on_response, { op = op, attempt = attempt, status = info and info.status,
        elapsed = core.now() - started, rate_limit = rate_limit, error = err })
    end
    if res then return finish(res, attempt, started, rate_limit) end

    local ok, delay = retry.decide(op, err, attempt, unsafe)
    local why
    if not ok then
      why = nil -- the kind itself says it
    elseif attempt > max_retries then
      ok = false
    elseif err.kind == "rate_limited" and err.retry_after and err.retry_after > retry.MAX_RETRY_AFTER then
      ok, why = false, ("Retry-After of %g s is over the %g s cap; not waited for"):format(err.retry_after,
        retry.MAX_RETRY_AFTER)
    elseif core.now() + delay > deadline then
      ok, why = false, ("the retry wait of %.1f s would overrun the %g s timeout"):format(delay, budget)
    end
    if not ok then
      if why then err.message = err.message .. " (" .. why .. ")" end
      return nil, finish(err, attempt, started, rate_limit)
    end
    if on_retry then on_retry(attempt, err, delay) end
    M.sleep(client, delay)
  end
end

return M
