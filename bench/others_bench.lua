-- bench/others_bench.lua: what Lua code does without vinano, for the same
-- requests (the API page's quick-start fields, optionally with images).
--
--   curl    BASE CA N ROUNDS WARM [IMAGE...]
--           the curl command line per request through io.popen (what
--           Neovim plugins and scripts do); the JSON answer decoded
--   luasec  BASE CA N ROUNDS WARM [IMAGE...]
--           LuaSocket + LuaSec: ssl.https.request with a multipart body
--           built in Lua, a new TLS connection per request (socket.http
--           always closes), which is what Lua code on LuaSec does
--   luasec-ka BASE CA N ROUNDS WARM [IMAGE...]
--           the same body over one kept-alive TLS connection (TCP_NODELAY
--           set, as libcurl does), with a small hand-written HTTP/1.1
--           exchange (LuaSec has no keep-alive client)
--
-- Prints the microseconds per request of each round on one line.
local cjson = require "cjson"
local socket = require "socket"

local mode, base, ca = arg[1], arg[2], arg[3]
local n, nrounds, warm = tonumber(arg[4]), tonumber(arg[5]), tonumber(arg[6])
local images = {}
for i = 7, #arg do images[#images + 1] = arg[i] end
local TOKEN = "bench-token"
local url = base .. "/api/v2/images/generate"
local now = socket.gettime

local FIELDS = {
  { "prompt", "a beautiful sunset over the ocean" },
  { "model", "gemini-2.5-flash-image-preview" },
  { "aspectRatio", "16:9" },
  { "googleSearch", "false" },
  { "mode", "txt2img" },
}

local function check(code, body)
  if code ~= 200 then error(("others_bench: HTTP %s: %s"):format(tostring(code), tostring(body))) end
  local t = cjson.decode(body)
  if type(t) ~= "table" or type(t.images) ~= "table" then error("others_bench: no images in " .. body) end
  return t
end

-- The form as curl -F would send it; files read from disk per request.
local function multipart()
  local boundary = ("------------------------%08x%08x"):format(math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))
  local parts = {}
  for _, f in ipairs(FIELDS) do
    parts[#parts + 1] = ('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'):format(boundary, f[1], f[2])
  end
  for _, path in ipairs(images) do
    local fh = assert(io.open(path, "rb"))
    local data = fh:read("*a")
    fh:close()
    parts[#parts + 1] = ('--%s\r\nContent-Disposition: form-data; name="image"; filename="%s"\r\n'
      .. 'Content-Type: image/png\r\n\r\n'):format(boundary, path:match("[^/]*$"))
    parts[#parts + 1] = data
    parts[#parts + 1] = "\r\n"
  end
  parts[#parts + 1] = "--" .. boundary .. "--\r\n"
  return table.concat(parts), "multipart/form-data; boundary=" .. boundary
end

local one

if mode == "curl" then
  local args = {}
  for _, f in ipairs(FIELDS) do args[#args + 1] = ("-F '%s=%s'"):format(f[1], f[2]) end
  for _, path in ipairs(images) do args[#args + 1] = ("-F 'image=@%s'"):format(path) end
  local cmd = ("curl -sS --cacert '%s' -H 'Authorization: Bearer %s' %s -w '\\n%%{http_code}' '%s'")
    :format(ca, TOKEN, table.concat(args, " "), url)
  one = function()
    local p = assert(io.popen(cmd, "r"))
    local out = p:read("*a")
    p:close()
    local body, code = out:match("^(.*)\n(%d+)$")
    check(tonumber(code), body)
  end

elseif mode == "luasec" then
  local https = require "ssl.https"
  local ltn12 = require "ltn12"
  one = function()
    local body, ctype = multipart()
    local chunks = {}
    local ok, code = https.request {
      url = url, method = "POST",
      headers = { ["content-type"] = ctype, ["content-length"] = tostring(#body), authorization = "Bearer " .. TOKEN },
      source = ltn12.source.string(body), sink = ltn12.sink.table(chunks),
      cafile = ca, verify = "peer", protocol = "any", options = { "all", "no_sslv2", "no_sslv3" },
    }
    if not ok then error("others_bench: " .. tostring(code)) end
    check(code, table.concat(chunks))
  end

elseif mode == "luasec-ka" then
  local ssl = require "ssl"
  local host, port = base:match("^https://([^:/]+):(%d+)")
  local path = url:match("^https://[^/]+(/.*)$")
  local conn
  local function connect()
    local s = assert(socket.tcp())
    assert(s:connect(host, tonumber(port)))
    assert(s:setoption("tcp-nodelay", true)) -- as libcurl does; else Nagle meets delayed ACK
    s = assert(ssl.wrap(s, { mode = "client", protocol = "any", verify = "peer", cafile = ca,
      options = { "all", "no_sslv2", "no_sslv3" } }))
    s:sni("localhost")
    assert(s:dohandshake())
    return s
  end
  one = function()
    conn = conn or connect()
    local body, ctype = multipart()
    assert(conn:send(("POST %s HTTP/1.1\r\nHost: %s:%s\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\n"
      .. "Content-Length: %d\r\n\r\n"):format(path, host, port, TOKEN, ctype, #body) .. body))
    local status = assert(conn:receive("*l"))
    local code = tonumber(status:match("^HTTP/1%.%d (%d+)"))
    local len, close = 0, false
    while true do
      local line = assert(conn:receive("*l"))
      if line == "" then break end
      local k, v = line:match("^([^:]+):%s*(.-)%s*$")
      k = k and k:lower()
      if k == "content-length" then len = tonumber(v) end
      if k == "connection" and v:lower() == "close" then close = true end
    end
    local answer = len > 0 and assert(conn:receive(len)) or ""
    if close then
      conn:close()
      conn = nil
    end
    check(code, answer)
  end

else
  io.stderr:write("others_bench: unknown mode ", tostring(mode), "\n")
  os.exit(2)
end

math.randomseed(os.time())
for _ = 1, warm do one() end
local out = {}
for r = 1, nrounds do
  local t0 = now()
  for _ = 1, n do one() end
  out[r] = ("%.2f"):format((now() - t0) * 1e6 / n)
end
print(table.concat(out, " "))
