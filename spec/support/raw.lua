-- Specs that drive vinano.core directly: the transfer spec of an API call
-- and the reading of its facts, as the Lua layer makes them.
local api = require "vinano.api"
local response = require "vinano.response"

local M = {}

-- The core start spec of a generate call of params against base_url.
function M.generate(base_url, params, extra)
  local spec = { method = "POST", url = base_url .. api.endpoints.generate.path, auth = true,
    parts = api.parts(params) }
  for k, v in pairs(extra or {}) do spec[k] = v end
  return spec
end

-- res, err, info of a finished transfer, read as op.
function M.result(t, op)
  return response.classify(t:result(), { op = op or "generate", max_response = 64 * 1024 * 1024,
    unix_now = os.time() })
end

return M
