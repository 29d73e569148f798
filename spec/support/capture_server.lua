-- An HTTP/1.1 server for the specs that compare bytes on the wire: run as
-- `lua capture_server.lua DIR`, it prints its port, then for every request
-- whose body came whole writes its head to DIR/N.head and its body to
-- DIR/N.body (N = 1, 2, ...) and answers `{}`; a request whose path starts
-- with /redirect is answered 307 to /again (the client sends its body a
-- second time).  It answers "Expect: 100-continue" with 100 first, closes
-- every connection after its answer (one client's kept-alive connection
-- never blocks another's), and runs until it is killed.
local socket = require "socket"
local dir = assert(arg[1], "usage: capture_server.lua DIR")
local server = assert(socket.bind("127.0.0.1", 0))
local _, port = server:getsockname()
io.stdout:write(port, "\n")
io.stdout:flush()

local count = 0

local function save(name, data)
  local f = assert(io.open(dir .. "/" .. name, "wb"))
  f:write(data)
  f:close()
end

-- One request on conn.
local function serve(conn)
  local line = conn:receive("*l")
  if not line then return end
  local head, length, expect = { line }, 0, false
  while true do
    local h = conn:receive("*l")
    if not h then return end
    if h == "" then break end
    head[#head + 1] = h
    local name, value = h:match("^([^:]+):%s*(.-)%s*$")
    if name and name:lower() == "content-length" then length = tonumber(value) end
    if name and name:lower() == "expect" and value:lower() == "100-continue" then expect = true end
  end
  if expect then conn:send("HTTP/1.1 100 Continue\r\n\r\n") end
  local body = ""
  if length > 0 then
    body = conn:receive(length)
    if not body then return end -- cut short: no request to record
  end
  count = count + 1
  save(count .. ".head", table.concat(head, "\n") .. "\n")
  save(count .. ".body", body)
  if line:find(" /redirect", 1, true) then
    conn:send("HTTP/1.1 307 Temporary Redirect\r\nLocation: /again\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
  else
    conn:send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}")
  end
end

while true do
  local conn = server:accept()
  if conn then
    conn:settimeout(10)
    serve(conn)
    conn:close()
  end
end
