-- "Did you mean": the known name closest to a misspelt one, by edit
-- distance (case-insensitive), or a known name the word is the start of.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local M = {}

-- Levenshtein distance, giving up (returning limit + 1) past limit.
local function distance(a, b, limit)
  if math.abs(#a - #b) > limit then return limit + 1 end
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur, best = { [0] = i }, i
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
      if cur[j] < best then best = cur[j] end
    end
    if best > limit then return limit + 1 end
    prev = cur
  end
  return prev[#b]
end

--- The candidate closest to word: within 2 edits (a third of the word's
--- length for long words), or one that starts with word (4 characters at
--- least); nil when none is close.  Ties go to the first in sorted order.
---@param word string
---@param candidates string[]
---@return string|nil
function M.nearest(word, candidates)
  if type(word) ~= "string" or word == "" then return nil end
  local w = word:lower()
  local limit = math.max(2, math.floor(#w / 6))
  local sorted = {}
  for _, c in ipairs(candidates) do sorted[#sorted + 1] = c end
  table.sort(sorted)
  local hint, best = nil, limit + 1
  for _, c in ipairs(sorted) do
    local lc = c:lower()
    if lc ~= w then
      local d = distance(w, lc, limit)
      if d < best then hint, best = c, d end
    end
  end
  if hint then return hint end
  if #w >= 4 then
    for _, c in ipairs(sorted) do
      if c:lower():sub(1, #w) == w then return c end
    end
  end
  return nil
end

return M
