-- A map that remembers at most `limit` entries, forgetting the oldest first.
-- Keeps the mock's memory bounded however long it runs (images, tasks, log).
local Bounded = {}
Bounded.__index = Bounded

local M = {}

function M.new(limit)
  return setmetatable({ limit = limit, map = {}, order = {}, first = 1, last = 0 }, Bounded)
end

function Bounded:put(key, value)
  if self.map[key] == nil then
    self.last = self.last + 1
    self.order[self.last] = key
  end
  self.map[key] = value
  while self.last - self.first + 1 > self.limit do
    local old = self.order[self.first]
    self.order[self.first] = nil
    self.first = self.first + 1
    self.map[old] = nil
  end
end

function Bounded:get(key)
  return self.map[key]
end

-- Values in insertion order, oldest first.
function Bounded:values()
  local out = {}
  for i = self.first, self.last do out[#out + 1] = self.map[self.order[i]] end
  return out
end

function Bounded:clear()
  self.map, self.order, self.first, self.last = {}, {}, 1, 0
end

return M
