-- Over https, vinano speaks HTTP/2 where the server offers it and runs
-- concurrent requests of one client as streams of one connection.  The
-- server is nghttpd (Debian nghttp2-server) with fixed API-shaped answers.
local vinano = require "vinano"
local async = require "vinano.async"
local env = require "spec.support.env"

describe("HTTP/2 #external", function()
  local dir, pid, base_url, cert
  setup(function()
    assert(env.sh("command -v nghttpd"):match("nghttpd"),
      "nghttpd is not installed: apt-get install -y nghttp2-server")
    dir = env.tmpdir()
    cert = dir .. "/cert.pem"
    env.sh(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      .. "-addext subjectAltName=DNS:localhost -keyout %s/key.pem -out %s 2>/dev/null"):format(dir, cert))
    os.execute("mkdir -p " .. dir .. "/www/api/v2/images")
    env.write_file(dir .. "/www/api/v2/images/generate", '{"status":200,"images":["https://localhost/x.png"],'
      .. '"imageDetails":[{"width":64,"height":64,"filesize":1}],"uuid":"u-1","credits":{"cost":10}}')
    local port = env.free_port()
    local p = io.popen(("exec nghttpd --htdocs=%s/www %d %s/key.pem %s >/dev/null 2>&1 & echo $!"):format(
      dir, port, dir, cert))
    pid = p:read("*l")
    p:close()
    env.wait_listening(port)
    base_url = ("https://localhost:%d"):format(port)
  end)
  teardown(function()
    if pid then os.execute("kill " .. pid) end
    if dir then os.execute("rm -rf " .. dir) end
  end)

  it("negotiates HTTP/2 and multiplexes concurrent requests on one connection", function()
    local c = vinano.new { token = env.token, base_url = base_url, ca_file = cert }
    local res = assert(c:generate { prompt = "warm up" })
    assert.are.equal("u-1", res.uuid)
    assert.are.equal("2", c:last_response().http_version)
    assert.are.equal(1, c:last_response().new_connections)

    local versions, connections, ok = {}, 0, 0
    async.run(function()
      local fns = {}
      for i = 1, 20 do
        fns[i] = function()
          local r = c:generate { prompt = "p" .. i }
          local info = c:last_response() -- set by this call, before the task could yield
          if r then ok = ok + 1 end
          versions[info.http_version] = true
          connections = connections + info.new_connections
        end
      end
      async.all(fns)
    end)
    assert.are.equal(20, ok)
    assert.are.same({ ["2"] = true }, versions)
    assert.are.equal(0, connections)
  end)
end)
