-- A client-side limiter shared by every request of a client: at most
-- `limit` request starts in any `window` seconds (a sliding window), and
-- none while the server says the quota is used up (X-RateLimit-Remaining 0
-- until X-RateLimit-Reset).  It only computes waits; the caller sleeps or
-- yields.
-- vinano: internal (not part of the public API; see docs/reference.md)
local Limiter = {}
Limiter.__index = Limiter

local PLANS = { monthly = 20, yearly = 200 }
local MARGIN = 0.05 -- seconds added to every wait: the server's clock is not ours

---@param opts vinano.Options
---@return table? limiter nil when no limit is set
function Limiter.new(opts)
  local limit = opts.rate_limit or PLANS[opts.plan]
  if not limit then return nil end
  return setmetatable({ limit = limit, window = opts.rate_window or 60, starts = {}, blocked_until = 0 }, Limiter)
end

Limiter.PLANS = PLANS

local function prune(self, now)
  local starts, keep = self.starts, {}
  for _, t in ipairs(starts) do
    if now - t < self.window then keep[#keep + 1] = t end
  end
  self.starts = keep
end

-- Seconds to wait before the next request may start (0: go now).
---@param now number
---@return number seconds
function Limiter:delay(now)
  prune(self, now)
  local wait = 0
  if #self.starts >= self.limit then
    wait = self.starts[#self.starts - self.limit + 1] + self.window - now + MARGIN
  end
  if self.blocked_until > now then wait = math.max(wait, self.blocked_until - now) end
  return math.max(0, wait)
end

---@param now number
---@return nil
function Limiter:record(now)
  self.starts[#self.starts + 1] = now
end

-- Learns from a response's rate-limit snapshot.  reset above 10^9 is a
-- Unix time, otherwise seconds from now (the page does not say which).
---@param rate_limit vinano.RateLimit?
---@param now number
---@param unix_now number
---@return nil
function Limiter:observe(rate_limit, now, unix_now)
  -- the server's own window length is not sent, so its limit is not copied:
  -- Remaining and Reset say all that is needed
  if not rate_limit then return end
  if rate_limit.remaining == 0 and rate_limit.reset then
    local seconds = rate_limit.reset > 1e9 and (rate_limit.reset - unix_now) or rate_limit.reset
    if seconds > 0 and seconds <= 3600 then
      self.blocked_until = math.max(self.blocked_until, now + seconds + MARGIN)
    end
  end
end

return Limiter
