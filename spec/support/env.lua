-- What every integration spec shares: the secret token the specs use (so
-- that they can prove it never leaks), and a client factory.
local vinano = require "vinano"

local M = {}

M.token = "spec-SECRET-token-7f3a9c"
-- the interpreter running the specs, by the name make's LUA takes (set by
-- scripts/check.sh; under plain `busted`, found from the interpreter itself)
M.lua = os.getenv("VINANO_LUA") or (rawget(_G, "jit") and "luajit" or "lua" .. _VERSION:match("%d+%.%d+"))
-- The program that runs Lua with this build of the core in a child process:
-- the interpreter itself, or under check-asan/-ubsan the sanitizer host
-- (scripts/lua-host.c), which must come first for its runtime; absolute, so
-- that children started elsewhere find it.
M.interp = os.getenv("VINANO_INTERP")
if M.interp and M.interp:sub(1, 1) ~= "/" then M.interp = (os.getenv("PWD") or ".") .. "/" .. M.interp end
M.interp = M.interp or M.lua

-- The start of a shell command that runs env.interp with this run's
-- package.path and package.cpath (so the child loads the same build of the
-- core): `env.child_lua() .. " script.lua"`.
function M.child_lua()
  local q = require("spec.support.mock_process").quote
  return ("LUA_PATH=%s LUA_CPATH=%s %s"):format(q(package.path), q(package.cpath), M.interp)
end

function M.client(mock, opts)
  local o = { token = M.token, base_url = mock.url, timeout = 10 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return vinano.new(o)
end

function M.tmpdir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
  return dir
end

-- A small real PNG on disk (8x8, the bytes do not matter to the API).
function M.write_file(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
  return path
end

function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

function M.png_size(bytes)
  assert(bytes:sub(1, 8) == "\137PNG\r\n\26\n", "not a PNG")
  local function u32(i)
    local a, b, c, d = bytes:byte(i, i + 3)
    return ((a * 256 + b) * 256 + c) * 256 + d
  end
  return u32(17), u32(21)
end

-- A TCP port nothing listens on now, from the kernel.
function M.free_port()
  local socket = require "socket"
  local probe = assert(socket.bind("127.0.0.1", 0))
  local _, port = probe:getsockname()
  probe:close()
  return tonumber(port)
end

-- Waits (10 s at most) until something accepts connections on port.
function M.wait_listening(port)
  local socket = require "socket"
  local deadline = os.time() + 10
  repeat
    local conn = socket.connect("127.0.0.1", port)
    if conn then
      conn:close()
      return true
    end
    socket.sleep(0.05)
  until os.time() > deadline
  error("nothing listens on port " .. port)
end

-- Runs a shell command, returns its stdout.
function M.sh(cmd)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("*a")
  p:close()
  return out
end

return M
