-- What the Windows specs share.  They run under Wine with the folder's own
-- interpreter and only what the folder holds (vinano, its core, cjson), so
-- the mock (on the Linux side) is reached through vinano's core itself: its
-- request log by a GET, its other control endpoints through the relay
-- (spec/windows/relay.lua), because the core sends no JSON body.
-- scripts/windows/check.sh passes the addresses in the environment.
local vinano = require "vinano"
local core = require "vinano.core"
local cjson = require "cjson"

local S = {}

local function need(name)
  return assert(os.getenv(name), name .. " is not set: run the Windows specs with scripts/windows/check.sh")
end

S.mock_url = need("VINANO_MOCK_URL")
S.relay_url = need("VINANO_RELAY_URL")
S.token = need("VINANO_MOCK_TOKEN")
S.tmp = need("VINANO_WIN_TMP")          -- a Windows path (Z:\...), this run's own folder
S.folder = need("VINANO_WIN_FOLDER")    -- the copy of build/windows/<lua>/ that runs
S.tls_url = need("VINANO_TLS_URL")      -- the mock behind TLS, certificate signed by the CA below
S.tls_ca = need("VINANO_TLS_CA")        -- that CA's certificate (PEM), a Windows path
S.tls_bad_url = need("VINANO_TLS_BAD_URL") -- the mock behind TLS with a self-signed certificate
S.checksum = dofile(need("VINANO_MOCK_DIR") .. "\\checksum.lua")

-- One GET with the core; the answer's status and body.
local function get(url)
  local c = core.new {}
  local t = c:start { method = "GET", url = url, timeout = 20 }
  while not t:done() do c:step(50) end
  local r = t:result()
  c:close()
  assert(r.status, "GET " .. url .. ": " .. tostring(r.error))
  return r.status, r.body
end

local function escape(s)
  return (s:gsub("[^%w%-%._~]", function(ch) return ("%%%02X"):format(ch:byte()) end))
end

-- The mock's control endpoint METHOD PATH with VALUE as its JSON body.
function S.control(method, path, value)
  local url = S.relay_url .. "/control?method=" .. method .. "&path=" .. escape(path)
  if value ~= nil then url = url .. "&body=" .. escape(cjson.encode(value)) end
  local status, body = get(url)
  assert(status == 200, method .. " " .. path .. " -> " .. tostring(status) .. ": " .. tostring(body))
  return cjson.decode(body)
end

function S.fault(f) return S.control("POST", "/_mock/faults", f) end
function S.set(cfg) return S.control("POST", "/_mock/config", cfg) end

-- The mock's request log, read directly.
function S.requests()
  local status, body = get(S.mock_url .. "/_mock/requests")
  assert(status == 200, "GET /_mock/requests -> " .. tostring(status))
  return cjson.decode(body)
end

-- The log's entries for the API (the control endpoints left out).
function S.api_requests()
  local out = {}
  for _, e in ipairs(S.requests()) do
    if not e.path:match("^/_mock/") then out[#out + 1] = e end
  end
  return out
end

-- Every test starts from a fresh mock: log, faults, windows and balances.
function S.before_each()
  S.control("POST", "/_mock/reset")
end

function S.client(opts)
  local o = { token = S.token, base_url = S.mock_url, timeout = 20 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return vinano.new(o)
end

-- A new empty folder under this run's folder (Windows path, backslashes).
local n = 0
function S.dir(name)
  n = n + 1
  local d = S.tmp .. "\\" .. name .. n
  local ok = os.execute('mkdir "' .. d .. '"')
  assert(ok == true or ok == 0, "mkdir " .. d) -- 5.4: true; LuaJIT (5.1): 0
  return d
end

-- binary file helpers: the Linux specs' own (plain io, by path from the checkout)
local env = dofile(need("VINANO_CHECKOUT") .. "\\spec\\support\\env.lua")
S.write, S.read = env.write_file, env.read_file

-- The names in a folder, sorted (cmd's dir /b).
function S.ls(d)
  local p = assert(io.popen('dir /b "' .. d .. '" 2>nul'))
  local names = {}
  for line in p:lines() do
    line = line:gsub("\r$", "")
    if line ~= "" then names[#names + 1] = line end
  end
  p:close()
  table.sort(names)
  return names
end

-- Bytes a text-mode write or read would change on Windows (CR LF, ^Z, NUL).
S.binary = "\137PNG\r\n\26\n\0\0\0\rIHDR" .. ("\r\n\n\r\26\0\255"):rep(40) .. "tail\r"

local function show(v)
  -- %q, on one line: a string with CR, LF or binary bytes stays readable
  if type(v) == "string" then return (("%q"):format(v):gsub("\\\n", "\\n")) end
  return tostring(v)
end

function S.eq(expected, actual, what)
  if expected ~= actual then
    error(("%s: expected %s, got %s"):format(what or "value", show(expected), show(actual)), 2)
  end
end

function S.matches(pattern, s, what)
  if type(s) ~= "string" or not s:find(pattern) then
    error(("%s: %q does not match %q"):format(what or "value", tostring(s), pattern), 2)
  end
end

function S.raises(pattern, fn)
  local ok, err = pcall(fn)
  if ok then error("expected an error matching " .. pattern, 2) end
  if not tostring(err):find(pattern, 1, true) then
    error(("error %q does not contain %q"):format(tostring(err), pattern), 2)
  end
end

-- Waits in the core, with a bound (for tests that drive a loop themselves).
S.sleep = core.sleep
S.now = core.now

return S
