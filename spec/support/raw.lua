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

-- The core client whose redaction classify applies (these specs give the
-- server no token to echo; the client's own redaction is redaction_spec's).
local redactor

-- res, err, info of a finished transfer, read as op.
function M.result(t, op)
  redactor = redactor or require("vinano.core").new {}
  return response.classify(t:result(), { op = op or "generate", max_response = 64 * 1024 * 1024,
    unix_now = os.time(), core = redactor })
end

return M
