-- The client object users hold: its options (checked, unknown ones refused),
-- argument checks, the refusals that need no server, and the transfer spec
-- of each operation.  call.lua runs the attempts; wait(), the callback
-- variants and generate_many are built on the calls.
local core = require "vinano.core"
local api = require "vinano.api"
local errors = require "vinano.errors"
local validate = require "vinano.validate"
local route = require "vinano.route"
local call = require "vinano.call"
local transport = require "vinano.transport"
local Limiter = require "vinano.ratelimit"
local options = require "vinano.options"

---A client (`vinano.new`).  Its methods block in a plain script and yield
---inside a vinano.async task; the `_cb` variants start a task and call back.
---@class vinano.Client
---@field base_url string the base URL, normalised (no trailing slash)
---@field timeout number seconds for one whole call
---@field generate_cb fun(self: vinano.Client, params: vinano.GenerateParams, opts: vinano.CallOptions|nil, cb: fun(res: vinano.Result|nil, err: vinano.Error|nil)): vinano.AsyncTask
---@field submit_async_cb fun(self: vinano.Client, params: vinano.GenerateParams, opts: vinano.CallOptions|nil, cb: fun(task: vinano.Task|nil, err: vinano.Error|nil)): vinano.AsyncTask
---@field poll_cb fun(self: vinano.Client, task_id: string|integer, opts: vinano.CallOptions|nil, cb: fun(status: vinano.TaskStatus|nil, err: vinano.Error|nil)): vinano.AsyncTask
---@field wait_cb fun(self: vinano.Client, task_id: string|integer, opts: vinano.WaitOptions|nil, cb: fun(done: vinano.TaskStatus|nil, err: vinano.Error|nil)): vinano.AsyncTask
---@field download_cb fun(self: vinano.Client, url: string, path: string, opts: vinano.DownloadOptions|nil, cb: fun(file: vinano.Download|nil, err: vinano.Error|nil)): vinano.AsyncTask
---@field fetch_cb fun(self: vinano.Client, url: string, opts: vinano.CallOptions|nil, cb: fun(res: vinano.Fetched|nil, err: vinano.Error|nil)): vinano.AsyncTask
local Client = {}
Client.__index = Client

local DEFAULTS = { timeout = 180, connect_timeout = 10, max_retries = 2, stall_timeout = 30,
  max_response = 64 * 1024 * 1024 }

-- Every option vinano.new takes: its type, and for numbers the range.
local POSITIVE = { "number", min = 0, above = true }
local OPTIONS = {
  token = { "string" }, base_url = { "string" }, timeout = POSITIVE, connect_timeout = POSITIVE,
  ca_file = { "string" }, proxy = { "string" }, user_agent = { "string" }, sleep = { "function" },
  validate = { "boolean" }, max_retries = { "number", min = 0, whole = true }, retry_unsafe = { "boolean" },
  on_retry = { "function" }, on_request = { "function" }, on_response = { "function" }, plan = { "string" },
  rate_limit = { "number", min = 1, whole = true }, rate_window = POSITIVE, max_credits = { "number", min = 0 },
  stall_timeout = POSITIVE, max_response = { "number", min = 1, whole = true }, insecure = { "boolean" },
  allow_http = { "boolean" }, verbose = { "boolean" },
}

-- The per-call options (vinano.CallOptions) each operation takes.
local CALL = {}
do
  local common = { timeout = POSITIVE, max_retries = OPTIONS.max_retries, retry_unsafe = { "boolean" },
    on_retry = { "function" }, on_progress = { "function" }, on_send = { "function" } }
  local function with(extra)
    local t = {}
    for k, v in pairs(common) do t[k] = v end
    for k, v in pairs(extra) do t[k] = v end
    return t
  end
  local max_credits, stall = OPTIONS.max_credits, POSITIVE
  CALL.generate = with { max_credits = max_credits }
  CALL.submit_async = CALL.generate
  CALL.poll = with { stall = stall }
  CALL.fetch = CALL.poll
  CALL.download = with { stall = stall, mkdir = { "boolean" } }
  CALL.check = { max_credits = max_credits }
end

-- msg is formatted with detail only on failure: no string is built per call
local function argcheck(cond, n, fname, msg, detail)
  if not cond then
    if detail ~= nil then msg = msg:format(detail) end
    error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), 3)
  end
end

local function bad_option(key, why)
  error(("bad option '%s' to 'vinano.new' (%s)"):format(key, why), 4)
end

local function check_options(opts)
  options.check(opts, OPTIONS, "vinano.new", 3)
  if opts.plan ~= nil and not Limiter.PLANS[opts.plan] then bad_option("plan", '"monthly" or "yearly" expected') end
  if opts.max_response and opts.max_response > 2 ^ 53 then bad_option("max_response", "must be at most 2^53") end
end

---The options of `vinano.new`.  An unknown name raises (with a "did you
---mean" hint), so does a wrong type or range.
---@class vinano.Options
---@field token? string default: os.getenv("VINANO_API_TOKEN") ("" is none); a missing token fails the first API call
---@field base_url? string default: os.getenv("VINANO_BASE_URL") or "https://vinano.ai"; explicit http(s) scheme, no user:password@, no query
---@field timeout? number seconds for one whole call, retries and waits included (default 180)
---@field connect_timeout? number seconds (default 10)
---@field ca_file? string a CA bundle file that REPLACES the system's (libcurl's CURLOPT_CAINFO)
---@field proxy? string a proxy URL; "" for none; default: the environment's (http_proxy, https_proxy/HTTPS_PROXY, all_proxy/ALL_PROXY, NO_PROXY)
---@field user_agent? string default "vinano/VERSION (Lua; _VERSION)"
---@field validate? boolean check parameters against the API page before sending (default true)
---@field max_retries? integer retries per call, >= 0 (default 2)
---@field retry_unsafe? boolean retry a POST that may have reached the server (may cost credits twice; default false)
---@field on_retry? fun(attempt: integer, err: vinano.Error, delay: number) before each retry; a raise fails the call (kind "callback")
---@field on_request? fun(info: vinano.RequestInfo) logging hook before each attempt (never sees the token); a raise is written to stderr
---@field on_response? fun(info: vinano.ResponseInfo) logging hook after each attempt; a raise is written to stderr
---@field plan? "monthly"|"yearly" the client-side rate limit: 20 or 200 requests per 60 s
---@field rate_limit? integer requests per rate_window (instead of plan; wins over it)
---@field rate_window? number seconds (default 60)
---@field max_credits? number refuse requests whose estimate is higher
---@field stall_timeout? number poll/download/fetch: no byte for this long is a timeout (default 30)
---@field max_response? integer bytes of a body kept in memory, 1 .. 2^53 (default 64 MiB)
---@field insecure? boolean turn TLS verification off (default false)
---@field allow_http? boolean allow the token over plain http off this machine (default false)
---@field verbose? boolean libcurl's trace on stderr, credentials redacted (default false)
---@field sleep? fun(seconds: number) the blocking sleep wait() uses between polls outside a task

--- Makes a client.  Raises on a bad or unknown option, naming it.
---@param opts? vinano.Options
---@return vinano.Client
function Client.new(opts)
  opts = opts or {}
  argcheck(type(opts) == "table", 1, "vinano.new", "table expected, got %s", type(opts))
  check_options(opts)
  local base_url = opts.base_url or os.getenv("VINANO_BASE_URL") or api.base_url
  local base, why = route.base(core.parse_url, base_url)
  if not base then error(("bad option 'base_url' to 'vinano.new' (%s)"):format(why), 2) end
  local proxy, no_proxy, refusal = route.proxy(core.parse_url, opts, base, os.getenv)
  if not refusal and base.scheme == "http" and not opts.allow_http and not route.is_loopback(base.host) then
    refusal = "base_url: the token is only sent over https, or plain http to loopback (allow_http = true to override)"
  end
  local token = opts.token or os.getenv("VINANO_API_TOKEN")
  if token == "" then token = nil end
  local timeout = opts.timeout or DEFAULTS.timeout
  local connect_timeout = opts.connect_timeout or DEFAULTS.connect_timeout
  local max_response = opts.max_response or DEFAULTS.max_response
  local c = core.new {
    token = token,
    timeout = timeout,
    connect_timeout = connect_timeout,
    ca_file = opts.ca_file, proxy = proxy, no_proxy = no_proxy,
    user_agent = opts.user_agent or ("vinano/" .. core.version .. " (Lua; " .. _VERSION .. ")"),
    -- TLS verification is on; only this explicit option turns it off
    insecure = opts.insecure == true, verbose = opts.verbose == true,
    max_response = max_response,
    headers = api.response_headers, -- collected by the core as they arrive (response.lua reads them)
  }
  local stall = opts.stall_timeout or DEFAULTS.stall_timeout
  local self = setmetatable({
    core = c,
    base = base,
    base_url = base.url,
    post_url = { generate = base.url .. api.endpoints.generate.path, submit = base.url .. api.endpoints.submit.path },
    has_token = token ~= nil,
    timeout = timeout,
    connect_timeout = connect_timeout, -- the core's; kept to name it in messages
    max_response = max_response,
    validate = opts.validate ~= false,
    sleep = opts.sleep,
    max_retries = opts.max_retries or DEFAULTS.max_retries,
    retry_unsafe = opts.retry_unsafe == true,
    on_retry = opts.on_retry, on_request = opts.on_request, on_response = opts.on_response,
    limiter = Limiter.new(opts),
    max_credits = opts.max_credits,
    -- generate and submit wait silently while the server works: no stall bound there
    stall_timeout = stall,
    refusal = refusal,
    last = nil,
  }, Client)
  return self
end

function Client:__tostring()
  if tostring(self.core):find("(closed)", 1, true) then return "vinano.client (closed)" end
  return ("vinano.client (%s, token %s, %d in flight)"):format(self.base_url, self.has_token and "set" or "missing",
    self.core:running())
end

local pack = table.pack or function(...) return { n = select("#", ...), ... } end
local unpack = table.unpack or unpack

-- Per-call options: nil, or a table of the options fname takes (raises
-- "bad option 'x' to 'fname' (...)" naming the option and the rule).
local function check_opts(opts, n, fname)
  if opts == nil then return end
  argcheck(type(opts) == "table", n, fname, "options table expected, got %s", type(opts))
  if next(opts) ~= nil then options.check(opts, CALL[fname], fname, 3) end
end

local function refused(self)
  return nil, errors.new("invalid_request", self.refusal, { field = "base_url", rule = "https" })
end

local function no_token()
  return nil, errors.new("invalid_request", "token: missing (pass token= to vinano.new or set VINANO_API_TOKEN)",
    { field = "token", rule = "required" })
end

local fs = { stat = core.stat, readable = core.readable }

-- Everything that can be refused before sending, in order: the API's
-- rules (unless validate = false), what could not be sent safely, the
-- files on disk (validate.prepare, one pass that also gives the parts),
-- max_credits.  Returns the parts.
local function refusal(self, params, opts)
  if self.refusal then return refused(self) end
  local parts, err = validate.prepare(params, self.validate, fs)
  if not parts then return nil, err end
  local max = opts and opts.max_credits or self.max_credits
  if max then
    local cost = api.estimate_credits(params)
    if cost > max then
      return nil, errors.new("invalid_request",
        ("max_credits: this request is estimated at %d credits, over the limit of %d"):format(cost, max),
        { field = "max_credits", rule = "max_credits", estimate = cost })
    end
  end
  return parts
end

-- The call of a POST (call.start: nothing sent yet), or nil and the refusal.
local function post_call(self, op, params, opts)
  local parts, err = refusal(self, params, opts)
  if not parts then return nil, err end
  if not self.has_token then return no_token() end
  local url = self.post_url[op]
  return call.start(self, op, function(left)
    return { method = "POST", url = url, auth = true, parts = parts, timeout = left }
  end, opts)
end

local function post(self, fname, op, params, opts)
  argcheck(getmetatable(self) == Client, 1, fname, "client expected (use client:%s)", fname)
  argcheck(type(params) == "table", 1, fname, "table expected, got %s", type(params))
  check_opts(opts, 2, fname)
  local c, err = post_call(self, op, params, opts)
  if not c then return nil, err end
  return call.drive(c, opts)
end

---The parameters of `client:generate` and `client:submit_async` (the API
---page's fields).  At least one of prompt, image and imageUrl.
--- What generate or submit_async would refuse before sending, without
--- sending anything: true, or nil and the same invalid_request error.
---@param params vinano.GenerateParams
---@param opts? {max_credits?: number}
---@return true|nil ok
---@return vinano.Error|nil err
function Client:check(params, opts)
  argcheck(getmetatable(self) == Client, 1, "check", "client expected (use client:%s)", "check")
  argcheck(type(params) == "table", 1, "check", "table expected, got %s", type(params))
  check_opts(opts, 2, "check")
  local parts, err = refusal(self, params, opts)
  if not parts then return nil, err end
  return true
end

---@class vinano.GenerateParams
---@field prompt? string at most 2000 characters (UTF-8 characters, not bytes)
---@field model? vinano.Model default "gemini-2.5-flash-image-preview"
---@field aspectRatio? vinano.AspectRatio the last four only on gemini-3.1-pro-image-preview
---@field mode? vinano.Mode free-form
---@field hdPro? boolean 30 credits instead of 10
---@field img_size? vinano.ImgSize only gemini-3.1-pro-image-preview and gemini-3-pro-image-preview
---@field googleSearch? boolean only gemini-3.1-pro-image-preview; default false
---@field image? vinano.Image|vinano.Image[] files, streamed from disk; each at most 100 MB; not on Z-Image
---@field imageUrl? string|string[] one URL or several; not on Z-Image

---An image to upload given as a table: a file on disk, or the bytes.
---@class vinano.ImageFile
---@field path? string a file on disk, streamed by libcurl (exactly one of path and data)
---@field data? string the bytes themselves
---@field filename? string the file name sent (default: the path's base name; for data, image.png/.jpg/.gif/.webp/.bin by its first bytes)
---@field content_type? string the part's content type (default: libcurl's guess from the file name)

---@alias vinano.Image string|vinano.ImageFile a file path, or a table

---@class vinano.ImageDetail
---@field width integer
---@field height integer
---@field filesize integer

---A generate result: the server's JSON decoded (JSON null is `vinano.null`)
---plus what the client adds (attempts, elapsed, rate_limit).
---@class vinano.Result
---@field status integer
---@field images string[] image URLs
---@field imageDetails vinano.ImageDetail[]
---@field uuid string
---@field prompt? string
---@field model? string
---@field credits {cost?: number} credits.cost: a finite number >= 0, or nil when the server sent none or anything else (inf, NaN, negative, a string)
---@field attempts integer attempts made
---@field elapsed number seconds, retries included
---@field rate_limit? vinano.RateLimit the last snapshot the server sent

--- Generates an image (sync endpoint).  Yields inside a vinano.async task, blocks elsewhere.
---@param params vinano.GenerateParams
---@param opts? vinano.CallOptions
---@return vinano.Result|nil res
---@return vinano.Error|nil err
function Client:generate(params, opts)
  return post(self, "generate", "generate", params, opts)
end

---What `client:submit_async` returns: the server's JSON plus attempts,
---elapsed and rate_limit.
---@class vinano.Task
---@field task_id string|integer
---@field status integer 202
---@field message? string
---@field model? string
---@field credits? {cost?: number} as in vinano.Result
---@field attempts integer
---@field elapsed number seconds
---@field rate_limit? vinano.RateLimit

--- Submits an async task; poll or wait for it.
---@param params vinano.GenerateParams
---@param opts? vinano.CallOptions
---@return vinano.Task|nil task
---@return vinano.Error|nil err
function Client:submit_async(params, opts)
  return post(self, "submit_async", "submit", params, opts)
end

-- RFC 3986 unreserved characters stay, everything else is %XX.
local function escape(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- The call of a poll (nothing sent yet), or nil and the refusal.
local function poll_call(self, task_id, opts)
  if self.refusal then return refused(self) end
  local ok, err = validate.task_id(task_id)
  if not ok then return nil, err end
  if not self.has_token then return no_token() end
  local ep = api.endpoints.poll
  local url = self.base_url .. ep.path .. "?" .. ep.query .. "=" .. escape(task_id)
  local stall = opts and opts.stall or self.stall_timeout
  return call.start(self, "poll", function(left)
    return { method = "GET", url = url, auth = true, timeout = left, stall = stall }
  end, opts)
end

---What `client:poll` returns (and `client:wait` once done): the server's
---answer (fields of vinano.Result when done) plus `state`.
---@class vinano.TaskStatus: vinano.Result
---@field state "pending"|"done"|"failed"
---@field message? string a failed task's reason, when the server gave one

--- Asks once how a task is doing.
---@param task_id string|integer
---@param opts? vinano.CallOptions
---@return vinano.TaskStatus|nil status
---@return vinano.Error|nil err
function Client:poll(task_id, opts)
  local t = type(task_id)
  argcheck(getmetatable(self) == Client, 1, "poll", "client expected (use client:%s)", "poll")
  argcheck(t == "string" or t == "number", 1, "poll", "task id expected, got %s", t)
  check_opts(opts, 2, "poll")
  local c, err = poll_call(self, task_id, opts)
  if not c then return nil, err end
  return call.drive(c, opts)
end

local function sleep_between(self, opts, seconds)
  if opts.sleep then return opts.sleep(seconds) end
  if self.sleep and not transport.in_task() then return self.sleep(seconds) end
  return transport.sleep(seconds)
end

---Options of `client:wait`.
---@class vinano.WaitOptions
---@field interval? number seconds between polls, >= 0 (default 3)
---@field timeout? number seconds in all, > 0 (default 300); then a `timeout` error
---@field on_poll? fun(status: vinano.TaskStatus)
---@field sleep? fun(seconds: number)

--- Polls until the task is done (returns the done answer), failed
--- (task_failed) or the deadline passes (timeout).
---@param task_id string|integer
---@param opts? vinano.WaitOptions
---@return vinano.TaskStatus|nil done
---@return vinano.Error|nil err
function Client:wait(task_id, opts)
  opts = opts or {}
  argcheck(type(opts) == "table", 2, "wait", "table expected, got %s", type(opts))
  local interval = opts.interval or 3
  local timeout = opts.timeout or 300
  argcheck(type(interval) == "number" and interval >= 0 and interval < math.huge, 2, "wait",
    "interval must be a finite number >= 0")
  argcheck(type(timeout) == "number" and timeout > 0 and timeout < math.huge, 2, "wait",
    "timeout must be a finite number > 0")
  argcheck(opts.on_poll == nil or type(opts.on_poll) == "function", 2, "wait", "on_poll must be a function")
  local deadline = core.now() + timeout
  local polls, state = 0, "pending"
  local function expired()
    return nil, errors.new("timeout", ("task %s still %s after %g s (wait timeout)"):format(tostring(task_id), state,
      timeout), { task_id = task_id, polls = polls })
  end
  while true do
    local st, err = self:poll(task_id, { timeout = math.max(0.001, deadline - core.now()) })
    if not st then
      -- a poll cut short by wait's own deadline is wait's timeout
      if err.kind == "timeout" and core.now() >= deadline - 0.01 then return expired() end
      return nil, err
    end
    polls, state = polls + 1, st.state
    if opts.on_poll then
      local ok, raised = pcall(opts.on_poll, st)
      if not ok then
        return nil, call.callback_error("on_poll", raised, { task_id = task_id })
      end
    end
    if st.state == "done" then return st end
    if st.state == "failed" then
      local msg = st.message or st.error or st.msg or st.detail
      return nil, errors.new("task_failed", ("task %s failed: %s"):format(tostring(task_id),
        type(msg) == "string" and msg or "no reason given"),
        { status = tonumber(st.status), task_id = task_id, task = st })
    end
    local left = deadline - core.now()
    if left <= 0 then return expired() end
    sleep_between(self, opts, math.min(interval, left))
  end
end

-- The call of a download (sink: a path) or a fetch (sink nil), nothing
-- sent yet, or nil and the refusal.
local function get_call(self, op, url, sink, opts)
  if self.refusal and route.same_origin(core.parse_url, self.base, url) then return refused(self) end
  local ok, why = route.check_url(core.parse_url, url)
  if not ok then return errors.invalid("url", "url", why) end
  local auth = self.has_token and route.same_origin(core.parse_url, self.base, url)
  local stall = opts and opts.stall or self.stall_timeout
  local mkdir = opts and opts.mkdir == true
  return call.start(self, op, function(left)
    return { method = "GET", url = url, auth = auth, follow = 5, sink = sink, mkdir = mkdir, timeout = left,
      stall = stall }
  end, opts)
end

-- What a download or fetch error says of the file it was writing.
local function get_error(err, sink, opts)
  if err and err.kind == "io" and sink and err.path == nil then err.path = sink end
  if err and err.kind == "io" and not (opts and opts.mkdir == true)
    and err.message:find("No such file or directory", 1, true) then
    err.message = err.message .. " (the folder does not exist: pass {mkdir = true} to create it)"
  end
  return err
end

local function get(self, op, url, sink, opts)
  local c, err = get_call(self, op, url, sink, opts)
  if not c then return nil, err end
  local res
  res, err = call.drive(c, opts)
  return res, get_error(err, sink, opts)
end

---Per-call options of `client:download`.
---@class vinano.DownloadOptions: vinano.CallOptions
---@field mkdir? boolean create the file's missing parent folders (default false)

---What `client:download` returns.
---@class vinano.Download
---@field path string
---@field bytes integer
---@field content_type? string
---@field attempts integer
---@field elapsed number
---@field rate_limit? vinano.RateLimit

--- Streams url to the file path: through a temporary name beside it, renamed
--- when complete.  The token goes only to URLs under base_url.
---@param url string
---@param path string
---@param opts? vinano.DownloadOptions
---@return vinano.Download|nil file
---@return vinano.Error|nil err
function Client:download(url, path, opts)
  argcheck(getmetatable(self) == Client, 1, "download", "client expected (use client:%s)", "download")
  argcheck(type(url) == "string", 1, "download", "URL string expected, got %s", type(url))
  argcheck(type(path) == "string", 2, "download", "file path expected, got %s", type(path))
  check_opts(opts, 3, "download")
  if path == "" then return errors.invalid("path", "file", "empty file path") end
  if path:find("%z") then return errors.invalid("path", "nul", "the file path contains a NUL byte") end
  return get(self, "download", url, path, opts)
end

---What `client:fetch` returns.
---@class vinano.Fetched
---@field data string the body's bytes
---@field bytes integer
---@field content_type? string
---@field attempts integer
---@field elapsed number
---@field rate_limit? vinano.RateLimit

---Options of `client:generate_many`.
---@class vinano.ManyOptions
---@field concurrency? integer requests in flight at most, >= 1 (default 8)

--- The bytes at url (an image), in memory: bounded by max_response, with
--- download's redirect and token rules.
---@param url string
---@param opts? vinano.CallOptions
---@return vinano.Fetched|nil res
---@return vinano.Error|nil err
function Client:fetch(url, opts)
  argcheck(getmetatable(self) == Client, 1, "fetch", "client expected (use client:%s)", "fetch")
  argcheck(type(url) == "string", 1, "fetch", "URL string expected, got %s", type(url))
  check_opts(opts, 2, "fetch")
  return get(self, "fetch", url, nil, opts)
end

-- Callback-last variants, for plenary.async.wrap / nvim-nio's wrap:
--   client:generate_cb(params, function(res, err) end)
for _, name in ipairs { "generate", "submit_async", "poll", "wait", "download", "fetch" } do
  Client[name .. "_cb"] = function(self, ...)
    local n = select("#", ...)
    local cb = select(n, ...)
    argcheck(n >= 1 and type(cb) == "function", n + 1, name .. "_cb", "callback function expected last")
    local args = pack(...)
    return require("vinano.async").spawn_cb(function()
      return self[name](self, unpack(args, 1, n - 1))
    end, cb)
  end
end

--- Generates every params table of list with at most opts.concurrency in
--- flight; returns a list in input order where each entry is the result or
--- the error (errors have a .kind).  Yields inside a task, blocks elsewhere.
---@param list vinano.GenerateParams[]
---@param opts? vinano.ManyOptions
---@return (vinano.Result|vinano.Error)[]
function Client:generate_many(list, opts)
  argcheck(type(list) == "table", 1, "generate_many", "list of params tables expected, got %s", type(list))
  opts = opts or {}
  argcheck(type(opts) == "table", 2, "generate_many", "options table expected, got %s", type(opts))
  local concurrency = opts.concurrency or 8
  argcheck(type(concurrency) == "number" and concurrency >= 1, 2, "generate_many", "concurrency must be >= 1")
  local async, many = require "vinano.async", require "vinano.many"
  if many.alone() and rawget(self, "generate") == nil then
    -- nothing else to run meanwhile (and generate is not replaced on this
    -- client): the calls drive the core directly, no task per request
    local results = {}
    many.run(#list, concurrency, function(i)
      local params = list[i]
      argcheck(type(params) == "table", 1, "generate", "table expected, got %s", type(params))
      return post_call(self, "generate", params, nil)
    end, function(i, res, err) results[i] = res or err end)
    return results
  end
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
  if #workers > 0 then
    if async.current() then async.all(workers) else async.run(async.all, workers) end
  end
  return results
end

--- Internal (vinano.batch drives many of these at once; the methods above
--- are the API): the call machine of one operation (call.lua), nothing
--- sent yet, or nil and the refusal.  op "submit" (a: the params), "poll"
--- (a: the task id) or "download" (a: the URL, b: the file).
---@param op "submit"|"poll"|"download"
---@param a any
---@param b any
---@param opts? vinano.CallOptions|vinano.DownloadOptions
---@return table|nil call
---@return vinano.Error|nil err
function Client:_call(op, a, b, opts)
  if op == "submit" then return post_call(self, "submit", a, opts) end
  if op == "poll" then return poll_call(self, a, opts) end
  assert(op == "download", "unknown operation")
  return get_call(self, "download", a, b, opts)
end

--- {status=, headers={...}, rate_limit={limit=, remaining=, reset=}} of the
--- last API response this client received, or nil before the first.
---@return vinano.Info|nil
function Client:last_response()
  return self.last
end

--- Cancels what is in flight (each waiter gets `cancelled`) and frees
--- everything.  Idempotent; also `<close>`.
---@return nil
function Client:close()
  transport.close(self.core)
end

Client.__close = Client.close

return Client
