-- vinano.transport: the one place that starts transfers on the C core and
-- waits for them.
--
--   * Inside a vinano.async task, perform starts the transfer with
--     queue = true and suspends the task (async.suspend); the transfer's
--     owner record (transfer -> resume) is resumed when a driver drains the
--     client's c:finished() queue (transport.poll, or the luv driver).
--   * Outside a task it blocks: the transfer starts with queue = false and
--     this client is stepped (c:step(ms)) until it is done; after every step
--     the client's finished queue is drained, so transfers that tasks await
--     on the same client reach their owners.
--
-- Only this module calls c:finished(), so nothing else can take a task's
-- finished transfer (a re-entrant c:step() from a callback only advances
-- transfers; what finished stays queued for the next drain).
--
-- Clients with awaited transfers are registered here; host drivers read
-- them (transport.clients()) and are told when one appears or is closed
-- (transport.set_listener).  transport.close(c) delivers {cancelled = true}
-- to every task awaiting one of c's transfers, forgets c, then closes it.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local async = require "vinano.async"
local progress = require "vinano.progress"

local transport = {}

local core_module -- loaded on first use: require "vinano" loads no C
local function core()
  core_module = core_module or require "vinano.core"
  return core_module
end

---@class vinano.transport.Owner
---@field transfer userdata
---@field client userdata
---@field resume fun(facts: table, callback_error: any): boolean
---@field watch table?   the progress watch, when on_progress was given

local owners = {}   -- transfer -> owner record (awaited by a task)
local registry = {} -- core client -> { n = awaited transfers, index = position in list }
local list = {}     -- the registered clients, in registration order (swap-removed)
local watched = {}  -- transfer -> owner record, for those with on_progress
local nwatched = 0
local listener = nil -- { add = fn(c), forget = fn(c) } from the host driver

---Tells the host driver about clients: add(c) when a client gets its first
---awaited transfer, forget(c) before a client is closed (stop watching its
---sockets then).  nil removes the listener.
---@param l { add: fun(c: userdata), forget: fun(c: userdata) }?
---@return nil
function transport.set_listener(l)
  listener = l
end

local function register(c)
  local r = registry[c]
  if r then
    r.n = r.n + 1
    return
  end
  list[#list + 1] = c
  registry[c] = { n = 1, index = #list }
  if listener and listener.add then listener.add(c) end
end

local function unregister(c)
  local r = registry[c]
  if not r then return end
  registry[c] = nil
  local last = list[#list]
  list[r.index] = last
  if last ~= c then registry[last].index = r.index end
  list[#list] = nil
end

local function release(rec)
  local t = rec.transfer
  owners[t] = nil
  if rec.watch then
    watched[t] = nil
    nwatched = nwatched - 1
  end
  local r = registry[rec.client]
  if r then
    r.n = r.n - 1
    -- a client stays registered while it has awaited transfers; once none,
    -- it is dropped (so a client closed later is never stepped by a driver)
    if r.n == 0 then unregister(rec.client) end
  end
end

local function result_of(t)
  local ok, facts = pcall(t.result, t)
  if ok and type(facts) == "table" then return facts end
  return { cancelled = true }
end

-- A finished (or cancelled) awaited transfer goes to its owner.
local function deliver(rec, facts, callback_error)
  release(rec)
  facts = facts or result_of(rec.transfer)
  pcall(rec.transfer.close, rec.transfer)
  rec.resume(facts, callback_error)
end

---Drains c:finished() into the owners of its transfers (their tasks become
---ready).  Returns the number delivered.  Drivers call it after stepping or
---acting on c.
---@param c userdata a core client
---@return integer
function transport.drain(c)
  local done = c:finished()
  if not done then return 0 end
  local n = 0
  for i = 1, #done do
    local rec = owners[done[i]]
    if rec then
      deliver(rec)
      n = n + 1
    end
  end
  return n
end

---Calls the on_progress of every awaited transfer that has one (throttled
---by progress.lua); one that raises cancels its own transfer, whose task
---gets the cancelled facts and the raised value.
---@param now number? the clock (default core.now())
---@return nil
function transport.check_progress(now)
  if nwatched == 0 then return end
  now = now or core().now()
  local failed
  for t, rec in pairs(watched) do
    local ok, raised = rec.watch:check(t, now)
    if not ok then
      failed = failed or {}
      failed[#failed + 1] = { rec, raised }
    end
  end
  if failed then
    for _, f in ipairs(failed) do
      local rec = f[1]
      pcall(rec.transfer.cancel, rec.transfer)
      deliver(rec, nil, f[2])
    end
  end
end

---True while an awaited transfer has an on_progress (drivers then wake at
---least every progress.EVERY seconds).
---@return boolean
function transport.watching()
  return nwatched > 0
end

---The clients with awaited transfers (do not modify the list).
---@return userdata[]
function transport.clients()
  return list
end

---The number of transfers tasks await.
---@return integer
function transport.pending()
  local n = 0
  for _, r in pairs(registry) do n = n + r.n end
  return n
end

-- A registered client that raises when used (closed behind our back with
-- c:close() instead of transport.close): its waiters get cancelled.
local function prune()
  for i = #list, 1, -1 do
    local c = list[i]
    if c and not pcall(c.running, c) then transport.forget(c) end
  end
end

---Waits at most ms (0 never waits) for any registered client, steps them
---(core.wait), drains their finished transfers to their owners and runs the
---progress checks.  Returns false when no client is registered (nothing
---was waited for).
---@param ms number
---@return boolean
function transport.poll(ms)
  if #list == 0 then return false end
  if nwatched > 0 and ms > progress.EVERY * 1000 then ms = progress.EVERY * 1000 end
  local ok, err = pcall(core().wait, list, ms)
  if not ok then
    prune()
    if #list == 0 then return true end
    error(err, 0)
  end
  for i = #list, 1, -1 do
    local c = list[i]
    if c then transport.drain(c) end
  end
  transport.check_progress()
  return true
end

---True inside a vinano.async task (calls yield there).
---@return boolean
function transport.in_task()
  return async.current() ~= nil
end

---Sleeps s seconds: yields inside a task, blocks otherwise (core.sleep).
---@param s number
---@return nil
function transport.sleep(s)
  if async.current() then return async.sleep(s) end
  return core().sleep(s)
end

local function blocking(c, spec, on_progress)
  spec.queue = false
  local t = c:start(spec)
  local watch = on_progress and progress.watch(on_progress)
  local step_ms = watch and math.floor(progress.EVERY * 1000) or 1000
  while not t:done() do
    c:step(step_ms)
    if registry[c] then transport.drain(c) end -- transfers tasks await on this client
    if watch then
      local ok, raised = watch:check(t, core().now())
      if not ok then
        t:cancel()
        local facts = result_of(t)
        t:close()
        return facts, raised
      end
    end
  end
  local facts = result_of(t)
  t:close()
  return facts
end

---Inside a task: waits until gate calls back (a closed rate-limiter gate;
---it always opens, at the latest when the request it waits for ends).
---@param gate fun(open: fun())
---@return nil
function transport.wait_gate(gate)
  async.suspend(function(resume)
    gate(function() resume() end)
  end)
end

---Performs one transfer and returns its facts (see docs/architecture.md),
---plus the value on_progress raised if it did (the transfer was then
---cancelled).  Inside a task: starts it with queue = true and suspends until
---a driver delivers it; a cancelled task gets `{cancelled = true}` facts.
---Outside a task: blocks, stepping the client.  `spec` is the core's start
---spec (its `queue` field is set here).
---@param c userdata a core client
---@param spec table
---@param opts { on_progress: fun(sent: number, total_up: number, received: number, total_down: number)? }?
---@return table facts
---@return any callback_error
function transport.perform(c, spec, opts)
  local on_progress = opts and opts.on_progress
  local me = async.current()
  if not me then return blocking(c, spec, on_progress) end
  if me.cancelled then return { cancelled = true } end
  spec.queue = true
  local t = c:start(spec)
  local rec = { transfer = t, client = c, watch = on_progress and progress.watch(on_progress) }
  return async.suspend(function(resume)
    rec.resume = resume
    owners[t] = rec
    if rec.watch then
      watched[t] = rec
      nwatched = nwatched + 1
    end
    register(c)
    return function() -- the task was cancelled: so is its transfer
      if owners[t] ~= rec then return end
      pcall(t.cancel, t)
      deliver(rec)
    end
  end)
end

---Starts a transfer whose facts go to a callback instead of a task:
---`done(facts)` runs when a driver drains the client (transport.poll,
---transport.drain), or with `{cancelled = true}` when the client is
---forgotten or closed.  For drivers of many calls (vinano.many).  Returns
---the transfer.
---@param c userdata a core client
---@param spec table the core's start spec (its `queue` field is set here)
---@param done fun(facts: table)
---@return userdata transfer
function transport.start_cb(c, spec, done)
  spec.queue = true
  local t = c:start(spec)
  owners[t] = { transfer = t, client = c, resume = done }
  register(c)
  return t
end

---Cancels a transfer of start_cb: its callback gets the cancelled facts now.
---@param t userdata
---@return nil
function transport.cancel_cb(t)
  local rec = owners[t]
  if not rec then return end
  pcall(t.cancel, t)
  deliver(rec)
end

---Forgets a client: every task awaiting one of its transfers is resumed
---with `{cancelled = true}` facts (the transfers are cancelled) and the
---driver stops watching it.  Does not close the client.
---@param c userdata
---@return nil
function transport.forget(c)
  local recs = {}
  for _, rec in pairs(owners) do
    if rec.client == c then recs[#recs + 1] = rec end
  end
  if listener and listener.forget then listener.forget(c) end -- it may watch idle sockets too
  unregister(c)
  for _, rec in ipairs(recs) do
    pcall(rec.transfer.cancel, rec.transfer)
    release(rec)
    pcall(rec.transfer.close, rec.transfer)
    rec.resume({ cancelled = true })
  end
end

---Closes a client (what the API client's close() calls): the tasks awaiting
---its transfers get `{cancelled = true}`, the scheduler and drivers forget
---it, then the core client is closed.  Idempotent.
---@param c userdata
---@return nil
function transport.close(c)
  transport.forget(c)
  c:close()
end

return transport
