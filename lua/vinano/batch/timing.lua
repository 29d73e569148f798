-- When to poll a task first.  Each poll costs a request out of a small
-- per-minute quota, so the first poll waits about as long as tasks of the
-- same model have taken so far in this run; later polls keep the page's
-- advised interval.
--
-- A poll only bounds a task's duration: done at d means it took at most d;
-- pending at p then done at d means between p and d.  Samples are taken as
-- 0.85 d for the first case (so the estimate can come down when tasks get
-- faster) and the midpoint for the second; the first poll waits the 75th
-- percentile of the recent samples, so most tasks are done at that poll.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local M = {}

local Timing = {}
Timing.__index = Timing

local KEEP = 16 -- recent samples per model

--- A first-poll estimator.
---@param opts? {first_poll?: number, min_first_poll?: number} seconds: the delay before any sample (3), the shortest (0.5)
---@return table timing with :record and :first_delay
function M.new(opts)
  opts = opts or {}
  return setmetatable({ default = opts.first_poll or 3, min = opts.min_first_poll or 0.5,
    samples = {} }, Timing)
end

--- first_pending: elapsed seconds at the last poll that found the task still
--- pending (nil if none); done_at: elapsed seconds at the poll that found it done.
---@param model string
---@param first_pending number|nil
---@param done_at number
---@return nil
function Timing:record(model, first_pending, done_at)
  local sample = first_pending and (first_pending + done_at) / 2 or done_at * 0.85
  local list = self.samples[model]
  if not list then
    list = {}
    self.samples[model] = list
  end
  list[#list + 1] = sample
  if #list > KEEP then table.remove(list, 1) end
end

--- Seconds from submission to the first poll of a task of this model.
---@param model string
---@return number seconds
function Timing:first_delay(model)
  local list = self.samples[model]
  if not list or #list == 0 then return self.default end
  local sorted = {}
  for i, v in ipairs(list) do sorted[i] = v end
  table.sort(sorted)
  local q = sorted[math.max(1, math.ceil(#sorted * 0.75))]
  return math.max(self.min, q)
end

return M
