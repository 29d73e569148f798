-- Where the token may go through a proxy: NO_PROXY read exactly as the
-- libcurl in use reads it (issue 14, item 1).  For each form, the curl
-- command (the same libcurl) is the oracle: does its request reach a local
-- fake proxy?  vinano must refuse the plain-http client exactly when libcurl
-- would use that proxy (it is at 0.0.0.0, not loopback by name), accept it
-- when libcurl would go direct, and its request must never reach the proxy.
local env = require "spec.support.env"
local mock_process = require "spec.support.mock_process"
local route = require "vinano.route"

local quote = mock_process.quote

describe("NO_PROXY as libcurl reads it", function()
  local mock, dir, proxy_pid, proxy_port, proxy_log
  setup(function()
    mock = mock_process.start { tokens = { env.token }, credits = 1000000, rate_limit = 100000 }
    dir = env.tmpdir()
    proxy_log = dir .. "/proxy.log"
    env.write_file(proxy_log, "")
    local portfile = dir .. "/proxy.port"
    proxy_pid = env.sh(("lua5.4 spec/support/fake_proxy.lua %s >%s 2>&1 & echo $!"):format(quote(proxy_log),
      quote(portfile))):match("%d+")
    for _ = 1, 100 do
      proxy_port = tonumber((env.read_file(portfile) or ""):match("^(%d+)\n"))
      if proxy_port then break end
      env.sh("sleep 0.05")
    end
    assert(proxy_port, "the fake proxy did not start")
  end)
  teardown(function()
    if proxy_pid then env.sh("kill " .. proxy_pid) end
    mock:stop()
    env.sh("rm -rf " .. quote(dir))
  end)

  local function proxied()
    local n = 0
    for _ in (env.read_file(proxy_log) or ""):gmatch("[^\n]+") do n = n + 1 end
    return n
  end

  local function vars(no_proxy)
    local v = { http_proxy = ("http://0.0.0.0:%d"):format(proxy_port) }
    for k, value in pairs(no_proxy) do v[k] = value end
    return v
  end

  local function prefix(v)
    local p = "env -u no_proxy -u NO_PROXY -u all_proxy -u ALL_PROXY"
    for k, value in pairs(v) do p = p .. " " .. k .. "=" .. quote(value) end
    return p
  end

  -- whether the curl command's request to base reached the proxy
  local function curl_proxies(base, v)
    local before = proxied()
    env.sh(prefix(v) .. " curl -s -o /dev/null --max-time 5 " .. quote(base .. "/api/_probe"))
    return proxied() > before
  end

  -- what vinano did: "refused" (invalid_request naming the proxy) or "sent",
  -- and whether its request reached the proxy
  local function vinano_does(base, v)
    local before = proxied()
    local code = ([[
      local c = require("vinano").new { token = %q, base_url = %q, timeout = 5, max_retries = 0 }
      local res, err = c:generate { prompt = "x" }
      io.write(res and "sent" or (err.kind == "invalid_request" and err.message:find("proxy", 1, true) and "refused")
        or tostring(err))]]):format(env.token, base)
    local out = env.sh(prefix(v) .. " " .. env.child_lua() .. " -e " .. quote(code) .. " 2>&1")
    return out, proxied() > before
  end

  local loopback = function() return mock.url end
  local localhost = function() return (mock.url:gsub("127%.0%.0%.1", "localhost")) end
  local port = function() return tostring(mock.port) end

  -- { NO_PROXY value, base URL, what libcurl 7.88 does: "direct" or "proxy" }
  local FORMS = {
    { "*", loopback, "direct" },
    { "*,example.com", loopback, "proxy" }, -- "*" counts only as the whole value
    { "example.com,*", loopback, "proxy" },
    { ".0.0.1", loopback, "proxy" }, -- no suffix match on an IPv4 host
    { "0.0.1", loopback, "proxy" },
    { "127.0.0.1", loopback, "direct" },
    { " 127.0.0.1 ", loopback, "direct" },
    { "example.com,127.0.0.1", loopback, "direct" },
    { "example.com 127.0.0.1", loopback, "direct" }, -- blanks still separate (deprecated)
    { ",,127.0.0.1,,", loopback, "direct" },
    { "127.0.0.0/8", loopback, "direct" },
    { "127.0.0.1/32", loopback, "direct" },
    { "127.1.0.0/16", loopback, "proxy" },
    { "127.0.0.0/33", loopback, "proxy" },
    { "127.0.0.0/0", loopback, "proxy" }, -- 0 bits: the address itself
    { "127.0.0.2", loopback, "proxy" },
    { "127.0.0.1.", loopback, "proxy" },
    { "127.000.0.1", loopback, "proxy" },
    { function() return "127.0.0.1:" .. port() end, loopback, "proxy" },
    { "localhost", loopback, "proxy" }, -- names are not resolved
    { "localhost", localhost, "direct" },
    { ".localhost", localhost, "direct" },
    { "LOCALHOST.", localhost, "direct" },
    { "host", localhost, "proxy" },
    { "calhost", localhost, "proxy" },
    { "127.0.0.1", localhost, "proxy" },
  }

  for _, row in ipairs(FORMS) do
    local label = type(row[1]) == "function" and "127.0.0.1:PORT" or row[1]
    it(("NO_PROXY=%q on %s"):format(label, row[2] == loopback and "127.0.0.1" or "localhost"), function()
      local value = type(row[1]) == "function" and row[1]() or row[1]
      local base = row[2]()
      for _, name in ipairs { "NO_PROXY", "no_proxy" } do
        local v = vars { [name] = value }
        local curl_via_proxy = curl_proxies(base, v)
        assert.are.equal(row[3] == "proxy", curl_via_proxy, "libcurl did not do what the table says")
        local out, reached = vinano_does(base, v)
        assert.is_false(reached, "vinano's request reached the proxy: " .. out)
        assert.are.equal(curl_via_proxy and "refused" or "sent", out)
      end
    end)
  end

  it("an empty no_proxy is unset, as libcurl's getenv has it: NO_PROXY counts", function()
    local v = vars { no_proxy = "", NO_PROXY = "127.0.0.1" }
    assert.is_false(curl_proxies(mock.url, v))
    local out, reached = vinano_does(mock.url, v)
    assert.is_false(reached)
    assert.are.equal("sent", out)
  end)

  it("route.no_proxy_exempts matches libcurl's rules on IPv6 literals and odd entries", function()
    -- libcurl checks an IPv6 host without its brackets, as a name
    assert.is_true(route.no_proxy_exempts("::1", "[::1]"))
    assert.is_false(route.no_proxy_exempts("[::1]", "[::1]"))
    assert.is_true(route.no_proxy_exempts("example.COM", "www.Example.com"))
    assert.is_false(route.no_proxy_exempts("example.com", "nonexample.com"))
    assert.is_false(route.no_proxy_exempts("", "example.com"))
    assert.is_false(route.no_proxy_exempts(nil, "example.com"))
    assert.is_true(route.no_proxy_exempts("10.0.0.0/8x", "10.1.2.3")) -- atoi reads "8"
    assert.is_false(route.no_proxy_exempts("10.0.0.0/-1", "10.1.2.3"))
  end)
end)
