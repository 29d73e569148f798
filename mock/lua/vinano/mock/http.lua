-- HTTP/1.1 on one non-blocking socket, for use inside a loop coroutine:
-- buffered reads, request parsing (Content-Length or chunked bodies, Expect:
-- 100-continue, bounded header size) and response writing.
local M = {}

M.MAX_HEAD = 64 * 1024     -- request line + headers; larger -> 431
M.MAX_LINE = 8 * 1024      -- one chunk-size or trailer line
M.IDLE_TIMEOUT = 60        -- seconds a keep-alive connection may sit idle
M.IO_TIMEOUT = 60          -- seconds without progress mid-request / mid-response
M.HEAD_TIMEOUT = 10        -- seconds from a request's first byte to its whole head (conn.head_timeout)

M.REASONS = {
  [100] = "Continue", [200] = "OK", [201] = "Created", [202] = "Accepted", [204] = "No Content",
  [301] = "Moved Permanently", [302] = "Found", [303] = "See Other", [307] = "Temporary Redirect",
  [308] = "Permanent Redirect", [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden",
  [404] = "Not Found", [405] = "Method Not Allowed", [408] = "Request Timeout",
  [411] = "Length Required", [413] = "Payload Too Large", [417] = "Expectation Failed",
  [429] = "Too Many Requests", [431] = "Request Header Fields Too Large",
  [495] = "Insufficient Credits", [500] = "Internal Server Error", [501] = "Not Implemented",
  [502] = "Bad Gateway", [503] = "Service Unavailable", [504] = "Gateway Timeout",
}

local Conn = {}
Conn.__index = Conn

function M.conn(loop, sock)
  sock:settimeout(0)
  return setmetatable({ loop = loop, sock = sock, buf = "", closed = false }, Conn)
end

-- Reads whatever is available into self.buf, waiting (until `deadline`) if
-- nothing is. Returns true on progress, nil and "closed"/"timeout" otherwise.
function Conn:fill(deadline)
  while true do
    if self.closed then return nil, "closed" end
    local data, err, partial = self.sock:receive(65536)
    data = data or partial
    if data and #data > 0 then
      self.buf = self.buf .. data
      if err == "closed" then self.closed = true end
      return true
    end
    if err == "closed" then
      self.closed = true
      return nil, "closed"
    elseif err ~= "timeout" then
      self.closed = true
      return nil, err
    end
    if not self.loop:wait(self.sock, "r", deadline) then return nil, "timeout" end
  end
end

-- Takes `n` bytes (n may be large: chunks are gathered in a table).
function Conn:read_exact(n)
  local parts, have = {}, 0
  while true do
    local need = n - have
    if #self.buf >= need then
      parts[#parts + 1] = self.buf:sub(1, need)
      self.buf = self.buf:sub(need + 1)
      return table.concat(parts)
    end
    parts[#parts + 1] = self.buf
    have = have + #self.buf
    self.buf = ""
    local ok, err = self:fill(self.loop.now() + M.IO_TIMEOUT)
    if not ok then return nil, err end
  end
end

-- Takes one CRLF-terminated line (without the CRLF), at most `max` bytes.
function Conn:read_line(max)
  while true do
    local e = self.buf:find("\r\n", 1, true)
    if e then
      local line = self.buf:sub(1, e - 1)
      self.buf = self.buf:sub(e + 2)
      return line
    end
    if #self.buf > max then return nil, "too long" end
    local ok, err = self:fill(self.loop.now() + M.IO_TIMEOUT)
    if not ok then return nil, err end
  end
end

-- Sends all of `data`. Returns true, or nil and an error ("closed", ...).
function Conn:send(data)
  local i = 1
  while i <= #data do
    local last, err, partial = self.sock:send(data, i)
    if last then return true end
    if err ~= "timeout" then
      self.closed = true
      return nil, err
    end
    i = partial + 1
    if not self.loop:wait(self.sock, "w", self.loop.now() + M.IO_TIMEOUT) then
      return nil, "timeout"
    end
  end
  return true
end

function Conn:close()
  self.closed = true
  self.sock:close()
end

-- Closing a socket while the peer's data is still unread makes the kernel
-- answer with a reset, which can destroy the response we just sent (the 413
-- to an upload in flight). So: stop sending, then read and discard for a
-- bounded time before closing.
function Conn:linger_close(seconds)
  pcall(self.sock.shutdown, self.sock, "send")
  local deadline = self.loop.now() + (seconds or 2)
  self.buf = ""
  while self:fill(deadline) do self.buf = "" end
  self:close()
end

-- Splits "/path?query" (or an absolute-form target) into path and query.
local function split_target(target)
  local path = target:match("^https?://[^/]*(/.*)$") or target
  local p, q = path:match("^([^?]*)%??(.*)$")
  return p, q
end

-- read_request(conn, max_body) -> request table, or nil and an error.
-- max_body is a number, or a function(req) -> number deciding from the head.
--   nil, "closed"                 the peer went away / idle timeout: just close
--   nil, status, message          answer `status` and close the connection
-- The request: { method, target, path, query_string, version, headers
-- (lowercased names; repeated headers joined with ", "), header_list
-- (ordered {name, value}), body, keep_alive }.
function M.read_request(conn, max_body)
  -- Ignore empty lines before a request (RFC 9112 2.2), then find the head.
  local head_end
  local now = conn.loop.now
  local deadline = now() + M.IDLE_TIMEOUT
  -- the head's own bound runs from its first byte, whatever trickles in:
  -- a client sending a byte now and then cannot hold a connection for ever
  local head_deadline
  conn.waiting_since = now() -- idle or reading a head: the server may close it to make room
  while true do
    conn.buf = conn.buf:gsub("^[\r\n]+", "")
    head_end = conn.buf:find("\r\n\r\n", 1, true)
    if head_end then break end
    if #conn.buf > M.MAX_HEAD then conn.waiting_since = nil return nil, 431, "request headers too large" end
    if #conn.buf > 0 and not head_deadline then head_deadline = now() + (conn.head_timeout or M.HEAD_TIMEOUT) end
    local ok, why = conn:fill(head_deadline or deadline)
    if not ok then
      conn.waiting_since = nil
      if #conn.buf > 0 and why == "timeout" and not conn.closed then
        return nil, 408, "the request head did not arrive within the head timeout"
      end
      if #conn.buf > 0 then return nil, 400, "incomplete request" end
      return nil, "closed"
    end
  end
  conn.waiting_since = nil
  if head_end > M.MAX_HEAD then return nil, 431, "request headers too large" end
  local head = conn.buf:sub(1, head_end + 1)
  conn.buf = conn.buf:sub(head_end + 4)

  local line_end = head:find("\r\n", 1, true)
  local method, target, major, minor = head:sub(1, line_end - 1):match("^(%u+) (%S+) HTTP/(%d)%.(%d)$")
  if not method then return nil, 400, "malformed request line" end
  local req = { method = method, target = target, version = major .. "." .. minor,
    headers = {}, header_list = {} }
  req.path, req.query_string = split_target(target)
  for line in head:sub(line_end + 2):gmatch("(.-)\r\n") do
    local name, value = line:match("^([!#$%%&'*+%-.^_`|~%w]+):[ \t]*(.-)[ \t]*$")
    if not name then return nil, 400, "malformed header line" end
    local key = name:lower()
    req.header_list[#req.header_list + 1] = { name, value }
    req.headers[key] = req.headers[key] and (req.headers[key] .. ", " .. value) or value
  end
  local h = req.headers
  local connection = (h["connection"] or ""):lower()
  if req.version == "1.1" then
    req.keep_alive = not connection:find("close", 1, true)
  else
    req.keep_alive = connection:find("keep-alive", 1, true) ~= nil
  end

  -- Body framing. Transfer-Encoding wins over Content-Length (RFC 9112 6.3).
  local chunked, length = false, 0
  if h["transfer-encoding"] then
    if not h["transfer-encoding"]:lower():match("chunked%s*$") then
      return nil, 501, "unsupported Transfer-Encoding"
    end
    chunked = true
  elseif h["content-length"] then
    local values = {}
    for v in h["content-length"]:gmatch("[^,]+") do values[v:match("^%s*(.-)%s*$")] = true end
    local only = next(values)
    if next(values, only) or not only:match("^%d+$") or #only > 15 then
      return nil, 400, "bad Content-Length"
    end
    length = tonumber(only)
  end
  if type(max_body) == "function" then max_body = max_body(req) end
  if length > max_body then
    -- Refused before reading: the caller answers 413 and closes.
    return nil, 413, "body larger than the limit", req
  end
  if (chunked or length > 0) and h["expect"] then
    if h["expect"]:lower() ~= "100-continue" then return nil, 417, "unsupported Expect", req end
    if not conn:send("HTTP/1.1 100 Continue\r\n\r\n") then return nil, "closed" end
  end

  if not chunked then
    local body, err = conn:read_exact(length)
    if not body then return nil, err == "timeout" and "closed" or "closed" end
    req.body = body
    return req
  end

  local chunks, total = {}, 0
  while true do
    local line, err = conn:read_line(M.MAX_LINE)
    if not line then
      if err == "too long" then return nil, 400, "chunk size line too long" end
      return nil, "closed"
    end
    local hex = line:match("^%s*(%x+)%s*;?.*$")
    if not hex or #hex > 12 then return nil, 400, "bad chunk size" end
    local size = tonumber(hex, 16)
    if size == 0 then break end
    total = total + size
    if total > max_body then return nil, 413, "body larger than the limit", req end
    local data = conn:read_exact(size)
    if not data then return nil, "closed" end
    chunks[#chunks + 1] = data
    local crlf = conn:read_exact(2)
    if crlf ~= "\r\n" then return nil, 400, "chunk not followed by CRLF" end
  end
  -- Trailer fields: read and ignore, up to the empty line, bounded.
  local trailer_bytes = 0
  while true do
    local line = conn:read_line(M.MAX_LINE)
    if not line then return nil, "closed" end
    if line == "" then break end
    trailer_bytes = trailer_bytes + #line
    if trailer_bytes > M.MAX_HEAD then return nil, 431, "trailers too large" end
  end
  req.body = table.concat(chunks)
  return req
end

-- Builds the status line and header block. `headers` is a list of
-- {name, value} pairs or a name->value table (sent in sorted order).
function M.head(status, headers)
  local out = { string.format("HTTP/1.1 %d %s\r\n", status, M.REASONS[status] or "Status " .. status) }
  local list = {}
  if headers[1] then
    list = headers
  else
    for k, v in pairs(headers) do list[#list + 1] = { k, v } end
    table.sort(list, function(a, b) return a[1] < b[1] end)
  end
  for _, kv in ipairs(list) do
    local v = kv[2]
    if type(v) == "number" and v == math.floor(v) then v = string.format("%d", v) end
    out[#out + 1] = kv[1] .. ": " .. tostring(v):gsub("[\r\n]", " ") .. "\r\n"
  end
  out[#out + 1] = "\r\n"
  return table.concat(out)
end

-- Sends a complete response with a Content-Length. `opts.head_only` omits the
-- body (HEAD requests); `opts.close` adds Connection: close; `opts.truncate`
-- sends only the first half of the body.
function M.respond(conn, status, headers, body, opts)
  opts = opts or {}
  local list = {}
  for k, v in pairs(headers or {}) do list[#list + 1] = { k, v } end
  table.sort(list, function(a, b) return a[1] < b[1] end)
  list[#list + 1] = { "Content-Length", #(body or "") }
  list[#list + 1] = { "Date", os.date("!%a, %d %b %Y %H:%M:%S GMT") }
  list[#list + 1] = { "Server", "vinano-mock" }
  if opts.close then list[#list + 1] = { "Connection", "close" } end
  if opts.keep_alive_10 then list[#list + 1] = { "Connection", "keep-alive" } end
  local data = M.head(status, list)
  if opts.truncate then
    -- Fault injection: announce the whole length, send half, and let the
    -- caller close, as when a connection breaks mid-response.
    data = data .. (body or ""):sub(1, math.floor(#(body or "") / 2))
  elseif not opts.head_only then
    data = data .. (body or "")
  end
  return conn:send(data)
end

return M
