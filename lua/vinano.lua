-- vinano: the Lua client for the ViNano image generation API.
--   local vinano = require "vinano"
--   local client = vinano.new{ token = "..." }
--   local res, err = client:generate{ prompt = "a beautiful sunset over the ocean" }
--
-- Requiring this module loads no C code: libcurl (through vinano.core) is
-- loaded by the first vinano.new, or the first vinano.now/sleep/curl call,
-- so a Neovim plugin that requires vinano at start-up pays nothing for it.
local api = require "vinano.api"
local errors = require "vinano.errors"

local M = {
  version = "0.1.0",
  errors = errors, -- errors.kinds: every kind, what it means, whether it is retried
}

local function core() return require "vinano.core" end

--- Makes a client.  Raises on a bad or unknown option, naming it.
---@param opts? vinano.Options
---@return vinano.Client
function M.new(opts)
  return require("vinano.client").new(opts)
end

--- Credits a request will cost, from the API page's table.
---@param params vinano.GenerateParams
---@return integer credits
function M.estimate_credits(params)
  if type(params) ~= "table" then
    error("bad argument #1 to 'estimate_credits' (table expected, got " .. type(params) .. ")", 2)
  end
  return api.estimate_credits(params)
end

--- Blocks for s seconds (a script without an event loop).  Raises on a
--- negative, NaN or infinite s.
---@param s number
---@return nil
function M.sleep(s)
  return core().sleep(s)
end

--- Monotonic seconds, for deadlines that do not jump with the wall clock.
---@return number
function M.now()
  return core().now()
end

--- libcurl's version and features, from curl_version_info.
---@return {version: string, version_num: integer, ssl: string?, http2: boolean, http3: boolean, protocols: string[]}
function M.curl()
  return core().curl()
end

--- Makes an error of vinano's kind from a table (given the error
--- metatable, so its __tostring; raises on an unknown kind).
---@param t {kind: vinano.ErrorKind, message: string}|table
---@return vinano.Error
function M.error(t)
  return errors.from(t)
end

--- Flushes a Lua file handle and asks the system to put it on disk (fsync).
---@param fh file*
---@return true|nil ok
---@return string|nil err
function M.fsync(fh)
  return core().fsync(fh)
end

-- Loaded on first use: JSON null (lua-cjson's), the async scheduler, batches.
local LAZY = {
  null = function() return require("cjson").null end,
  async = function() return require "vinano.async" end,
  batch = function() return require "vinano.batch" end,
  curl_version = function() return core().curl().version end,
}

return setmetatable(M, { __index = function(t, k)
  local load = LAZY[k]
  if load then
    local v = load()
    rawset(t, k, v)
    return v
  end
end })
