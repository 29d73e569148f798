-- Run by spec/luv_driver_spec.lua in a child Lua (its stderr is the point):
-- the luv driver on the real core, one generate against each of a refused
-- port, a server that resets the connection and one that closes it at once.
-- Prints one line per case: "<case> <error kind> <attempts>".
local uv = require "luv"
local socket = require "socket"
local vinano = require "vinano"
local async = require "vinano.async"

local function listener(on_accept)
  local server = assert(socket.bind("127.0.0.1", 0))
  server:settimeout(0)
  local _, port = server:getsockname()
  -- accept from a luv timer: this process runs only the luv loop
  local t = uv.new_timer()
  t:start(5, 5, function()
    local conn = server:accept()
    if conn then on_accept(conn) end
  end)
  return tonumber(port), function() t:stop(); t:close(); server:close() end
end

local function free_port()
  local probe = assert(socket.bind("127.0.0.1", 0))
  local _, port = probe:getsockname()
  probe:close()
  return tonumber(port)
end

local cases = {
  { "refused", function() return free_port(), function() end end },
  { "reset", function()
    return listener(function(conn)
      conn:setoption("linger", { on = true, timeout = 0 }) -- close sends RST
      conn:close()
    end)
  end },
  { "closed", function() return listener(function(conn) conn:close() end) end },
}

local driver = async.luv(uv)
for _, case in ipairs(cases) do
  local port, stop = case[2]()
  local client = vinano.new { token = "hostile-token", base_url = ("http://127.0.0.1:%d"):format(port),
    timeout = 10, max_retries = 2 }
  local res, err, done
  async.spawn(function()
    res, err = client:generate { prompt = "nothing listens" }
    done = true
  end)
  local guard, expired = uv.new_timer(), false
  guard:start(8000, 0, function() expired = true end)
  while not done and not expired do uv.run("once") end
  guard:close()
  stop()
  io.stdout:write(case[1], " ", tostring(res == nil and err and err.kind), " ",
    tostring(err and err.attempts), "\n")
  client:close()
end
driver.stop()
uv.run("nowait")
