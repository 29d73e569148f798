-- vinano: the Lua client for the ViNano image generation API.
--   local vinano = require "vinano"
--   local client = vinano.new{ token = "..." }
--   local res, err = client:generate{ prompt = "a beautiful sunset over the ocean" }
local core = require "vinano.core"
local Client = require "vinano.client"
local models = require "vinano.models"

---@class vinano
---@field version string the core's version
---@field curl_version string libcurl's version line
---@field null lightuserdata JSON null in results (lua-cjson's cjson.null)
---@field new fun(opts: vinano.Options?): vinano.Client a client (see vinano.Options)
---@field sleep fun(seconds: number) blocks (outside tasks)
---@field now fun(): number monotonic seconds
---@field error fun(fields: table): vinano.Error makes an error of vinano's kind
---@field async vinano.async loaded on first use
local M = {
  version = core.version,
  curl_version = core.curl_version,
  -- JSON null in a response arrives as this value (lua-cjson's null).
  null = require("cjson").null,
}

M.new = Client.new

-- Credits a request will cost, from the API page's table.
---@param params vinano.GenerateParams the parameters a generate would send
---@return integer credits the credits it would cost
function M.estimate_credits(params)
  if type(params) ~= "table" then
    error("bad argument #1 to 'estimate_credits' (table expected, got " .. type(params) .. ")", 2)
  end
  return models.estimate_credits(params)
end

-- Blocking sleep and a monotonic clock, in seconds.
M.sleep = core.sleep
M.now = core.now

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
