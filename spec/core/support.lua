-- What the specs of the C core (spec/core) share: the module, a secret token
-- to prove it never leaks, a mock started once per file, a loop that drives a
-- transfer to its end, and small shell helpers.  Uses vinano.core only (never
-- the Lua layer), LuaSocket and io/os.
--
--   make check-core                              # Lua 5.4 and LuaJIT
--   make check-asan                              # also check-ubsan, check-valgrind (every spec)
--   make && LUA_PATH="./?.lua;./lua/?.lua;;" LUA_CPATH="./build/lua5.4/?.so;;" \
--     lua5.4 /usr/bin/busted spec/core           # by hand (busted on the same Lua)
local core = require "vinano.core"
local env = require "spec.support.env"

local M = { core = core, token = "sekrit-Tok3n-0f-the-specs" }

-- The interpreter that runs these specs (a sanitizer build's own host when
-- make check-asan runs them), for child processes that load the same core.
function M.lua()
  return env.interp
end

function M.sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")
  p:close()
  return out
end

function M.tmpdir()
  return (M.sh("mktemp -d /tmp/vinano-core-spec.XXXXXX"):gsub("%s+$", ""))
end

M.write_file, M.read_file = env.write_file, env.read_file

function M.exists(path) return M.read_file(path) ~= nil end

-- The octal permission bits of path, as a string ("644").
function M.mode(path) return (M.sh("stat -c %a '" .. path .. "'"):gsub("%s+$", "")) end

M.free_port, M.wait_listening = env.free_port, env.wait_listening

-- Steps the client until t is done (at most `limit` seconds); returns t:result().
function M.run(c, t, limit)
  local deadline = core.now() + (limit or 20)
  while not t:done() do
    c:step(50)
    assert(core.now() < deadline, "transfer did not finish in time")
  end
  return t:result()
end

-- A mock started once per describe block: M.mock() in setup, M.stop in teardown.
function M.mock(opts)
  local mp = require "spec.support.mock_process"
  opts = opts or {}
  opts.tokens = opts.tokens or { M.token }
  return mp.start(opts)
end

-- A generate request's parts (the mock accepts these).
function M.parts(prompt)
  return { { name = "prompt", value = prompt or "a red fox" } }
end

-- How many entries the registry holds.
function M.registry_size()
  local n = 0
  for _ in pairs(debug.getregistry()) do n = n + 1 end
  return n
end

-- Counts entries of the registry that are transfers or tables (anchors).
function M.anchors()
  local n = 0
  for k, v in pairs(debug.getregistry()) do
    if type(k) == "number" and type(v) ~= "thread" then n = n + 1 end
  end
  return n
end

return M
