-- vinano.ratelimit: the client-side rate limiter, shared by every request of
-- a client (sync and async alike). A pure module: no I/O, no sleeping, no
-- clock of its own; the caller passes the time in and does the waiting.
--
--   local Limiter = require "vinano.ratelimit"
--   local lim = Limiter.new { limit = 20, window = 60 }  -- or Limiter.new(client_opts)
--   local wait, ticket = lim:reserve(now)
--   if wait then
--     while wait > 0 do sleep(wait); wait = lim:confirm(ticket, now) end
--     send the request
--     lim:observe(ticket, info.rate_limit, now, os.time())  -- the response arrived
--     -- or lim:cancel(ticket, now)                         -- it was never sent
--   else
--     local gate = ticket; gate(function() ... end)         -- called once when reserve may succeed
--   end
--
-- What it promises:
--   * A start is a reservation: reserve() takes a slot in time before the
--     caller sleeps, so N concurrent reservers get N distinct start times and
--     no window of `window` seconds ever holds more than `limit` starts (a
--     sliding window over the stored slot times). Nobody starts early, and
--     nobody needs to check again after sleeping.
--   * It follows the server. A response saying X-RateLimit-Remaining = R
--     with X-RateLimit-Reset = T caps the starts before T at R minus the
--     other requests in flight (those whose slot has come may have been sent
--     and not yet counted when the server answered; those still ahead share
--     what is left). R = 0: nothing until T (+ MARGIN). Slots reserved ahead
--     that the answer leaves no room for move past T: a caller asks
--     confirm(ticket, now) after sleeping, right before sending. Reset above 10^9 is a Unix time, else seconds from
--     now; a reset in the past or more than MAX_RESET away is not believed.
--     Remaining = 0 with no believable reset: callers get a gate while
--     requests are in flight whose answers may tell more, then one window of
--     our own (never forever).
--   * First use: before any response has been seen, one request (the probe)
--     goes alone and the others get a gate, so that a process started right
--     after another one spent the quota (a restarted batch) learns the
--     server's remaining quota before sending more. The gate opens when the
--     probe is observed (with or without rate-limit headers) or cancelled
--     (the next reserver becomes the probe).
--   * Bounded: gates open on every observe/cancel; a ticket neither observed
--     nor cancelled within STALE seconds of its slot is forgotten (a probe
--     too), so a lost ticket cannot hold the others forever.
-- vinano: internal (not part of the public API; see docs/architecture.md)

---A reserved start.
---@class vinano.RateTicket
---@field slot number      the start time reserved (monotonic seconds)
---@field probe boolean    this is the first-use probe
---@field done boolean     observed or cancelled

---@alias vinano.RateGate fun(fn: fun()) registers fn, called once when reserve() may succeed again

---@class vinano.Limiter
---@field limit integer    starts allowed per window
---@field window number    seconds
local Limiter = {}
Limiter.__index = Limiter

---Requests per 60 s for each plan of the API page.
Limiter.PLANS = { monthly = 20, yearly = 200 }
---Seconds added after a server reset: its clock is not ours.
Limiter.MARGIN = 0.1
---A reset further away than this (seconds) is not believed.
Limiter.MAX_RESET = 3600
---A ticket neither observed nor cancelled this long after its slot is forgotten.
Limiter.STALE = 300

local MARGIN = Limiter.MARGIN
local unix_time -- defined below

---Creates a limiter: `{limit = N, window = S}`, or a client's options
---(`rate_limit` with `rate_window`, default 60, or `plan`).
---@param opts {limit?: integer, window?: number, rate_limit?: integer, rate_window?: number, plan?: string}
---@return vinano.Limiter|nil limiter nil when opts ask for no limit
function Limiter.new(opts)
  local limit, window
  if opts.limit then
    limit, window = opts.limit, opts.window
  else
    limit, window = opts.rate_limit or Limiter.PLANS[opts.plan], opts.rate_window
  end
  if not limit then return nil end
  local self = setmetatable({
    limit = limit, window = window or 60,
    slots = {},        -- reserved start times (sent or still ahead), ascending
    outstanding = {},  -- ticket -> true: reserved, not yet observed or cancelled
    n_outstanding = 0,
    seen = false,      -- a response has been observed (the probe is done)
    probe = nil,       -- the first-use probe while it is in flight
    cap = nil,         -- the server's word: { until_ = t, left = n, unknown = bool }
    waiters = {},      -- functions registered through the gate
  }, Limiter)
  self.gate = function(fn) self.waiters[#self.waiters + 1] = fn end
  return self
end

-- Slot times older than one window cannot constrain a start at `now`.
local function prune(self, now)
  local slots = self.slots
  local drop = 0
  while slots[drop + 1] and slots[drop + 1] <= now - self.window do drop = drop + 1 end
  if drop > 0 then
    local n = #slots
    for i = 1, n do slots[i] = slots[i + drop] end -- nil past n - drop
  end
  for t in pairs(self.outstanding) do
    if t.slot < now - Limiter.STALE then self:forget(t) end
  end
  if self.cap and now >= self.cap.until_ + MARGIN then self.cap = nil end
end

-- Does a start at t keep every `limit + 1` consecutive starts at least one
-- window apart? (t goes after the slots equal to it.)
local function fits(slots, t, limit, window)
  local n = #slots
  local lo, hi = 1, n + 1 -- q: the first slot > t (binary search)
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if slots[mid] <= t then lo = mid + 1 else hi = mid end
  end
  local q = lo
  -- merged list: slots[1..q-1], t, slots[q..n]
  local function at(k)
    if k < q then return slots[k] elseif k == q then return t end
    return slots[k - 1]
  end
  for i = math.max(1, q - limit), math.min(q, n + 1 - limit) do
    if at(i + limit) - at(i) < window then return false end
  end
  return true
end

-- The earliest start >= t0 the sliding window allows.
local function earliest(self, t0)
  local slots, limit, window = self.slots, self.limit, self.window
  if fits(slots, t0, limit, window) then return t0 end
  for _, s in ipairs(slots) do
    local t = s + window
    if t > t0 and fits(slots, t, limit, window) then return t end
  end
  return math.max(t0, slots[#slots] + window) -- not reached: the last candidate always fits
end

local function insert_slot(slots, t)
  local i = #slots
  while i >= 1 and slots[i] > t do i = i - 1 end
  table.insert(slots, i + 1, t)
end

local function remove_slot(slots, t)
  for i = 1, #slots do
    if slots[i] == t then
      table.remove(slots, i)
      return
    end
  end
end

local function open_gates(self)
  local waiters = self.waiters
  if #waiters == 0 then return end
  self.waiters = {}
  local first_error
  for _, fn in ipairs(waiters) do
    local ok, err = pcall(fn)
    if not ok and first_error == nil then first_error = err end
  end
  if first_error ~= nil then error(first_error, 0) end
end

---Takes a slot for one request.
---@param now number monotonic seconds
---@return number|nil wait seconds to wait before starting (0: now); nil when no slot can be promised yet
---@return vinano.RateTicket|vinano.RateGate ticket the ticket, to observe or cancel; or, with nil, the gate
function Limiter:reserve(now)
  prune(self, now)
  if not self.seen and self.probe then return nil, self.gate end
  local cap = self.cap
  if cap and cap.unknown and cap.left == 0 and self.n_outstanding > 0 then return nil, self.gate end
  local t = earliest(self, now)
  local charged
  if cap and t < cap.until_ + MARGIN then
    if cap.left > 0 then
      cap.left = cap.left - 1
      charged = cap
    else
      t = earliest(self, math.max(now, cap.until_ + MARGIN))
    end
  end
  local ticket = { slot = t, probe = not self.seen, done = false, cap = charged }
  if ticket.probe then self.probe = ticket end
  insert_slot(self.slots, t)
  self.outstanding[ticket] = true
  self.n_outstanding = self.n_outstanding + 1
  return t - now, ticket
end

---Removes a ticket from the outstanding set (observe, cancel, stale).
---@param ticket vinano.RateTicket
---@return boolean forgotten false when it was already done
function Limiter:forget(ticket)
  if ticket.done then return false end
  ticket.done = true
  self.outstanding[ticket] = nil
  self.n_outstanding = self.n_outstanding - 1
  if self.probe == ticket then self.probe = nil end
  return true
end

-- Unix time now, from unix_now (os.time() is whole seconds, always at or
-- below the true time): the largest offset seen between it and the
-- monotonic clock approaches the true one from below, so the estimate gets
-- exact while staying on the safe side. A clock stepped back starts over.
function unix_time(self, now, unix_now)
  local offset = unix_now - now
  if not self.unix_offset or offset > self.unix_offset or offset < self.unix_offset - 2 then
    self.unix_offset = offset
  end
  return now + self.unix_offset
end

-- The server's remaining quota and reset, as a cap on further starts.
local function learn(self, info, now, unix_now)
  local remaining = info and tonumber(info.remaining)
  if not remaining then return end
  remaining = math.max(0, math.floor(remaining))
  local reset, until_ = info.reset and tonumber(info.reset), nil
  if reset then
    local seconds = reset
    if reset > 1e9 then seconds = unix_now and reset - unix_time(self, now, unix_now) end
    if seconds and seconds <= 0 then return end -- that window is over: old news
    if seconds and seconds <= Limiter.MAX_RESET then until_ = now + seconds end
  end
  local unknown = until_ == nil
  if unknown then until_ = now + self.window end
  local cap = self.cap
  local same = math.min(1, self.window / 2) -- resets this close are one window
  local merge = cap and (unknown or cap.unknown or math.abs(until_ - cap.until_) <= same)
  if cap and not merge and until_ < cap.until_ then return end -- an earlier window's answer, overtaken
  if merge then
    -- every estimate of the same reset is at or after the true one (the
    -- server rounds up, our Unix time is rounded down): the earliest is the
    -- tightest
    if cap.unknown and not unknown then
      cap.until_, cap.unknown = until_, false
    elseif not unknown then
      cap.until_ = math.min(cap.until_, until_)
    end
    until_ = cap.until_
  end
  -- The other requests in flight: those whose slot has come may have been
  -- sent and not yet counted by the server; those still ahead before the
  -- reset need a share of what remains.
  local sent, ahead = 0, {}
  for t in pairs(self.outstanding) do
    if t.slot <= now then
      sent = sent + 1
    elseif t.slot < until_ + MARGIN then
      ahead[#ahead + 1] = t
    end
  end
  local left = remaining - sent - #ahead
  if merge then
    left = math.min(cap.left, left) -- the same window: the lower count wins
  else
    cap = { until_ = until_, unknown = unknown }
    self.cap = cap
  end
  cap.unknown = unknown and remaining == 0 and cap.unknown ~= false
  if left < 0 then
    -- More reserved ahead than the server will take before its reset: the
    -- latest of them move past the reset (their callers see it in confirm).
    table.sort(ahead, function(x, y) return x.slot < y.slot end)
    local moving = {}
    for i = math.max(1, #ahead + left + 1), #ahead do
      moving[#moving + 1] = ahead[i]
      ahead[i] = nil
    end
    for _, t in ipairs(moving) do remove_slot(self.slots, t.slot) end
    for _, t in ipairs(moving) do
      t.slot = earliest(self, until_ + MARGIN)
      t.cap = nil
      insert_slot(self.slots, t.slot)
    end
    left = 0
  end
  cap.left = left
  for t in pairs(self.outstanding) do
    if t.slot < until_ + MARGIN then t.cap = cap end
  end
end

---Seconds still to wait before ticket's start, to ask after every sleep and
---right before sending (0: start now): newer answers from the server may
---have moved the slot later.
---@param ticket vinano.RateTicket
---@param now number monotonic seconds
---@return number wait
function Limiter:confirm(ticket, now) -- luacheck: no unused args
  if ticket.done then return 0 end
  return math.max(0, ticket.slot - now)
end

---The response to ticket's request arrived (or the request may have reached
---the server and nothing usable came back: pass nil). Releases the probe and
---the gates.
---@param ticket vinano.RateTicket
---@param rate_limit vinano.RateLimit|nil the response's snapshot
---@param now number monotonic seconds
---@param unix_now number|nil Unix time, to read a reset above 10^9
---@return nil
function Limiter:observe(ticket, rate_limit, now, unix_now)
  if not self:forget(ticket) then return end
  self.seen = true
  learn(self, rate_limit, now, unix_now)
  open_gates(self)
end

---The reserved request was never sent: frees its slot (and its share of the
---server's quota); a cancelled probe lets the next reserver probe.
---@param ticket vinano.RateTicket
---@param now number monotonic seconds
---@return nil
function Limiter:cancel(ticket, now)
  if not self:forget(ticket) then return end
  remove_slot(self.slots, ticket.slot)
  if ticket.cap and ticket.cap == self.cap then self.cap.left = self.cap.left + 1 end
  prune(self, now)
  open_gates(self)
end

return Limiter
