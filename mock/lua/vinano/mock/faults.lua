-- The fault queue: injected misbehaviour for the next matching requests.
-- A fault is a table { action=, path=?, method=?, times=?, ...action options }.
-- Faults are tried in the order they were added; the first that matches a
-- request applies to it and loses one of its `times` (-1: never runs out).
local json = require "vinano.mock.json"
local http = require "vinano.mock.http"
local number = require("vinano.mock.config").number

local M = {}

local ACTIONS = {
  delay = true, status = true, drop = true, drop_mid_body = true, malformed = true, html = true,
  body = true, hang_headers = true, endless_body = true, fail_task = true, redirect = true,
}
local KEYS = {
  action = "string", path = "string", method = "string", times = "number", seconds = "number",
  status = "number", body = "string", headers = "table", content_type = "string",
  location = "string", chunked = "boolean", interval = "number", bytes = "number",
}

local Queue = {}
Queue.__index = Queue

function M.new()
  return setmetatable({ list = {} }, Queue)
end

-- check(f) -> a normalised copy of the fault, or nil and an error message.
function M.check(f)
  if type(f) ~= "table" then return nil, "fault: must be a JSON object" end
  local out = {}
  for k, v in pairs(f) do
    if not KEYS[k] then return nil, tostring(k) .. ": unknown fault field" end
    if type(v) ~= KEYS[k] then return nil, k .. ": must be a " .. KEYS[k] end
    out[k] = v
  end
  if not ACTIONS[out.action or ""] then
    return nil, "action: must be one of delay, status, drop, drop_mid_body, malformed, html, body, "
      .. "hang_headers, endless_body, fail_task, redirect"
  end
  out.times = out.times or 1
  if out.times ~= -1 and not number(out.times, 1, 1e6, true) then
    return nil, "times: must be an integer 1..1000000, or -1"
  end
  if out.path and out.path:sub(1, 1) ~= "/" then return nil, "path: must start with /" end
  if out.status and (out.status < 100 or out.status > 999 or out.status ~= math.floor(out.status)) then
    return nil, "status: must be an integer 100..999"
  end
  if out.action == "status" and not out.status then return nil, "status: required for action status" end
  if out.action == "redirect" and not out.location then return nil, "location: required for action redirect" end
  if out.seconds ~= nil and not number(out.seconds, 0, 3600) then return nil, "seconds: must be a number 0..3600" end
  if out.interval ~= nil and not number(out.interval, 0.01, 60) then
    return nil, "interval: must be a number 0.01..60"
  end
  if out.bytes ~= nil and not number(out.bytes, 1, 1024 * 1024, true) then
    return nil, "bytes: must be an integer 1..1048576"
  end
  if out.action == "delay" then out.seconds = out.seconds or 1 end
  for k, v in pairs(out.headers or {}) do
    if type(k) ~= "string" or (type(v) ~= "string" and type(v) ~= "number") then
      return nil, "headers: must map names to strings or numbers"
    end
  end
  return out
end

M.MAX_QUEUED = 1000

function Queue:add(f)
  local fault, err = M.check(f)
  if not fault then return nil, err end
  if #self.list >= M.MAX_QUEUED then return nil, "faults: at most " .. M.MAX_QUEUED .. " may wait" end
  self.list[#self.list + 1] = fault
  return fault
end

function Queue:clear() self.list = {} end

function Queue:pending() return self.list end

-- A fault path matches exactly, or as a prefix when it ends with "*".
local function path_matches(pattern, path)
  if pattern:sub(-1) == "*" then return path:sub(1, #pattern - 1) == pattern:sub(1, -2) end
  return pattern == path
end

-- Removes one use of the first fault for which accept(f) holds; returns it.
function Queue:take_first(accept)
  for i, f in ipairs(self.list) do
    if accept(f) then
      if f.times > 0 then
        f.times = f.times - 1
        if f.times == 0 then table.remove(self.list, i) end
      end
      return f
    end
  end
end

-- The fault for a request. Without a `path`, a fault matches any API path
-- (/api/...); with one, any path it names (so /images/* can fail too).
-- fail_task faults are not taken here: they wait for a task to be created.
function Queue:take(method, path)
  return self:take_first(function(f)
    if f.action == "fail_task" then return false end
    if f.method and f.method:upper() ~= method then return false end
    if f.path then return path_matches(f.path, path) end
    return path:sub(1, 5) == "/api/"
  end)
end

function Queue:take_fail_task(path)
  return self:take_first(function(f)
    return f.action == "fail_task" and (not f.path or path_matches(f.path, path))
  end)
end

local function json_error(status, message)
  return json.encode({ status = status, message = message })
end

-- response(f) -> the response that replaces the normal one, or nil when the
-- fault wraps the normal response (delay, drop_mid_body) instead.
-- Flags read by the server: drop, hang, endless (the fault), truncate.
function M.response(f)
  local a = f.action
  if a == "status" then
    local headers = { ["Content-Type"] = f.content_type or "application/json" }
    for k, v in pairs(f.headers or {}) do headers[k] = v end
    return { status = f.status, headers = headers,
      body = f.body or json_error(f.status, http.REASONS[f.status] or "error") }
  elseif a == "malformed" then
    return { status = 200, headers = { ["Content-Type"] = "application/json" },
      body = '{"status":200,"images":[' }
  elseif a == "html" then
    local status = f.status or 502
    local title = status .. " " .. (http.REASONS[status] or "Error")
    return { status = status, headers = { ["Content-Type"] = "text/html" },
      body = "<html><head><title>" .. title .. "</title></head><body><h1>" .. title
        .. "</h1><hr><center>nginx</center></body></html>\r\n" }
  elseif a == "body" then
    return { status = f.status or 200, headers = { ["Content-Type"] = f.content_type or "application/json" },
      body = f.body or "" }
  elseif a == "redirect" then
    return { status = f.status or 302, headers = { Location = f.location }, body = "" }
  elseif a == "drop" then
    return { drop = true }
  elseif a == "hang_headers" then
    return { hang = true }
  elseif a == "endless_body" then
    return { endless = f, status = 200 }
  end
  return nil
end

return M
