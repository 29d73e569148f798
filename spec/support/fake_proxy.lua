-- A fake HTTP proxy for the specs: run as `lua fake_proxy.lua LOG`, it
-- prints its port, then for every connection appends the request line to
-- LOG (one line per request: what reached the proxy, token and all) and
-- answers with a generate result.  It runs until it is killed.
local socket = require "socket"
local log = assert(arg[1], "usage: fake_proxy.lua LOG")
local server = assert(socket.bind("127.0.0.1", 0))
local _, port = server:getsockname()
io.stdout:write(port, "\n")
io.stdout:flush()
local BODY = '{"status":200,"images":["http://127.0.0.1:9/a.png"],"credits":{"cost":10}}'
while true do
  local conn = server:accept()
  if conn then
    conn:settimeout(5)
    local line = conn:receive("*l")
    while true do -- the rest of the head
      local h = conn:receive("*l")
      if not h or h == "" then break end
    end
    local f = io.open(log, "a")
    f:write(tostring(line), "\n")
    f:close()
    conn:send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " .. #BODY
      .. "\r\n\r\n" .. BODY)
    conn:close()
  end
end
