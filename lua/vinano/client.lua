-- The client object users hold: argument checks, validation, the blocking
-- calls of the C core, and wait() on top of poll.
local core = require "vinano.core"
local validate = require "vinano.validate"

local Client = {}
Client.__index = Client

local DEFAULTS = { timeout = 180, connect_timeout = 10, base_url = "https://vinano.ai" }

local function argcheck(cond, n, fname, msg)
  if not cond then error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), 3) end
end

local function opt_type(opts, key, expected)
  local v = opts[key]
  if v ~= nil and type(v) ~= expected then
    error(("bad option '%s' to 'vinano.new' (%s expected, got %s)"):format(key, expected, type(v)), 3)
  end
end

function Client.new(opts)
  opts = opts or {}
  argcheck(type(opts) == "table", 1, "vinano.new", "table expected, got " .. type(opts))
  for key, t in pairs { token = "string", base_url = "string", timeout = "number", connect_timeout = "number",
    ca_file = "string", proxy = "string", user_agent = "string", sleep = "function" } do
    opt_type(opts, key, t)
  end
  local base_url = opts.base_url or os.getenv("VINANO_BASE_URL") or DEFAULTS.base_url
  local c = core.new {
    token = opts.token or os.getenv("VINANO_API_TOKEN"),
    base_url = base_url,
    timeout = opts.timeout or DEFAULTS.timeout,
    connect_timeout = opts.connect_timeout or DEFAULTS.connect_timeout,
    ca_file = opts.ca_file, proxy = opts.proxy,
    user_agent = opts.user_agent or ("vinano/" .. core.version .. " (Lua; " .. _VERSION .. ")"),
    insecure = opts.insecure == true, verbose = opts.verbose == true,
    max_response = opts.max_response,
  }
  return setmetatable({
    core = c,
    base_url = base_url,
    validate = opts.validate ~= false,
    sleep = opts.sleep,
    last = nil,
  }, Client)
end

function Client:__tostring()
  return tostring(self.core)
end

-- The three operations of the C core, with validation in front.
local function call(self, fname, params, check)
  argcheck(getmetatable(self) == Client, 1, fname, "client expected (use client:" .. fname .. ")")
  if self.validate then
    local ok, err = check(params)
    if not ok then return nil, err end
  end
  local res, err, info = self.core[fname](self.core, params)
  if info then self.last = info end
  return res, err
end

function Client:generate(params)
  argcheck(type(params) == "table", 1, "generate", "table expected, got " .. type(params))
  return call(self, "generate", params, validate.params)
end

function Client:submit_async(params)
  argcheck(type(params) == "table", 1, "submit_async", "table expected, got " .. type(params))
  return call(self, "submit_async", params, validate.params)
end

function Client:poll(task_id)
  local t = type(task_id)
  argcheck(t == "string" or t == "number", 1, "poll", "task id expected, got " .. t)
  return call(self, "poll", task_id, validate.task_id)
end

-- Polls until the task is done or failed, or the deadline passes.  Between
-- polls it sleeps with opts.sleep / the client's sleep (an event loop's
-- yielding sleep) or else blocks the thread.
function Client:wait(task_id, opts)
  opts = opts or {}
  argcheck(type(opts) == "table", 2, "wait", "table expected, got " .. type(opts))
  local interval = opts.interval or 3
  local timeout = opts.timeout or 300
  argcheck(type(interval) == "number" and interval >= 0, 2, "wait", "interval must be a number >= 0")
  argcheck(type(timeout) == "number" and timeout > 0, 2, "wait", "timeout must be a number > 0")
  local sleep = opts.sleep or self.sleep or core.sleep
  local deadline = core.now() + timeout
  local polls = 0
  while true do
    local st, err = self:poll(task_id)
    if not st then return nil, err end
    polls = polls + 1
    if opts.on_poll then opts.on_poll(st) end
    if st.state == "done" then return st end
    if st.state == "failed" then
      local msg = st.message or st.error or st.msg or st.detail
      return nil, core.error {
        kind = "task_failed", status = tonumber(st.status), task_id = task_id, task = st,
        message = ("task %s failed: %s"):format(tostring(task_id), type(msg) == "string" and msg or "no reason given"),
      }
    end
    local left = deadline - core.now()
    if left <= 0 then
      return nil, core.error {
        kind = "timeout", task_id = task_id, polls = polls,
        message = ("task %s still %s after %g s (wait timeout)"):format(tostring(task_id), st.state, timeout),
      }
    end
    sleep(math.min(interval, left))
  end
end

-- Streams url to the file path (through a temporary name, renamed when
-- complete).  The token goes only to URLs under the client's base_url.
function Client:download(url, path)
  argcheck(type(url) == "string", 1, "download", "URL string expected, got " .. type(url))
  argcheck(type(path) == "string", 2, "download", "file path expected, got " .. type(path))
  local res, err = self.core:download(url, path)
  return res, err
end

-- {status=, headers={...}, rate_limit={limit=, remaining=, reset=}} of the
-- last response this client received, or nil before the first.
function Client:last_response()
  return self.last
end

function Client:close()
  self.core:close()
end

Client.__close = Client.close

return Client
