-- One API call from start to answer: the rate limiter, the attempts and the
-- waits between them, all inside one deadline (`timeout` is a budget for
-- the whole call, not per attempt), and the hooks.  Every attempt goes
-- through the one transfer path (transport.perform) and the one reading of
-- answers (response.classify).
-- vinano: internal (not part of the public API; see docs/architecture.md)
local core = require "vinano.core"
local errors = require "vinano.errors"
local response = require "vinano.response"
local retry = require "vinano.retry"
local transport = require "vinano.transport"

local M = {}

local NO_OPTS = {} -- read only
local GATE_SLICE = 0.05 -- a blocking caller re-checks a closed limiter gate this often

local METHOD = { generate = "POST", submit = "POST", poll = "GET", download = "GET", fetch = "GET" }

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

--- The error of a user callback that raised: it fails only its own call.
---@param name string the callback's name (on_retry, on_poll, ...)
---@param raised any what it raised
---@param fields? table extra fields
---@return vinano.Error
function M.callback_error(name, raised, fields)
  return errors.new("callback", name .. " raised: " .. tostring(raised), fields)
end
local callback_error = M.callback_error

-- The rate limiter's calling protocol (vinano.ratelimit), for every attempt:
--   1. reserve a slot before anything else; a gate (the first-use probe is
--      in flight, or the server's quota is spent with no known reset) is
--      waited out, then reserve is called again;
--   2. sleep the reserved wait (yields inside a task), then ask confirm and
--      sleep again while it says to (answers meanwhile may move the slot
--      later); send right after it says 0, with no yield in between;
--   3. end the attempt with exactly one observe (anything may have reached
--      the server) or cancel (nothing was sent).
--
-- A call is a small machine (M.start), so that one place holds the
-- attempts, the limiter protocol, the deadline, the hooks and the retries,
-- whoever drives it: M.run (one call: blocking, or yielding inside a task)
-- or a driver of many calls on the core directly (client:generate_many).
-- call:next() says what the call needs now:
--   "send", spec      start this transfer now (no yield before it), then
--                     give its facts to call:settle(facts, raised)
--   "sleep", seconds  wait, then call next() again
--   "gate", gate      wait until gate(open_fn) calls back (or the deadline), then next()
--   "done", res, err  the call's outcome
local Call = {}
Call.__index = Call

-- Step 3: what the server may have seen of this attempt.
local function settle(limiter, ticket, facts, err, info)
  local now = core.now()
  if facts.request_sent == false or (facts.cancelled and not facts.request_sent) then
    return limiter:cancel(ticket, now) -- never reached the server: the slot is free again
  end
  local rate_limit = info and info.rate_limit
  if err and err.kind == "rate_limited" and err.retry_after and not (rate_limit and rate_limit.remaining) then
    rate_limit = { remaining = 0, reset = err.retry_after } -- a 429 without X-RateLimit-*: its Retry-After
  end
  limiter:observe(ticket, rate_limit, now, os.time())
end

---Per-call options of generate, submit_async, poll, download and fetch
---(each overrides the client's option of the same meaning for this call).
---@class vinano.CallOptions
---@field timeout? number seconds for the whole call, retries and waits included (default: the client's)
---@field max_retries? integer (default: the client's)
---@field retry_unsafe? boolean (default: the client's)
---@field on_retry? fun(attempt: integer, err: vinano.Error, delay: number) (default: the client's); a raise fails the call (kind "callback")
---@field on_progress? fun(sent: number, total_up: number, received: number, total_down: number) at most every 0.1 s, when a counter moved; a raise cancels the request (kind "callback")
---@field stall? number poll, download, fetch: seconds with no byte moved before a `timeout` (default: the client's stall_timeout)
---@field on_send? fun(attempt: integer) called right before an attempt's request leaves (after the rate limiter's wait); a raise sends nothing and fails the call with kind "callback"
---@field max_credits? number generate, submit_async: refuse the request when its estimate is higher (default: the client's)

---What the on_request hook gets, before each attempt (never the token).
---@class vinano.RequestInfo
---@field op "generate"|"submit"|"poll"|"download"|"fetch"
---@field method "GET"|"POST"
---@field attempt integer
---@field url string

---What the on_response hook gets, after each attempt.
---@class vinano.ResponseInfo
---@field op "generate"|"submit"|"poll"|"download"|"fetch"
---@field attempt integer
---@field status? integer HTTP status (nil: no response)
---@field elapsed number seconds since the call started
---@field rate_limit? vinano.RateLimit the last snapshot the server sent in this call
---@field error? vinano.Error this attempt's error

--- Starts one operation with retries (nothing is sent until next() says
--- "send").  `build(left)` returns the transfer spec for an attempt with
--- `left` seconds of budget.
---@param client vinano.Client the Lua client
---@param op string generate | submit | poll | download | fetch
---@param build fun(left: number): table
---@param opts? vinano.CallOptions
---@return table call
function M.start(client, op, build, opts)
  opts = opts or NO_OPTS
  local started = core.now()
  -- seventeen fields, all named here: the table is made once at its size
  -- (it is also response.classify's context: op, max_response, unix_now
  -- (false: classify asks os.time() only when a Retry-After date needs it),
  -- core for the redaction of server text)
  return setmetatable({
    client = client, op = op, build = build, opts = opts, started = started,
    deadline = started + (opts.timeout or client.timeout),
    limiter = op ~= "download" and op ~= "fetch" and client.limiter or nil,
    attempt = 0, phase = "begin", ticket = false, wait = 0, rate_limit = false,
    max_response = client.max_response, unix_now = false, res = false, err = false, core = client.core,
  }, Call)
end

local function budget(self) return self.opts.timeout or self.client.timeout end
local function is_api(op) return op ~= "download" and op ~= "fetch" end

--- Ends the call with its outcome (finished with attempts, elapsed, rate_limit).
---@param res table|nil
---@param err vinano.Error|nil
---@param attempts integer
---@return string what "done"
---@return table|nil res
---@return vinano.Error|nil err
function Call:done(res, err, attempts)
  self.phase = "done"
  local rl = self.rate_limit or nil
  self.res = res and finish(res, attempts, self.started, rl)
  self.err = err and finish(err, attempts, self.started, rl)
  return "done", self.res or nil, self.err or nil
end

---@return string what "send" | "sleep" | "gate" | "done"
---@return any a the spec, the seconds, the gate or res
---@return any b err (done)
function Call:next()
  local limiter = self.limiter
  if self.phase == "done" then return "done", self.res or nil, self.err or nil end
  if self.phase == "begin" then
    self.attempt = self.attempt + 1
    self.phase = "reserve"
  end
  if self.phase == "reserve" then
    if limiter then
      local now = core.now()
      local wait, ticket = limiter:reserve(now)
      if not wait then
        if now >= self.deadline then
          return self:done(nil, errors.new("timeout", ("the %g s timeout passed while the rate limiter waited for"
            .. " the server's first answer"):format(budget(self))), self.attempt - 1)
        end
        return "gate", ticket
      end
      self.ticket, self.wait = ticket, wait
    else
      self.wait = 0
    end
    self.phase = "confirm"
  elseif self.phase == "confirm" then -- back from the reserved wait
    self.wait = limiter:confirm(self.ticket, core.now())
  end
  local wait = self.wait
  if wait > 0 then
    local now = core.now()
    if now + wait > self.deadline then
      limiter:cancel(self.ticket, now)
      self.ticket = false
      return self:done(nil, errors.new("timeout",
        ("the client's rate limit (%d per %g s) needs a %.1f s wait, more than the %.1f s left of the timeout")
        :format(limiter.limit, limiter.window, wait, math.max(0, self.deadline - now))), self.attempt - 1)
    end
    return "sleep", wait
  end
  -- the slot is ours: send now
  local ticket = self.ticket
  local left = self.deadline - core.now()
  if left <= 0 then
    if ticket then limiter:cancel(ticket, core.now()) end
    self.ticket = false
    return self:done(nil, errors.new("timeout", ("no time left of the %g s timeout"):format(budget(self))),
      self.attempt - 1)
  end
  local opts = self.opts
  if opts.on_send then
    local ok, raised = pcall(opts.on_send, self.attempt)
    if not ok then
      if ticket then limiter:cancel(ticket, core.now()) end
      self.ticket = false
      return self:done(nil, callback_error("on_send", raised), self.attempt - 1)
    end
  end
  local spec = self.build(left)
  if is_api(self.op) then spec.json = true end -- the core decodes the answer (response.classify reads facts.json)
  local client = self.client
  if client.on_request then -- the table only when someone looks at it
    hook(client.on_request, { op = self.op, method = METHOD[self.op], attempt = self.attempt, url = spec.url })
  end
  self.phase = "sent"
  return "send", spec
end

--- The facts of the transfer next() said to send (and what its on_progress
--- raised, if it did): the attempt's end.  Then next() again.
---@param facts table
---@param raised any
---@return nil
function Call:settle(facts, raised)
  local client, op, attempt, limiter, opts = self.client, self.op, self.attempt, self.limiter, self.opts
  local res, err, info = response.classify(facts, self)
  if raised ~= nil then res, err = nil, callback_error("on_progress", raised) end
  if info then
    if is_api(op) then client.last = info end
    if next(info.rate_limit) then self.rate_limit = info.rate_limit end
  end
  if self.ticket then
    settle(limiter, self.ticket, facts, err, info)
    self.ticket = false
  end
  if client.on_response then
    hook(client.on_response, { op = op, attempt = attempt, status = info and info.status,
      elapsed = core.now() - self.started, rate_limit = self.rate_limit or nil, error = err })
  end
  if res then
    self:done(res, nil, attempt)
    return
  end

  local unsafe = opts.retry_unsafe
  if unsafe == nil then unsafe = client.retry_unsafe end
  local max_retries = opts.max_retries or client.max_retries
  local ok, delay = retry.decide(op, err, attempt, unsafe)
  local why
  if not ok then
    err.reason = delay
  elseif attempt > max_retries then
    ok = false
    err.reason = ("max_retries (%d) reached"):format(max_retries)
  elseif err.kind == "rate_limited" and err.retry_after and err.retry_after > retry.MAX_RETRY_AFTER then
    ok, why = false, ("Retry-After of %g s is over the %g s cap; not waited for"):format(err.retry_after,
      retry.MAX_RETRY_AFTER)
  elseif core.now() + delay > self.deadline then
    ok, why = false, ("the retry wait of %.1f s would overrun the %g s timeout"):format(delay, budget(self))
  end
  if not ok then
    if why then
      err.reason = why
      err.message = err.message .. " (" .. why .. ")"
    end
    self:done(nil, err, attempt)
    return
  end
  local on_retry = opts.on_retry or client.on_retry
  if on_retry then
    local cok, craised = pcall(on_retry, attempt, err, delay)
    if not cok then
      self:done(nil, callback_error("on_retry", craised), attempt)
      return
    end
  end
  self.phase = "retry"
  self.wait = delay
end

--- After settle: the wait before the next attempt ("sleep", then next()
--- starts it), or the outcome.
---@return string what
---@return any a
---@return any b
function Call:after()
  if self.phase == "retry" then
    self.phase = "begin"
    return "sleep", self.wait
  end
  return "done", self.res or nil, self.err or nil
end

--- Runs one operation with retries: blocking, or yielding inside a task.
--- Returns res, or nil and err; both carry attempts, elapsed and rate_limit.
---@param client vinano.Client the Lua client
---@param op string generate | submit | poll | download | fetch
---@param build fun(left: number): table
---@param opts? vinano.CallOptions
---@return table|nil res vinano.Result, vinano.Task, vinano.TaskStatus, vinano.Download or vinano.Fetched by op
---@return vinano.Error|nil err
function M.run(client, op, build, opts)
  return M.drive(M.start(client, op, build, opts), opts)
end

--- Drives a call of M.start to its end (what M.run does).
---@param c table the call
---@param opts? vinano.CallOptions
---@return table|nil res
---@return vinano.Error|nil err
function M.drive(c, opts)
  local client = c.client
  local what, a, b = c:next()
  while true do
    if what == "send" then
      local facts, raised = transport.perform(client.core, a, opts and opts.on_progress and opts)
      c:settle(facts, raised)
      what, a, b = c:after()
    elseif what == "sleep" then
      transport.sleep(a)
      what, a, b = c:next()
    elseif what == "gate" then
      if transport.in_task() then
        transport.wait_gate(a)
      else -- alone on this thread: nothing but the deadline can change while we sleep
        local open, deadline = false, c.deadline
        a(function() open = true end)
        while not open and core.now() < deadline do transport.sleep(math.min(GATE_SLICE, deadline - core.now())) end
      end
      what, a, b = c:next()
    else
      return a, b
    end
  end
end

return M
