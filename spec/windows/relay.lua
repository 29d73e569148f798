-- The mock's control endpoints for the Windows specs, whose only HTTP client
-- is vinano's core (a GET, or a multipart POST: no JSON body).  Runs on the
-- Linux side with LuaSocket:
--
--   lua5.4 spec/windows/relay.lua MOCK_URL [LIFETIME]
--   -- prints: relay listening on http://127.0.0.1:PORT
--
-- GET /control?method=M&path=P&body=B (B: URL-encoded JSON) is sent on to
-- the mock as M P with body B; the mock's status and body are the answer.
-- One request per connection; it ends itself after LIFETIME seconds (300).
local socket = require "socket"
local http = require "socket.http"
local ltn12 = require "ltn12"

local mock_url = assert(arg[1], "usage: relay.lua MOCK_URL [LIFETIME]")
local deadline = socket.gettime() + (tonumber(arg[2]) or 300)

local function unescape(s)
  return (s:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function forward(query)
  local q = {}
  for k, v in query:gmatch("([^&=]+)=([^&]*)") do q[k] = unescape(v) end
  if not (q.method and q.path and q.path:match("^/_mock/")) then
    return 400, "relay: method= and path=/_mock/... expected"
  end
  local chunks = {}
  local _, status = http.request {
    url = mock_url .. q.path, method = q.method,
    headers = q.body and { ["content-type"] = "application/json", ["content-length"] = #q.body } or nil,
    source = q.body and ltn12.source.string(q.body) or nil,
    sink = ltn12.sink.table(chunks),
  }
  if type(status) ~= "number" then return 502, "relay: the mock did not answer: " .. tostring(status) end
  return status, table.concat(chunks)
end

local server = assert(socket.bind("127.0.0.1", 0))
server:settimeout(1)
print(("relay listening on http://127.0.0.1:%d"):format(select(2, server:getsockname())))
io.stdout:flush()
while socket.gettime() < deadline do
  local conn = server:accept()
  if conn then
    conn:settimeout(10)
    local line = conn:receive("*l") or ""
    repeat local h = conn:receive("*l") until not h or h == ""
    local query = line:match("^GET /control%?(%S*) HTTP/1%.[01]$")
    local status, body
    if query then status, body = forward(query) else status, body = 404, "relay: GET /control?... expected" end
    conn:send(("HTTP/1.1 %d relay\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
      .. "Connection: close\r\n\r\n%s"):format(status, #body, body))
    conn:close()
  end
end
