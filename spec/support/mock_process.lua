-- Runs mock/bin/vinano-mock (the vinano-mock rock, from this checkout) as a
-- separate process for specs.
--
--   local M = require "spec.support.mock_process"
--   local mock = M.start{ tokens = { "t1" }, rate_limit = 3, task_delay = 0.5 }
--   -- mock.url, mock.port, mock.pid
--   mock:fault{ action = "status", status = 500 }
--   ... requests against mock.url ...
--   local log = mock:requests()
--   mock:stop()
--
-- Options are the CLI's, in Lua spelling: tokens (list), credits, rate_limit,
-- rate_window, task_delay, max_upload, pending_style, reset_style, host,
-- lifetime (default 600 s, so a spec that dies early leaves no server
-- behind for long), max_connections; plus verbose=true (request lines on
-- stderr; or set VINANO_MOCK_VERBOSE=1), stderr=PATH (the mock's stderr
-- goes to that file) and lua="lua5.4" (the interpreter that runs the mock;
-- or set VINANO_MOCK_LUA).
-- Uses only LuaSocket, cjson and io/os, so it runs under any Lua.
local http = require "socket.http"
local ltn12 = require "ltn12"
local cjson = require "cjson"

local M = {}

local Mock = {}
Mock.__index = Mock

-- The repository root, from this file's own path (spec/support/...).
local function root()
  local source = debug.getinfo(1, "S").source:gsub("^@", "")
  local dir = source:match("^(.*)/spec/support/[^/]*$")
  if dir then return dir end
  if source:match("^spec/support/") then return "." end
  return "."
end

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.quote = quote

local FLAGS = {
  credits = "--credits", rate_limit = "--rate-limit", rate_window = "--rate-window",
  task_delay = "--task-delay", max_upload = "--max-upload", pending_style = "--pending-style",
  reset_style = "--reset-style", host = "--host", lifetime = "--lifetime",
  max_connections = "--max-connections",
}

-- start(opts) -> a running mock. Raises if it does not come up.
function M.start(opts)
  opts = opts or {}
  local lua = opts.lua or os.getenv("VINANO_MOCK_LUA") or "lua5.4"
  local args = { lua, root() .. "/mock/bin/vinano-mock", "--port", "0" }
  for _, t in ipairs(opts.tokens or {}) do
    args[#args + 1] = "--token"
    args[#args + 1] = t
  end
  local settings = {}
  for k, v in pairs(opts) do settings[k] = v end
  settings.lifetime = settings.lifetime or 600
  local names = {}
  for k in pairs(FLAGS) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    if settings[k] ~= nil then
      args[#args + 1] = FLAGS[k]
      args[#args + 1] = tostring(settings[k])
    end
  end
  if not (opts.verbose or os.getenv("VINANO_MOCK_VERBOSE")) then args[#args + 1] = "--quiet" end
  local quoted = {}
  for i, a in ipairs(args) do quoted[i] = quote(a) end
  -- exec: the shell becomes the mock, so the pid it prints is the child's.
  local command = "exec " .. table.concat(quoted, " ")
  if opts.stderr then command = command .. " 2>" .. quote(opts.stderr) end
  local pipe = assert(io.popen(command, "r"))
  local line = pipe:read("*l")
  local url, pid = (line or ""):match("^vinano%-mock listening on (http://%S+) pid=(%d+)$")
  if not url then
    pipe:close()
    error("vinano-mock did not start (" .. command .. "): " .. tostring(line), 2)
  end
  return setmetatable({
    url = url,
    port = tonumber(url:match(":(%d+)$")),
    pid = tonumber(pid),
    pipe = pipe,
    command = command,
  }, Mock)
end

-- control(method, path, value) -> decoded JSON answer, HTTP status.
function Mock:control(method, path, value)
  local body = value ~= nil and cjson.encode(value) or nil
  local chunks = {}
  local ok, status = http.request({
    url = self.url .. path,
    method = method,
    headers = body and { ["content-type"] = "application/json", ["content-length"] = #body } or nil,
    source = body and ltn12.source.string(body) or nil,
    sink = ltn12.sink.table(chunks),
  })
  if not ok then error("vinano-mock control " .. method .. " " .. path .. ": " .. tostring(status), 2) end
  local text = table.concat(chunks)
  local decoded_ok, decoded = pcall(cjson.decode, text)
  return decoded_ok and decoded or text, status
end

local function expect_ok(self, method, path, value)
  local answer, status = self:control(method, path, value)
  if status ~= 200 then
    error("vinano-mock control " .. method .. " " .. path .. " -> " .. tostring(status) .. ": "
      .. (type(answer) == "table" and tostring(answer.message) or tostring(answer)), 3)
  end
  return answer
end

-- The request log: a list of entries (see mock/lua/vinano/mock/requestlog.lua).
function Mock:requests() return expect_ok(self, "GET", "/_mock/requests") end

-- Empties the request log.
function Mock:clear() return expect_ok(self, "DELETE", "/_mock/requests") end

-- Queues one fault, or a list of faults.
function Mock:fault(f) return expect_ok(self, "POST", "/_mock/faults", f) end

function Mock:clear_faults() return expect_ok(self, "DELETE", "/_mock/faults") end

-- Changes run-time settings: credits, rate_limit, rate_window, task_delay,
-- pending_style, reset_style, max_upload, quiet.
function Mock:set(cfg) return expect_ok(self, "POST", "/_mock/config", cfg) end

function Mock:config() return expect_ok(self, "GET", "/_mock/config").config end

-- Log, faults, tasks, rate windows and balances back to the start.
function Mock:reset() return expect_ok(self, "POST", "/_mock/reset") end

-- Kills the process and waits for it to exit. Safe to call twice.
function Mock:stop()
  if not self.pipe then return end
  os.execute("kill " .. self.pid .. " 2>/dev/null")
  self.pipe:close() -- waits for the process
  self.pipe = nil
end

return M
