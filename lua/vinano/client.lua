-- The client object users hold: options, argument checks, validation and
-- the refusals that need no server; execute.lua runs the calls themselves.
-- wait(), the callback variants and generate_many are built on top.
local core = require "vinano.core"
local validate = require "vinano.validate"
local models = require "vinano.models"
local execute = require "vinano.execute"
local Limiter = require "vinano.ratelimit"

---A client: one libcurl multi handle, its options, its last response.
---The callback-last variants start a vinano.async task and return it:
---@class vinano.Client
---@field base_url string
---@field timeout number
---@field generate_cb fun(self: vinano.Client, params: vinano.GenerateParams, opts: vinano.CallOptions?, cb: fun(res: vinano.Result?, err: vinano.Error?)): vinano.AsyncTask
---@field submit_async_cb fun(self: vinano.Client, params: vinano.GenerateParams, opts: vinano.CallOptions?, cb: fun(task: vinano.Task?, err: vinano.Error?)): vinano.AsyncTask
---@field poll_cb fun(self: vinano.Client, task_id: string|integer, opts: vinano.CallOptions?, cb: fun(status: vinano.TaskStatus?, err: vinano.Error?)): vinano.AsyncTask
---@field wait_cb fun(self: vinano.Client, task_id: string|integer, opts: vinano.WaitOptions?, cb: fun(done: vinano.TaskStatus?, err: vinano.Error?)): vinano.AsyncTask
---@field download_cb fun(self: vinano.Client, url: string, path: string, opts: vinano.CallOptions?, cb: fun(file: table?, err: vinano.Error?)): vinano.AsyncTask
local Client = {}
Client.__index = Client

local DEFAULTS = { timeout = 180, connect_timeout = 10, base_url = "https://vinano.ai", max_retries = 2,
  stall_timeout = 30 }

-- msg is formatted with detail only on failure: no string is built per call
local function argcheck(cond, n, fname, msg, detail)
  if not cond then
    if detail ~= nil then msg = msg:format(detail) end
    error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), 3)
  end
end

local function opt_type(opts, key, expected)
  local v = opts[key]
  if v ~= nil and type(v) ~= expected then
    error(("bad option '%s' to 'vinano.new' (%s expected, got %s)"):format(key, expected, type(v)), 3)
  end
end

-- Plain http carries the token in clear: only to this machine by default.
local function plain_http_to_other_host(url)
  local scheme, host = url:match("^(%a[%w+.-]*)://%[?([^/:%]]*)")
  if not scheme or scheme:lower() ~= "http" then return false end
  host = host:lower()
  return not (host == "localhost" or host == "::1" or host:match("^127%.%d+%.%d+%.%d+$"))
end

local OPTION_TYPES = {
  token = "string", base_url = "string", timeout = "number", connect_timeout = "number",
  ca_file = "string", proxy = "string", user_agent = "string", sleep = "function",
  max_retries = "number", on_retry = "function", on_request = "function", on_response = "function",
  plan = "string", rate_limit = "number", rate_window = "number", max_credits = "number",
  stall_timeout = "number", max_response = "number",
}

---@param opts vinano.Options?
---@return vinano.Client
function Client.new(opts)
  opts = opts or {}
  argcheck(type(opts) == "table", 1, "vinano.new", "table expected, got %s", type(opts))
  for key, t in pairs(OPTION_TYPES) do opt_type(opts, key, t) end
  if opts.plan ~= nil and not Limiter.PLANS[opts.plan] then
    error("bad option 'plan' to 'vinano.new' (\"monthly\" or \"yearly\" expected)", 2)
  end
  local base_url = opts.base_url or os.getenv("VINANO_BASE_URL") or DEFAULTS.base_url
  local timeout = opts.timeout or DEFAULTS.timeout
  local c = core.new {
    token = opts.token or os.getenv("VINANO_API_TOKEN"),
    base_url = base_url,
    timeout = timeout,
    connect_timeout = opts.connect_timeout or DEFAULTS.connect_timeout,
    ca_file = opts.ca_file, proxy = opts.proxy,
    user_agent = opts.user_agent or ("vinano/" .. core.version .. " (Lua; " .. _VERSION .. ")"),
    -- TLS verification is on; only this explicit option turns it off
    insecure = opts.insecure == true, verbose = opts.verbose == true,
    max_response = opts.max_response,
  }
  local stall = opts.stall_timeout or DEFAULTS.stall_timeout
  return setmetatable({
    core = c,
    base_url = base_url:gsub("/+$", ""),
    timeout = timeout,
    validate = opts.validate ~= false,
    sleep = opts.sleep,
    max_retries = opts.max_retries or DEFAULTS.max_retries,
    retry_unsafe = opts.retry_unsafe == true,
    on_retry = opts.on_retry, on_request = opts.on_request, on_response = opts.on_response,
    limiter = Limiter.new(opts),
    max_credits = opts.max_credits,
    -- generate and submit wait silently while the server works: no stall bound there
    stall_timeout = { poll = stall, download = stall },
    plain_http_refused = opts.allow_http ~= true and plain_http_to_other_host(base_url),
    last = nil,
  }, Client)
end

function Client:__tostring()
  return tostring(self.core)
end

local pack = table.pack or function(...) return { n = select("#", ...), ... } end
local unpack = table.unpack or unpack

local function check_opts(opts, n, fname)
  argcheck(opts == nil or type(opts) == "table", n, fname, "options table expected, got %s", type(opts))
  if opts and opts.on_progress ~= nil then
    argcheck(type(opts.on_progress) == "function", n, fname, "on_progress must be a function")
  end
end

local function refuse_plain_http()
  return nil, core.error { kind = "invalid_request", field = "base_url", rule = "https", message =
    "base_url: the token is only sent over https, or plain http to loopback (allow_http = true to override)" }
end

-- The API calls: validation and the refusals that need no server in
-- front, then execute (rate limit, retries, deadline).
local function call(self, fname, op, arg, opts, check)
  argcheck(getmetatable(self) == Client, 1, fname, "client expected (use client:%s)", fname)
  if self.plain_http_refused then return refuse_plain_http() end
  if self.validate then
    local ok, err = check(arg)
    if not ok then return nil, err end
  end
  if op ~= "poll" then
    local max = opts and opts.max_credits or self.max_credits
    local cost = max and models.estimate_credits(arg)
    if max and cost > max then
      return nil, core.error { kind = "invalid_request", field = "max_credits", rule = "max_credits",
        estimate = cost, message = ("max_credits: this request is estimated at %d credits, over the limit of %d")
          :format(cost, max) }
    end
  end
  return execute.run(self, op, arg, nil, opts)
end

---@param params vinano.GenerateParams
---@param opts vinano.CallOptions?
---@return vinano.Result? result
---@return vinano.Error? err
function Client:generate(params, opts)
  argcheck(type(params) == "table", 1, "generate", "table expected, got %s", type(params))
  check_opts(opts, 2, "generate")
  return call(self, "generate", "generate", params, opts, validate.params)
end

---@param params vinano.GenerateParams
---@param opts vinano.CallOptions?
---@return vinano.Task? task
---@return vinano.Error? err
function Client:submit_async(params, opts)
  argcheck(type(params) == "table", 1, "submit_async", "table expected, got %s", type(params))
  check_opts(opts, 2, "submit_async")
  return call(self, "submit_async", "submit", params, opts, validate.params)
end

---@param task_id string|integer
---@param opts vinano.CallOptions?
---@return vinano.TaskStatus? status
---@return vinano.Error? err
function Client:poll(task_id, opts)
  local t = type(task_id)
  argcheck(t == "string" or t == "number", 1, "poll", "task id expected, got %s", t)
  check_opts(opts, 2, "poll")
  return call(self, "poll", "poll", task_id, opts, validate.task_id)
end

-- Polls until the task is done or failed, or the deadline passes.  Between
-- polls it sleeps with opts.sleep / the client's sleep (an event loop's
-- yielding sleep) or else blocks the thread.
---@param task_id string|integer
---@param opts vinano.WaitOptions?
---@return vinano.TaskStatus? done
---@return vinano.Error? err
function Client:wait(task_id, opts)
  opts = opts or {}
  argcheck(type(opts) == "table", 2, "wait", "table expected, got %s", type(opts))
  local interval = opts.interval or 3
  local timeout = opts.timeout or 300
  argcheck(type(interval) == "number" and interval >= 0, 2, "wait", "interval must be a number >= 0")
  argcheck(type(timeout) == "number" and timeout > 0, 2, "wait", "timeout must be a number > 0")
  local deadline = core.now() + timeout
  local polls, state = 0, "pending"
  local function expired()
    return nil, core.error {
      kind = "timeout", task_id = task_id, polls = polls,
      message = ("task %s still %s after %g s (wait timeout)"):format(tostring(task_id), state, timeout),
    }
  end
  while true do
    local st, err = self:poll(task_id, { timeout = math.max(0.001, deadline - core.now()) })
    if not st then
      -- a poll cut short by wait's own deadline is wait's timeout
      if err.kind == "timeout" and core.now() >= deadline - 0.01 then return expired() end
      return nil, err
    end
    polls, state = polls + 1, st.state
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
    if left <= 0 then return expired() end
    if opts.sleep then opts.sleep(math.min(interval, left)) else execute.sleep(self, math.min(interval, left)) end
  end
end

-- Streams url to the file path (through a temporary name, renamed when
-- complete).  The token goes only to URLs under the client's base_url.
---@param url string
---@param path string
---@param opts vinano.CallOptions?
---@return vinano.Result? file the download's facts (`path`, `bytes`, ...)
---@return vinano.Error? err
function Client:download(url, path, opts)
  argcheck(type(url) == "string", 1, "download", "URL string expected, got %s", type(url))
  argcheck(type(path) == "string", 2, "download", "file path expected, got %s", type(path))
  check_opts(opts, 3, "download")
  if self.plain_http_refused and url:sub(1, #self.base_url + 1) == self.base_url .. "/" then
    return refuse_plain_http()
  end
  return execute.run(self, "download", url, path, opts)
end

-- Callback-last variants, for plenary.async.wrap / nvim-nio's wrap:
--   client:generate_cb(params, function(res, err) end)
-- They start a vinano.async task and return it at once; a driver (the luv
-- adapter, async.update in a frame loop, or async.run) moves it along.
for _, name in ipairs { "generate", "submit_async", "poll", "wait", "download" } do
  Client[name .. "_cb"] = function(self, ...)
    local n = select("#", ...)
    local cb = select(n, ...)
    argcheck(n >= 1 and type(cb) == "function", n + 1, name .. "_cb", "callback function expected last")
    local args = pack(...)
    return require("vinano.async").spawn(function()
      cb(self[name](self, unpack(args, 1, n - 1)))
    end)
  end
end

-- Generates every params table of list with at most opts.concurrency in
-- flight; returns a list in input order where each entry is the result or
-- the error (errors have a .kind).  Yields inside a task, blocks elsewhere.
---@param list vinano.GenerateParams[]
---@param opts vinano.ManyOptions?
---@return (vinano.Result|vinano.Error)[] results in input order
function Client:generate_many(list, opts)
  argcheck(type(list) == "table", 1, "generate_many", "list of params tables expected, got %s", type(list))
  opts = opts or {}
  argcheck(type(opts) == "table", 2, "generate_many", "options table expected, got %s", type(opts))
  local concurrency = opts.concurrency or 8
  argcheck(type(concurrency) == "number" and concurrency >= 1, 2, "generate_many", "concurrency must be >= 1")
  local results, next_index, n = {}, 0, #list
  local function worker()
    while next_index < n do
      next_index = next_index + 1
      local i = next_index
      local res, err = self:generate(list[i])
      results[i] = res or err
    end
  end
  local workers = {}
  for k = 1, math.min(concurrency, n) do workers[k] = worker end
  if #workers > 0 then require("vinano.async").all(workers) end
  return results
end

-- {status=, headers={...}, rate_limit={limit=, remaining=, reset=}} of the
-- last response this client received, or nil before the first.
---@return vinano.Info? info nil before the first response
function Client:last_response()
  return self.last
end

---@return nil
function Client:close()
  self.core:close()
end

Client.__close = Client.close

return Client
