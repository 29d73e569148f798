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
-- Returns the ticket, or nil and a timeout error when the deadline comes first.
local function reserve(limiter, deadline, budget)
  local wait, ticket
  while true do
    local now = core.now()
    wait, ticket = limiter:reserve(now)
    if wait then break end
    local gate = ticket
    if now >= deadline then
      return nil, errors.new("timeout", ("the %g s timeout passed while the rate limiter waited for the server's "
        .. "first answer"):format(budget))
    end
    if transport.in_task() then
      transport.wait_gate(gate)
    else -- alone on this thread: nothing but the deadline can change while we sleep
      local open = false
      gate(function() open = true end)
      while not open and core.now() < deadline do transport.sleep(math.min(GATE_SLICE, deadline - core.now())) end
    end
  end
  while wait > 0 do
    local now = core.now()
    if now + wait > deadline then
      limiter:cancel(ticket, now)
      return nil, errors.new("timeout",
        ("the client's rate limit (%d per %g s) needs a %.1f s wait, more than the %.1f s left of the timeout")
        :format(limiter.limit, limiter.window, wait, math.max(0, deadline - now)))
    end
    transport.sleep(wait)
    wait = limiter:confirm(ticket, core.now())
  end
  return ticket
end

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

--- Runs one operation with retries.  `build(left)` returns the transfer
--- spec for an attempt with `left` seconds of budget.  Returns res, or nil
--- and err; both carry attempts, elapsed and rate_limit.
---@param client vinano.Client the Lua client
---@param op string generate | submit | poll | download | fetch
---@param build fun(left: number): table
---@param opts? vinano.CallOptions
---@return table|nil res vinano.Result, vinano.Task, vinano.TaskStatus, vinano.Download or vinano.Fetched by op
---@return vinano.Error|nil err
function M.run(client, op, build, opts)
  opts = opts or NO_OPTS
  local started = core.now()
  local budget = opts.timeout or client.timeout
  local deadline = started + budget
  local max_retries = opts.max_retries or client.max_retries
  local unsafe = opts.retry_unsafe
  if unsafe == nil then unsafe = client.retry_unsafe end
  local on_retry = opts.on_retry or client.on_retry
  local api_call = op ~= "download" and op ~= "fetch"
  local limiter = api_call and client.limiter or nil
  local ctx = { op = op, max_response = client.max_response, unix_now = 0 }
  local attempt, rate_limit = 0, nil

  while true do
    attempt = attempt + 1
    local ticket
    if limiter then
      local rerr
      ticket, rerr = reserve(limiter, deadline, budget)
      if not ticket then return nil, finish(rerr, attempt - 1, started, rate_limit) end
    end
    local left = deadline - core.now()
    if left <= 0 then
      if ticket then limiter:cancel(ticket, core.now()) end
      return nil, finish(errors.new("timeout", ("no time left of the %g s timeout"):format(budget)),
        attempt - 1, started, rate_limit)
    end
    if opts.on_send then
      local ok, raised = pcall(opts.on_send, attempt)
      if not ok then
        if ticket then limiter:cancel(ticket, core.now()) end
        return nil, finish(callback_error("on_send", raised), attempt - 1, started, rate_limit)
      end
    end
    local spec = build(left)
    if api_call then spec.json = true end -- the core decodes the answer (response.classify reads facts.json)
    if client.on_request then -- the table only when someone looks at it
      hook(client.on_request, { op = op, method = METHOD[op], attempt = attempt, url = spec.url })
    end
    local facts, raised = transport.perform(client.core, spec, opts.on_progress and opts)
    ctx.unix_now = os.time()
    local res, err, info = response.classify(facts, ctx)
    if raised ~= nil then res, err = nil, callback_error("on_progress", raised) end
    if err and (err.status or err.kind == "decode") then
      -- the server's own words: a body that echoes the request must not
      -- carry the token into an error
      err.message = client.core:redact(err.message)
    end
    if info then
      if api_call then client.last = info end
      if next(info.rate_limit) then rate_limit = info.rate_limit end
    end
    if ticket then settle(limiter, ticket, facts, err, info) end
    if client.on_response then
      hook(client.on_response, { op = op, attempt = attempt, status = info and info.status,
        elapsed = core.now() - started, rate_limit = rate_limit, error = err })
    end
    if res then return finish(res, attempt, started, rate_limit) end

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
    elseif core.now() + delay > deadline then
      ok, why = false, ("the retry wait of %.1f s would overrun the %g s timeout"):format(delay, budget)
    end
    if not ok then
      if why then
        err.reason = why
        err.message = err.message .. " (" .. why .. ")"
      end
      return nil, finish(err, attempt, started, rate_limit)
    end
    if on_retry then
      local cok, craised = pcall(on_retry, attempt, err, delay)
      if not cok then return nil, finish(callback_error("on_retry", craised), attempt, started, rate_limit) end
    end
    transport.sleep(delay)
  end
end

return M
