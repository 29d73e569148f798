-- vinano.mock: a local, ViNano-compatible HTTP server for tests.
--
--   local mock = require "vinano.mock"
--   local srv = mock.new{ tokens = { "t1" }, rate_limit = 3, rate_window = 1 }
--   print(srv:url())          -- http://127.0.0.1:PORT
--   srv:step(0.1)             -- serve for at most 0.1 s (embed in your loop)
--   srv:run()                 -- or serve until stop()/close()/lifetime
--
-- It speaks the API as /work/shared/api-notes.md describes it, including the
-- painful parts (495, 429 with Retry-After, async polling), and can inject
-- faults (see vinano.mock.faults). One coroutine per connection over
-- socket.select, so a delayed answer never holds up another client.
local socket = require "socket"

local api = require "vinano.mock.api"
local bounded = require "vinano.mock.bounded"
local config = require "vinano.mock.config"
local control = require "vinano.mock.control"
local faults = require "vinano.mock.faults"
local http = require "vinano.mock.http"
local json = require "vinano.mock.json"
local loopmod = require "vinano.mock.loop"
local multipart = require "vinano.mock.multipart"
local requestlog = require "vinano.mock.requestlog"
local text = require "vinano.mock.text"

local M = {}

M.MAX_LOG = 10000     -- request-log entries kept
M.MAX_IMAGES = 1000   -- generated images kept
M.MAX_TASKS = 1000    -- async tasks kept
M.SIZE_MESSAGE = "File size exceeds limit (100MB)" -- the API's own wording

local Server = {}
Server.__index = Server

local now = loopmod.now

-- new(opts) -> server, already listening. Raises on bad options or when the
-- address cannot be bound.
function M.new(opts)
  local cfg, err = config.merged(opts)
  if not cfg then error("vinano.mock: " .. err, 2) end
  local sock, berr = socket.bind(cfg.host, cfg.port, 128)
  if not sock then error("vinano.mock: cannot listen on " .. cfg.host .. ":" .. cfg.port .. ": " .. berr, 2) end
  sock:settimeout(0)
  local ip, port = sock:getsockname()
  local srv = setmetatable({
    cfg = cfg, sock = sock, ip = ip, port_number = tonumber(port),
    loop = loopmod.new(), started = now(), conns = {}, open = 0,
    faults = faults.new(), log = bounded.new(M.MAX_LOG), next_id = 0,
    images = bounded.new(M.MAX_IMAGES), tasks = bounded.new(M.MAX_TASKS),
    balances = {}, windows = {}, initial = {},
  }, Server)
  for k in pairs(config.RUNTIME) do srv.initial[k] = cfg[k] end
  srv.body_limit = function(req) return srv:limit_for(req) end
  srv:reset()
  srv.loop:spawn(function() srv:accept_loop() end)
  return srv
end

function Server:url()
  local host = self.ip:find(":", 1, true) and ("[" .. self.ip .. "]") or self.ip
  return "http://" .. host .. ":" .. self.port_number
end

function Server:port()
  return self.port_number
end

-- Back to how the server started: the settings given to new() (undoing
-- set()), empty log with ids from 1, no faults, no tasks, fresh rate
-- windows, full balances. Images are kept (their URLs stay valid).
function Server:reset()
  for k, v in pairs(self.initial) do self.cfg[k] = v end
  self.next_id = 0
  self.log:clear()
  self.faults:clear()
  self.tasks:clear()
  self.windows = {}
  for i = 1, #self.cfg.tokens do self.balances[i] = self.cfg.credits end
end

function Server:clear()
  self.log:clear()
end

function Server:requests()
  return self.log:values()
end

-- fault(f): queues a fault; raises on an invalid one.
function Server:fault(f)
  local fault, err = self.faults:add(f)
  if not fault then error("vinano.mock: " .. err, 2) end
  return fault
end

-- set(cfg [, soft]): changes run-time settings (see config.RUNTIME).
-- credits resets every balance; rate_limit/rate_window restart the windows.
-- Raises on a bad setting, or with `soft` returns nil and the message.
function Server:set(changes, soft)
  local ok, err = config.check(changes, config.RUNTIME)
  if not ok then
    if soft then return nil, err end
    error("vinano.mock: " .. err, 2)
  end
  for k, v in pairs(changes) do self.cfg[k] = v end
  if changes.credits then
    for i = 1, #self.cfg.tokens do self.balances[i] = self.cfg.credits end
  end
  if changes.rate_limit or changes.rate_window then self.windows = {} end
  return true
end

-- The settings as the control API shows them (tokens are not shown).
function Server:settings()
  local out = { tokens = #self.cfg.tokens, balances = json.array() }
  for k, v in pairs(self.cfg) do
    if k ~= "tokens" then out[k] = v end
  end
  for i = 1, #self.cfg.tokens do out.balances[i] = self.balances[i] end
  return out
end

-- Serves for at most `timeout` seconds (at least one select round).
-- Returns false once the server has stopped.
function Server:step(timeout)
  local deadline = now() + (timeout or 0)
  repeat
    if self.stopped then return false end
    self:check_lifetime()
    if self.stopped then return false end
    self.loop:round(math.max(0, deadline - now()))
  until now() >= deadline
  return not self.stopped
end

-- Serves until stop() (or POST /_mock/shutdown), close(), or the lifetime.
function Server:run()
  while not self.stopped do
    self:check_lifetime()
    if self.stopped then break end
    local wait = self.cfg.lifetime and math.max(0, self.started + self.cfg.lifetime - now()) or nil
    if not self.loop:round(wait) then break end -- nothing left that could ever wake up
  end
end

function Server:check_lifetime()
  if self.cfg.lifetime and now() >= self.started + self.cfg.lifetime then self:close() end
end

function Server:stop()
  self:close()
end

function Server:close()
  if self.stopped then return end
  self.stopped = true
  self.sock:close()
  for conn in pairs(self.conns) do conn:close() end
  self.conns = {}
end

-- Makes room for a new client at max_connections: closes the connection
-- that has waited longest for a request head (idle, or trickling one in).
-- false when every connection is busy with a request.
function Server:evict()
  local oldest
  for conn in pairs(self.conns) do
    if conn.waiting_since and not conn.closed and (not oldest or conn.waiting_since < oldest.waiting_since) then
      oldest = conn
    end
  end
  if not oldest then return false end
  oldest:close()
  self.loop:wake(oldest.co)
  return true
end

-- At max_connections a waiting client still gets in when a slow or idle one
-- can be closed for it; only requests being served make it wait.
function Server:accept_loop()
  local loop = self.loop
  local function full() return self.open >= self.cfg.max_connections and not self:evict() end
  while not self.stopped do
    loop:wait(self.sock, "r")
    if self.stopped then break end
    if full() then
      loop:wait_signal("slot")
    else
      local client = self.sock:accept()
      while client and not self.stopped do
        self:spawn_connection(client)
        if full() then break end
        client = self.sock:accept()
      end
    end
  end
end

function Server:spawn_connection(sock)
  local conn = http.conn(self.loop, sock)
  conn.head_timeout = self.cfg.head_timeout
  self.conns[conn] = true
  self.open = self.open + 1
  local loop = self.loop
  conn.co = loop:spawn(function() self:serve(conn) end, function(ok, err)
    if not ok then self:say("connection failed: " .. tostring(err)) end
    if not conn.closed then conn:close() end
    self.conns[conn] = nil
    self.open = self.open - 1
    loop:signal("slot")
  end)
end

local function is_control(path) return path:sub(1, 7) == "/_mock/" end
local function is_image(path) return path:sub(1, 8) == "/images/" end

-- The control API keeps working (at least 1 MiB) however small a test sets
-- max_upload; everything else gets exactly max_upload.
function Server:limit_for(req)
  if is_control(req.path) then return math.max(self.cfg.max_upload, 1024 * 1024) end
  return self.cfg.max_upload
end

-- Answers requests on one connection until it closes.
function Server:serve(conn)
  while not conn.closed and not self.stopped do
    conn.head_timeout = self.cfg.head_timeout
    local req, status, message, partial = http.read_request(conn, self.body_limit)
    if not req then
      if type(status) == "number" then self:refuse(conn, status, message, partial) end
      return
    end
    if not self:handle(conn, req) then return end
  end
end

-- Answers a request that could not be read whole, then closes (the rest of
-- the request, if any, is never read).
function Server:refuse(conn, status, message, req)
  if status == 413 then message = M.SIZE_MESSAGE end
  if req and not is_control(req.path) and not is_image(req.path) then
    req.query = text.parse_query(req.query_string)
    local entry = self:record(req)
    entry.status = status
  end
  http.respond(conn, status, { ["Content-Type"] = "application/json" },
    json.encode({ status = status, message = message }), { close = true })
  conn:linger_close()
end

-- A line on stderr, with every configured token scrubbed as in the log
-- (the request line may carry one: task-status?task_id=<token>).
function Server:say(line)
  io.stderr:write("vinano-mock: ", requestlog.scrub(line, self.cfg.tokens), "\n")
end

-- Adds a log entry for `req` and returns it (the caller sets status/fault).
function Server:record(req)
  local loop = self.loop
  local entry = requestlog.entry(req, self.cfg.tokens, function() loop:pause() end)
  self.next_id = self.next_id + 1
  entry.id = self.next_id
  entry.time = now()
  self.log:put(entry.id, entry)
  return entry
end

-- Parses a multipart body up front (outside any pcall, since checksums of a
-- large upload may pause), leaving req.parts or req.form_error.
local function parse_form(req)
  if req.method ~= "POST" then return end
  local ctype = req.headers["content-type"]
  if not ctype and (req.body or "") == "" then
    req.parts = {} -- no body at all: an empty form, so the rules say what is missing
    return
  end
  local media = ctype and multipart.header_params(ctype)
  if media ~= "multipart/form-data" then
    req.form_error = "Content-Type: must be multipart/form-data"
    return
  end
  local parts, err = multipart.parse(req.body or "", ctype)
  if parts then
    req.parts = parts
  else
    req.form_error = "body: malformed multipart/form-data (" .. err .. ")"
  end
end

function Server:image_response(req)
  if req.method ~= "GET" and req.method ~= "HEAD" then
    return api.error_reply(405, "method not allowed", { Allow = "GET, HEAD" })
  end
  local name = req.path:match("^/images/([%w%-]+)%.png$")
  local data = name and self.images:get(name)
  if not data then return api.error_reply(404, "image not found") end
  return { status = 200, headers = { ["Content-Type"] = "image/png" }, body = data }
end

-- The response the API would give without faults, computed under pcall so a
-- bug in the mock answers 500 instead of killing the connection silently.
function Server:normal_response(req)
  if is_image(req.path) then return self:image_response(req) end
  local ok, resp = pcall(api.handle, self, req, now())
  if ok then return resp end
  self:say("internal error: " .. tostring(resp))
  return api.error_reply(500, "mock internal error: " .. tostring(resp))
end

-- Handles one complete request; returns whether to keep the connection.
function Server:handle(conn, req)
  local resp
  if is_control(req.path) then
    local ok, r = pcall(control.handle, self, req)
    resp = ok and r or api.error_reply(500, "mock internal error: " .. tostring(r))
    return self:send(conn, req, resp)
  end

  req.query = text.parse_query(req.query_string)
  local entry
  if not is_image(req.path) then
    parse_form(req)
    entry = self:record(req)
  end
  local fault = self.faults:take(req.method, req.path)
  if fault then
    if entry then entry.fault = fault.action end
    resp = faults.response(fault)
    if fault.action == "delay" then self.loop:sleep(fault.seconds) end
  end
  if not resp then
    resp = self:normal_response(req)
    if fault and fault.action == "drop_mid_body" then resp.truncate = true end
  end
  if entry then entry.status = resp.status end
  if not self.cfg.quiet then
    self:say(string.format("%s %s -> %s%s", req.method, req.target,
      tostring(resp.status or "-"), fault and (" (fault " .. fault.action .. ")") or ""))
  end
  return self:send(conn, req, resp)
end

-- Writes `resp` (or misbehaves as it says); returns whether to keep the
-- connection open for another request.
function Server:send(conn, req, resp)
  if resp.drop then
    conn:close()
    return false
  end
  if resp.hang then
    -- Never answer; keep reading (and discarding) until the client gives up.
    while conn:fill(nil) do conn.buf = "" end
    conn:close()
    return false
  end
  if resp.endless then return self:send_endless(conn, resp.endless) end
  local close = resp.close or not req.keep_alive or self.stopped
  local sent = http.respond(conn, resp.status, resp.headers, resp.body, {
    close = close, head_only = req.method == "HEAD", truncate = resp.truncate,
    keep_alive_10 = req.version == "1.0" and not close,
  })
  if resp.after then resp.after() end
  return sent and not close and not resp.truncate
end

-- endless_body: a 200 whose body never ends. Close-delimited by default, or
-- chunked with `chunked=true`; `bytes` every `interval` seconds.
function Server:send_endless(conn, f)
  local headers = { { "Content-Type", "application/json" }, { "Server", "vinano-mock" } }
  headers[#headers + 1] = f.chunked and { "Transfer-Encoding", "chunked" } or { "Connection", "close" }
  local function frame(data)
    if f.chunked then return string.format("%x\r\n%s\r\n", #data, data) end
    return data
  end
  local ok = conn:send(http.head(200, headers) .. frame('{"status":200,"images":['))
  local piece = frame(string.rep(" ", math.max(1, f.bytes or 1024)))
  while ok do
    self.loop:sleep(math.max(0.01, f.interval or 0.1)) -- a floor, so it never spins
    ok = conn:send(piece)
  end
  conn:close()
  return false
end

return M
