-- Runs bin/vinano as a user would, in the foreground (exit status, stdout,
-- stderr) or in the background (a pid to SIGKILL), and reads journals.
local env = require "spec.support.env"
local cjson = require "cjson"
local socket = require "socket"

local M = {}

local quote = require("spec.support.mock_process").quote

-- The command line for bin/vinano under the Lua the specs run (VINANO_LUA),
-- talking to the mock with the specs' token.
function M.command(mock, args, opts)
  opts = opts or {}
  local parts = { "env" }
  for _, name in ipairs(opts.unset or {}) do parts[#parts + 1] = "-u " .. name end
  if mock then
    parts[#parts + 1] = "VINANO_BASE_URL=" .. quote(mock.url)
    parts[#parts + 1] = "VINANO_API_TOKEN=" .. quote(opts.token or env.token)
  end
  for k, v in pairs(opts.env or {}) do parts[#parts + 1] = k .. "=" .. quote(v) end
  parts[#parts + 1] = opts.bin or (env.interp .. " bin/vinano")
  for _, a in ipairs(args) do parts[#parts + 1] = quote(a) end
  local cmd = table.concat(parts, " ")
  if opts.stdin then cmd = cmd .. " <" .. quote(opts.stdin) end
  if opts.cwd then cmd = "cd " .. quote(opts.cwd) .. " && " .. cmd end
  return cmd
end

-- Inside a describe block: one mock for the block (opts: mock_process.start's,
-- the specs' token by default), reset before each test, and a fresh folder
-- per test.  Returns a table whose mock and dir are the running test's.
-- busted's block functions are the spec file's, not globals: passed in.
function M.each_test(opts, setup, teardown, before_each, after_each)
  local mock_process = require "spec.support.mock_process"
  local t = {}
  opts = opts or {}
  opts.tokens = opts.tokens or { env.token }
  setup(function() t.mock = mock_process.start(opts) end)
  teardown(function() t.mock:stop() end)
  before_each(function()
    t.dir = env.tmpdir()
    t.mock:reset()
  end)
  after_each(function() os.execute("rm -rf " .. t.dir) end)
  return t
end

-- The API requests in the mock's log (image downloads are not API calls),
-- optionally only those to path.
function M.api_requests(mock, path)
  local n = 0
  for _, e in ipairs(mock:requests()) do
    if e.path:sub(1, 5) == "/api/" and (not path or e.path == path) then n = n + 1 end
  end
  return n
end

-- stdout's lines, each decoded as JSON.
function M.json_lines(stdout)
  local list = {}
  for l in stdout:gmatch("[^\n]+") do list[#list + 1] = cjson.decode(l) end
  return list
end

-- stderr is exactly one "vinano: ..." line without a traceback: returns it.
function M.one_error_line(stderr)
  assert(not stderr:find("traceback", 1, true), stderr)
  local lines = {}
  for l in stderr:gmatch("[^\n]+") do lines[#lines + 1] = l end
  assert(#lines == 1, "expected one line on stderr, got:\n" .. stderr)
  assert(lines[1]:match("^vinano: "), lines[1])
  return lines[1]
end

-- run(mock, args, opts) -> exit status, stdout, stderr
function M.run(mock, args, opts)
  local out, err = os.tmpname(), os.tmpname()
  local cmd = M.command(mock, args, opts) .. " >" .. out .. " 2>" .. err .. "; echo $?"
  local code = tonumber(env.sh(cmd):match("(%d+)%s*$"))
  local stdout, stderr = env.read_file(out), env.read_file(err)
  os.remove(out)
  os.remove(err)
  return code, stdout, stderr
end

-- start(mock, args, opts) -> pid of the running command (its output goes
-- to opts.log or nowhere).
function M.start(mock, args, opts)
  opts = opts or {}
  local log = opts.log or "/dev/null"
  local cmd = "(exec " .. M.command(mock, args, opts) .. " >" .. log .. " 2>&1) & echo $!"
  return assert(tonumber(env.sh(cmd):match("(%d+)")))
end

function M.alive(pid)
  return os.execute("kill -0 " .. pid .. " 2>/dev/null") == true or
    os.execute("kill -0 " .. pid .. " 2>/dev/null") == 0
end

-- SIGKILL: the process gets no chance to write or clean anything.
function M.kill9(pid)
  os.execute("kill -9 " .. pid .. " 2>/dev/null")
  local deadline = socket.gettime() + 10
  while M.alive(pid) and socket.gettime() < deadline do socket.sleep(0.02) end
end

-- Waits (at most `timeout` s) until check() returns a true value; returns it.
function M.wait_for(check, timeout, what)
  local deadline = socket.gettime() + (timeout or 30)
  repeat
    local v = check()
    if v then return v end
    socket.sleep(0.02)
  until socket.gettime() > deadline
  error("timed out waiting for " .. (what or "a condition"), 2)
end

-- The journal's complete lines, decoded (a torn or foreign line is skipped).
function M.journal(path)
  local text = env.read_file(path) or ""
  local lines = {}
  for line in text:gmatch("([^\n]*)\n") do
    local ok, v = pcall(cjson.decode, line)
    if ok and type(v) == "table" then lines[#lines + 1] = v end
  end
  return lines
end

-- id -> the last state the journal records for it.
function M.last_states(lines)
  local last = {}
  for _, l in ipairs(lines) do last[l.id] = l.state end
  return last
end

return M
