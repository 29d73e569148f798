-- Many calls of one client driven on the core directly, for generate_many
-- and batch.run outside a task: each item is a machine of call.lua's
-- protocol (a call: the same attempts, limiter protocol, deadline, hooks and
-- retries as a single call; or a batch job made of such calls), its
-- transfers start with queue = true and come back through transport's
-- drain to a callback: no coroutine and no scheduler round per request.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local async = require "vinano.async"
local core = require "vinano.core"
local transport = require "vinano.transport"

local M = {}

local MAX_WAIT_MS = 1000

--- Whether a caller outside any task may block in M.run: no task is live on
--- the default scheduler and no host driver runs it (they would stand still
--- meanwhile).
---@return boolean
function M.alone()
  local sched = async.default
  return not async.current() and sched.live == 0 and not sched.host
end

--- Runs n calls with at most `concurrency` unfinished at once.
--- `start(i)` returns the machine of item i (call.start's, or any with its
--- next/settle/after and `client` and `deadline` fields), or nil
--- and the error that refused it before sending; `done(i, res, err)` gets
--- each outcome.  Blocks until all are done; raises what start raises.
---@param n integer
---@param concurrency integer
---@param start fun(i: integer): table|nil, vinano.Error|nil
---@param done fun(i: integer, res: table|nil, err: vinano.Error|nil)
---@return nil
function M.run(n, concurrency, start, done)
  local next_index, live = 0, 0
  local ready, nready = {}, 0 -- items to advance now
  local sleepers = {}         -- { at =, it =, token = }
  local inflight = {}         -- item -> transfer

  local function push(it)
    nready = nready + 1
    ready[nready] = it
  end

  local launch

  -- Advances one item until it waits for something (a transfer, a sleep, a gate) or is done.
  local function advance(it)
    local call = it.call
    local what, a, b
    if it.facts then
      call:settle(it.facts, nil)
      it.facts = nil
      what, a, b = call:after()
    else
      what, a, b = call:next()
    end
    if what == "send" then
      inflight[it] = transport.start_cb(it.client_core, a, function(facts)
        inflight[it] = nil
        it.facts = facts
        push(it)
      end)
    elseif what == "sleep" then
      sleepers[#sleepers + 1] = { at = core.now() + a, it = it }
    elseif what == "gate" then
      -- open, or the deadline: whichever comes first wakes it (once)
      local token = {}
      it.token = token
      a(function()
        if it.token == token then
          it.token = nil
          push(it)
        end
      end)
      if it.token == token then sleepers[#sleepers + 1] = { at = call.deadline, it = it, token = token } end
    else
      live = live - 1
      done(it.i, a, b)
      launch()
    end
  end

  function launch()
    while live < concurrency and next_index < n do
      next_index = next_index + 1
      local i = next_index
      local call, err = start(i)
      if call then
        live = live + 1
        advance({ i = i, call = call, client_core = call.client.core })
      else
        done(i, nil, err)
      end
    end
  end

  local function loop()
    launch()
    while live > 0 do
      while nready > 0 do
        local batch, count = ready, nready
        ready, nready = {}, 0
        for k = 1, count do advance(batch[k]) end
      end
      if live == 0 then break end
      local now, soonest = core.now(), nil
      for k = #sleepers, 1, -1 do
        local s = sleepers[k]
        if s.at <= now then
          table.remove(sleepers, k)
          if not s.token then
            push(s.it)
          elseif s.it.token == s.token then -- the gate did not open before the deadline
            s.it.token = nil
            push(s.it)
          end
        elseif not soonest or s.at < soonest then
          soonest = s.at
        end
      end
      if nready == 0 then
        local ms = MAX_WAIT_MS
        if soonest then ms = math.min(ms, math.max(0, math.ceil((soonest - now) * 1000))) end
        if not transport.poll(ms) and ms > 0 then core.sleep(ms / 1000) end -- nothing in flight: a sleep
      end
    end
  end

  local ok, raised = pcall(loop)
  if not ok then -- nothing may stay in flight or hold a limiter slot
    for it, t in pairs(inflight) do
      transport.cancel_cb(t)
      if it.facts then pcall(it.call.settle, it.call, it.facts, nil) end
    end
    error(raised, 0)
  end
end

return M
