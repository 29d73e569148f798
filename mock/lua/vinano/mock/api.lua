-- The ViNano API endpoints as the mock serves them: authentication, the
-- per-token rate limit, parameter rules, credits, sync generation and async
-- tasks. Every function here is synchronous (no waiting): the server calls
-- handle() under pcall and does all I/O itself.
local json = require "vinano.mock.json"
local rules = require "vinano.mock.rules"
local png = require "vinano.mock.png"
local text = require "vinano.mock.text"

local M = {}

M.GENERATE = "/api/v2/images/generate"
M.SUBMIT = "/api/v1/images/async"
M.POLL = "/api/v1/images/task-status"

local function reply(status, body, headers)
  headers = headers or {}
  headers["Content-Type"] = headers["Content-Type"] or "application/json"
  return { status = status, headers = headers, body = json.encode(body) }
end
M.reply = reply

local function error_reply(status, message, headers)
  return reply(status, { status = status, message = message }, headers)
end
M.error_reply = error_reply

-- authenticate(srv, header) -> 1-based token index, or nil and a message.
-- The scheme is case-insensitive (RFC 7235); exactly one credential.
function M.authenticate(srv, header)
  if not header then return nil, "missing Authorization header (expected: Bearer <token>)" end
  local token = header:match("^[Bb][Ee][Aa][Rr][Ee][Rr] +([^%s]+)$")
  if not token then return nil, "malformed Authorization header (expected: Bearer <token>)" end
  for i, t in ipairs(srv.cfg.tokens) do
    if t == token then return i end
  end
  return nil, "invalid API token"
end

-- Fixed-window rate limit per token: a window opens with the first request
-- after the previous one ended and lasts rate_window seconds; at most
-- rate_limit requests are accepted in it. Rejected (429) requests do not
-- count. X-RateLimit-Reset is when the window ends: the moment Remaining
-- returns to Limit. Returns the headers, and Retry-After seconds when over.
function M.rate_limit(srv, index, now)
  local cfg = srv.cfg
  local w = srv.windows[index]
  if not w or now >= w.ends then
    w = { ends = now + cfg.rate_window, count = 0 }
    srv.windows[index] = w
  end
  local retry_after
  if w.count >= cfg.rate_limit then
    retry_after = math.max(1, math.ceil(w.ends - now))
  else
    w.count = w.count + 1
  end
  local reset = cfg.reset_style == "delta" and math.max(1, math.ceil(w.ends - now)) or math.ceil(w.ends)
  return {
    ["X-RateLimit-Limit"] = cfg.rate_limit,
    ["X-RateLimit-Remaining"] = cfg.rate_limit - w.count,
    ["X-RateLimit-Reset"] = reset,
  }, retry_after
end

-- The form fields of a POST: parsed by the server beforehand (req.parts),
-- or the reason they could not be.
local function form_params(req)
  if req.form_error then return nil, req.form_error end
  return rules.validate(req.parts)
end

-- Makes the image for a finished generation and the success body for it.
local function result_body(srv, params, cost, id)
  local width, height = rules.dimensions(params.aspectRatio)
  srv.image_seed = (srv.image_seed or 0) + 1
  local data = png.gradient(width, height, srv.image_seed)
  srv.images:put(id, data)
  return {
    status = 200,
    images = json.array({ srv:url() .. "/images/" .. id .. ".png" }),
    imageDetails = json.array({ { width = width, height = height, filesize = #data } }),
    uuid = id,
    prompt = params.prompt or "",
    model = params.model,
    credits = { cost = cost },
  }
end

-- Validates and charges; returns params and cost, or nil and a reply.
local function accept_order(srv, req, index)
  local params, err = form_params(req)
  if not params then return nil, error_reply(400, err) end
  local cost = rules.cost(params)
  if srv.balances[index] < cost then return nil, error_reply(495, "Insufficient credits") end
  srv.balances[index] = srv.balances[index] - cost
  return params, cost
end

local function generate(srv, req, index)
  local params, cost = accept_order(srv, req, index)
  if not params then return cost end
  return reply(200, result_body(srv, params, cost, text.uuid()))
end

local function submit(srv, req, index, now)
  local params, cost = accept_order(srv, req, index)
  if not params then return cost end
  local id = text.uuid()
  local failing = srv.faults:take_fail_task(req.path)
  srv.tasks:put(id, { id = id, token = index, created = now, params = params, cost = cost,
    failed = failing ~= nil })
  return reply(202, {
    status = 202,
    task_id = id,
    message = "Task submitted. Use GET /api/v1/images/task-status?task_id={task_id} to poll for results.",
    model = params.model,
    credits = { cost = cost },
  })
end

local function poll(srv, req, index, now)
  local id = req.query.task_id
  if type(id) == "table" then return error_reply(400, "task_id: must be given once") end
  if not id or id == "" then return error_reply(400, "task_id: is required") end
  local task = srv.tasks:get(id)
  -- Another token's task is as unknown as a task that never existed.
  if not task or task.token ~= index then return error_reply(404, "task not found") end
  if now - task.created < srv.cfg.task_delay then
    if srv.cfg.pending_style == "string" then
      return reply(200, { status = "processing", task_id = id })
    end
    return reply(202, { status = 202, task_id = id, message = "processing" })
  end
  if task.failed then
    -- Credits stay charged: the page does not say that a failure refunds.
    return reply(200, { status = "failed", task_id = id, message = "image generation failed" })
  end
  -- The image is made once, on the first poll after the delay, then kept.
  task.result = task.result or result_body(srv, task.params, task.cost, id)
  return reply(200, task.result)
end

local ROUTES = {
  [M.GENERATE] = { method = "POST", fn = generate },
  [M.SUBMIT] = { method = "POST", fn = submit },
  [M.POLL] = { method = "GET", fn = poll },
}

function M.is_endpoint(path)
  return ROUTES[path] ~= nil
end

-- handle(srv, req, now) -> response { status, headers, body }.
-- Order: route, authentication (401 carries no rate-limit headers), rate
-- limit (429), method (405), then the endpoint (400, 495, 200/202, 404).
function M.handle(srv, req, now)
  local route = ROUTES[req.path]
  if not route then return error_reply(404, "not found") end
  local index, why = M.authenticate(srv, req.headers["authorization"])
  if not index then return error_reply(401, why) end
  local limit_headers, retry_after = M.rate_limit(srv, index, now)
  local resp
  if retry_after then
    resp = error_reply(429, "Rate limit exceeded", { ["Retry-After"] = retry_after })
  elseif req.method ~= route.method then
    resp = error_reply(405, "method not allowed", { Allow = route.method })
  else
    resp = route.fn(srv, req, index, now)
  end
  for k, v in pairs(limit_headers) do resp.headers[k] = v end
  return resp
end

return M
