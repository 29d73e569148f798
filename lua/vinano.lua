-- vinano: the Lua client for the ViNano image generation API.
--   local vinano = require "vinano"
--   local client = vinano.new{ token = "..." }
--   local res, err = client:generate{ prompt = "a beautiful sunset over the ocean" }
local core = require "vinano.core"
local Client = require "vinano.client"
local models = require "vinano.models"

local M = {
  version = core.version,
  curl_version = core.curl_version,
  -- JSON null in a response arrives as this value (lua-cjson's null).
  null = require("cjson").null,
}

M.new = Client.new

-- Credits a request will cost, from the API page's table.
function M.estimate_credits(params)
  if type(params) ~= "table" then
    error("bad argument #1 to 'estimate_credits' (table expected, got " .. type(params) .. ")", 2)
  end
  return models.estimate_credits(params)
end

-- Blocking sleep and a monotonic clock, in seconds.
M.sleep = core.sleep
M.now = core.now

-- fsync(fh): flushes a Lua file handle, then fsyncs its descriptor, so what
-- was written survives a crash of the machine, not only of the process.
-- Returns true, or nil and a message.
-- BRANCH FALLBACK (batch): the C core gains core.fsync at integration; until
-- then this only flushes (survives a killed process, not a power loss).
if core.fsync then
  function M.fsync(fh)
    local ok, err = fh:flush()
    if not ok then return nil, err end
    return core.fsync(fh)
  end
else
  function M.fsync(fh)
    return fh:flush()
  end
end

-- Makes an error table of vinano's kind (with its __tostring).
M.error = core.error

-- vinano.async loads on first use, so scripts that never use it do not pay
-- for it at require time.
return setmetatable(M, { __index = function(t, k)
  if k == "async" then
    t.async = require "vinano.async"
    return t.async
  end
end })
