-- Command line of bin/vinano-mock: parses the options into mock.new()
-- settings, starts the server, prints the one "listening" line, serves.
local M = {}

M.USAGE = [[
usage: vinano-mock [options]
  --host ADDR            loopback address to listen on (default 127.0.0.1)
  --port N               port, 0 = any free one (default 0)
  --token T              accepted API token; repeat for several (default test-token)
  --credits N            starting credits of every token (default 1000)
  --rate-limit N         API requests per window and token (default 20)
  --rate-window SECONDS  rate-limit window (default 60)
  --task-delay SECONDS   how long an async task stays pending (default 2)
  --max-upload BYTES     largest request body, else 413 (default 104857600)
  --pending-style S      pending poll answer: http202 (default) or string
  --reset-style S        X-RateLimit-Reset: unix (default) or delta
  --lifetime SECONDS     stop by itself after this long (default: never)
  --max-connections N    concurrent connections (default 256); when full, the one
                         waiting longest for a request head is closed for a new one
  --head-timeout SECONDS a request's first byte to its whole head, then 408 (default 10)
  --quiet                no per-request lines on stderr
  --help                 this text
Prints "vinano-mock listening on http://HOST:PORT pid=PID" on stdout once
ready; serves until killed or POST /_mock/shutdown.]]

local NUMBER = { ["--port"] = "port", ["--credits"] = "credits", ["--rate-limit"] = "rate_limit",
  ["--rate-window"] = "rate_window", ["--task-delay"] = "task_delay", ["--max-upload"] = "max_upload",
  ["--lifetime"] = "lifetime", ["--max-connections"] = "max_connections", ["--head-timeout"] = "head_timeout" }
local STRING = { ["--host"] = "host", ["--pending-style"] = "pending_style",
  ["--reset-style"] = "reset_style" }

-- parse(args) -> settings table, or nil and an error message, or "help".
function M.parse(args)
  local opts, tokens = { quiet = false }, nil
  local i = 1
  while i <= #args do
    local a = args[i]
    local name, inline = a:match("^(%-%-[%w%-]+)=(.*)$")
    name = name or a
    local function value()
      if inline then return inline end
      i = i + 1
      if args[i] == nil then return nil end
      return args[i]
    end
    if name == "--help" or name == "-h" then
      return "help"
    elseif name == "--quiet" then
      opts.quiet = true
    elseif name == "--token" then
      local v = value()
      if not v or v == "" then return nil, "--token needs a value" end
      tokens = tokens or {}
      tokens[#tokens + 1] = v
    elseif NUMBER[name] then
      local v = value()
      local n = v and tonumber(v)
      if not n then return nil, name .. " needs a number" end
      opts[NUMBER[name]] = n
    elseif STRING[name] then
      local v = value()
      if not v then return nil, name .. " needs a value" end
      opts[STRING[name]] = v
    else
      return nil, "unknown option " .. a
    end
    i = i + 1
  end
  opts.tokens = tokens
  return opts
end

-- The process id, for the listening line (tests kill the server by it).
-- /proc/self is the process that opens it: this Lua interpreter.
local function pid()
  local f = io.open("/proc/self/stat", "r")
  if not f then return "unknown" end
  local line = f:read("*l") or ""
  f:close()
  return line:match("^(%d+)") or "unknown"
end

function M.main(args)
  local opts, err = M.parse(args)
  if opts == "help" then
    print(M.USAGE)
    return 0
  end
  if not opts then
    io.stderr:write("vinano-mock: ", err, "\n", M.USAGE, "\n")
    return 2
  end
  local mock = require "vinano.mock"
  local ok, srv = pcall(mock.new, opts)
  if not ok then
    io.stderr:write(tostring(srv), "\n")
    return 2
  end
  io.stdout:write("vinano-mock listening on ", srv:url(), " pid=", pid(), "\n")
  io.stdout:flush()
  srv:run()
  return 0
end

return M
