-- The mock's own control API under /_mock/ (JSON in and out, no auth):
-- test code uses it to read the request log, queue faults, change settings
-- and reset or stop the server. Loopback-only binding is what protects it.
local faults = require "vinano.mock.faults"
local json = require "vinano.mock.json"

local M = {}

local function ok(extra)
  local body = { ok = true }
  for k, v in pairs(extra or {}) do body[k] = v end
  return { status = 200, headers = { ["Content-Type"] = "application/json" }, body = json.encode(body) }
end

local function bad(status, message)
  return { status = status, headers = { ["Content-Type"] = "application/json" },
    body = json.encode({ status = status, message = message }) }
end

local function body_json(req)
  if not req.body or req.body == "" then return nil, "body: a JSON value is required" end
  local v, err = json.decode(req.body)
  if v == nil then return nil, "body: invalid JSON (" .. tostring(err) .. ")" end
  return v
end

local function list_reply(list)
  return { status = 200, headers = { ["Content-Type"] = "application/json" },
    body = json.encode(json.array(list)) }
end

local HANDLERS = {
  ["GET /_mock/health"] = function() return ok() end,

  ["GET /_mock/requests"] = function(srv) return list_reply(srv:requests()) end,

  ["DELETE /_mock/requests"] = function(srv)
    srv:clear()
    return ok()
  end,

  ["GET /_mock/faults"] = function(srv) return list_reply(srv.faults:pending()) end,

  -- One fault object, or an array of them (all are checked before any is queued).
  ["POST /_mock/faults"] = function(srv, req)
    local v, err = body_json(req)
    if v == nil then return bad(400, err) end
    local list = (type(v) == "table" and v[1] ~= nil) and v or { v }
    for _, f in ipairs(list) do
      local good, why = faults.check(f)
      if not good then return bad(400, why) end
    end
    for _, f in ipairs(list) do srv:fault(f) end
    return ok({ queued = #srv.faults:pending() })
  end,

  ["DELETE /_mock/faults"] = function(srv)
    srv.faults:clear()
    return ok()
  end,

  ["GET /_mock/config"] = function(srv) return ok({ config = srv:settings() }) end,

  ["POST /_mock/config"] = function(srv, req)
    local v, err = body_json(req)
    if type(v) ~= "table" then return bad(400, err or "body: must be a JSON object") end
    local good, why = srv:set(v, true)
    if not good then return bad(400, why) end
    return ok({ config = srv:settings() })
  end,

  ["POST /_mock/reset"] = function(srv)
    srv:reset()
    return ok()
  end,

  ["POST /_mock/shutdown"] = function(srv)
    local resp = ok()
    resp.close = true
    resp.after = function() srv:stop() end -- once the answer is out
    return resp
  end,
}

function M.handle(srv, req)
  local handler = HANDLERS[req.method .. " " .. req.path]
  if handler then return handler(srv, req) end
  for key in pairs(HANDLERS) do
    if key:match("^%u+ (.*)$") == req.path then return bad(405, "method not allowed") end
  end
  return bad(404, "no such control endpoint")
end

return M
