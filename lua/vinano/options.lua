-- Option tables checked against a schema, as the standard library checks
-- its arguments: an unknown name (with a "did you mean" hint), a wrong type
-- or a number out of range raises, naming the option and the rule, before
-- anything is sent.  vinano.new, the per-call options and batch.run share it.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local suggest = require "vinano.suggest"

local M = {}

---@class vinano.OptionRule
---@field [1] string the Lua type
---@field min? number the lowest allowed number
---@field above? boolean the number must be above min, not equal to it
---@field whole? boolean the number must be whole
---@field max? number the highest allowed number

--- The known name nearest to key (vinano.suggest's rule), or nil.
---@param key string
---@param names table<string, any> the known names as keys
---@return string|nil
function M.near(key, names)
  local list = {}
  for name in pairs(names) do list[#list + 1] = name end
  return suggest.nearest(key, list)
end

-- Why v breaks rule, or nil.
local function broken(v, rule)
  if type(v) ~= rule[1] then return ("%s expected, got %s"):format(rule[1], type(v)) end
  if rule[1] ~= "number" then return nil end
  if v ~= v or v == math.huge or v == -math.huge then return "must be a finite number" end
  if rule.min and (v < rule.min or (rule.above and v == rule.min)) then
    return ("must be %s %s"):format(rule.above and ">" or ">=", tostring(rule.min))
  end
  if rule.max and v > rule.max then return ("must be at most %s"):format(tostring(rule.max)) end
  if rule.whole and v ~= math.floor(v) then return "must be a whole number" end
  return nil
end

--- Raises "bad option 'key' to 'fname' (why)" at level for the first
--- option of opts that is unknown to schema or breaks its rule.
---@param opts table
---@param schema table<string, vinano.OptionRule>
---@param fname string the function's name in the message
---@param level integer error level (of the caller of the caller's caller)
---@return nil
function M.check(opts, schema, fname, level)
  for key, v in pairs(opts) do
    local rule = schema[key]
    local why
    if not rule then
      local hint = type(key) == "string" and M.near(key, schema)
      why = "unknown option" .. (hint and ("; did you mean '" .. hint .. "'?") or "")
    else
      why = broken(v, rule)
    end
    if why then error(("bad option '%s' to '%s' (%s)"):format(tostring(key), fname, why), level + 1) end
  end
end

return M
