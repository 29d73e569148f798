-- verbose = true: libcurl's trace on stderr never shows the token nor any
-- Authorization / Proxy-Authorization value (HTTP/1 headers, HTTP/2 lines).
-- Each case runs in a child interpreter whose stderr is captured.
local S = require "spec.core.support"

local function child(script)
  local lua = S.lua()
  local dir = S.tmpdir()
  local file = dir .. "/child.lua"
  S.write_file(file, ("package.cpath = %q\npackage.path = %q\n"):format(package.cpath, package.path) .. script)
  local out = S.sh(lua .. " " .. file)
  os.execute("rm -rf " .. dir)
  return out
end

local RUN = [[
local core = require "vinano.core"
local c = core.new(%s)
local t = c:start(%s)
while not t:done() do c:step(50) end
io.write("\nRESULT status=", t:result().status, " code=", t:result().code, "\n")
c:close()
]]

local function no_secret(out, secret)
  assert.is_nil(out:find(secret, 1, true), "the trace shows a secret:\n" .. out)
end

describe("verbose trace", function()
  local mock
  setup(function() mock = S.mock {} end)
  teardown(function() mock:stop() end)

  it("redacts the Authorization value and the token anywhere (HTTP/1.1)", function()
    local out = child(RUN:format(("{ token = %q, verbose = true }"):format(S.token),
      ("{ method = 'POST', url = %q, auth = true, parts = { { name = 'prompt', value = 'x' } } }"):format(
        mock.url .. "/api/v2/images/generate?echo=" .. S.token)))
    assert.matches("RESULT status=200 code=0", out)
    assert.matches("> Authorization: <redacted>", out, 1, true)
    assert.matches("> POST /api/v2/images/generate%?echo=<redacted> HTTP/1.1", out)
    no_secret(out, S.token)
  end)

  it("redacts Proxy-Authorization", function()
    local proxy = mock.url:gsub("^http://", "http://user:pa55word@")
    local out = child(RUN:format(("{ token = %q, verbose = true, proxy = %q }"):format(S.token, proxy),
      "{ url = 'http://example.invalid/x', auth = true }"))
    assert.matches("RESULT status=", out)
    assert.matches("> Proxy%-Authorization: <redacted>", out)
    no_secret(out, "dXNlcjpwYTU1d29yZA==") -- base64 of user:pa55word
    no_secret(out, S.token)
  end)

  it("redacts h2 trace lines like [authorization: Bearer ...]", function()
    if not S.sh("command -v nghttpd"):match("nghttpd") or not S.core.curl().http2 then
      pending("needs nghttpd and libcurl with HTTP/2")
      return
    end
    local dir = S.tmpdir()
    S.sh(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      .. "-keyout %s/key.pem -out %s/cert.pem"):format(dir, dir))
    os.execute("mkdir -p " .. dir .. "/www && echo ok > " .. dir .. "/www/x")
    local port = S.free_port()
    local p = io.popen(("exec nghttpd --htdocs=%s/www %d %s/key.pem %s/cert.pem >/dev/null 2>&1 & echo $!"):format(
      dir, port, dir, dir))
    local pid = p:read("*l")
    p:close()
    S.wait_listening(port)
    local out = child(RUN:format(("{ token = %q, verbose = true, insecure = true }"):format(S.token),
      ("{ url = 'https://localhost:%d/x', auth = true }"):format(port)))
    os.execute("kill " .. pid .. "; rm -rf " .. dir)
    assert.matches("RESULT status=200 code=0", out)
    assert.matches("[authorization: <redacted>]", out, 1, true)
    no_secret(out, S.token)
  end)
end)

describe("the route", function()
  local mock
  setup(function() mock = S.mock {} end)
  teardown(function() mock:stop() end)

  it("ignores the proxy variables of the environment (proxy = nil means direct)", function()
    local dead = "http://127.0.0.1:" .. S.free_port()
    local dir = S.tmpdir()
    local file = dir .. "/child.lua"
    S.write_file(file, ("package.cpath = %q\n"):format(package.cpath) .. RUN:format("{}",
      ("{ url = %q }"):format(mock.url .. "/nowhere")))
    local out = S.sh(("http_proxy=%s HTTP_PROXY=%s ALL_PROXY=%s all_proxy=%s %s %s"):format(
      dead, dead, dead, dead, S.lua(), file))
    os.execute("rm -rf " .. dir)
    assert.matches("RESULT status=404 code=0", out)
  end)
end)
