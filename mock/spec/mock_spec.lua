-- Specs of the mock server itself (mock/bin/vinano-mock, vinano.mock).
-- The client is curl, as in the API page's own examples; the mock runs as a
-- separate lua5.4 process (spec/support/mock_process.lua), except in the
-- last block, which embeds it in this process through the Lua API.
package.path = "./?.lua;./mock/lua/?.lua;" .. package.path

local socket = require "socket"
local cjson = require "cjson"
local checksum = require "vinano.mock.checksum"
local mock_process = require "spec.support.mock_process"

local quote = mock_process.quote
local TOKEN, TOKEN2 = "secret-token-1", "other-token-2"

-- Temporary files, removed at the end.
local temp_files = {}
local function temp_file(content)
  local name = os.tmpname()
  temp_files[#temp_files + 1] = name
  if content then
    local f = assert(io.open(name, "wb"))
    f:write(content)
    f:close()
  end
  return name
end
local function read_file(name)
  local f = io.open(name, "rb")
  if not f then return nil end
  local data = f:read("*a")
  f:close()
  return data
end

-- Parses a header dump (-D); keeps the last block (after "100 Continue").
local function parse_head(raw)
  local status_line, headers = nil, {}
  for line in (raw or ""):gmatch("([^\r\n]*)\r?\n") do
    if line:match("^HTTP/") then
      status_line, headers = line, {}
    elseif line ~= "" then
      local k, v = line:match("^([^:]+):%s*(.*)$")
      if k then headers[k:lower()] = v end
    end
  end
  return status_line, headers
end

-- curl(args) -> { status, status_line, headers, body, out (curl's -w and
-- error output), heads (the whole header dump) }. status is 0 when nothing
-- came back.
local function curl(args)
  local hfile, bfile = temp_file(), temp_file()
  local pipe = io.popen("curl -sS -m 10 -D " .. hfile .. " -o " .. bfile
    .. " -w '\\n%{http_code}' " .. args .. " 2>&1")
  local out = pipe:read("*a")
  pipe:close()
  local heads = read_file(hfile)
  local status_line, headers = parse_head(heads)
  return { status = tonumber(out:match("(%d%d%d)%s*$")) or 0, status_line = status_line,
    headers = headers, body = read_file(bfile) or "", out = out, heads = heads }
end

local function auth(token) return "-H " .. quote("Authorization: Bearer " .. (token or TOKEN)) .. " " end

local function form(fields)
  local out = {}
  for _, f in ipairs(fields) do
    local name, value = f[1], f[2]
    if value:sub(1, 1) == "@" then
      out[#out + 1] = "-F " .. quote(name .. "=" .. value)
    else
      out[#out + 1] = "--form-string " .. quote(name .. "=" .. value)
    end
  end
  return table.concat(out, " ") .. " "
end

local function json_of(r)
  local ok, v = pcall(cjson.decode, r.body)
  assert(ok, "not JSON: " .. tostring(r.body))
  return v
end

-- PNG checks done here, independently of the mock's encoder.
local function u32(s, i)
  local a, b, c, d = s:byte(i, i + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end

local function check_png(data)
  assert.are.equal("\137PNG\r\n\26\n", data:sub(1, 8))
  assert.are.equal(13, u32(data, 9))
  assert.are.equal("IHDR", data:sub(13, 16))
  assert.are.equal(checksum.crc32(data:sub(13, 29)), u32(data, 30))
  local width, height = u32(data, 17), u32(data, 21)
  assert.are.equal("\8\2\0\0\0", data:sub(25, 29)) -- 8-bit RGB, no interlace
  -- Walk the chunks; gather IDAT; check every CRC; end with IEND.
  local pos, idat, last = 9, {}, nil
  while pos <= #data do
    local len, kind = u32(data, pos), data:sub(pos + 4, pos + 7)
    local body = data:sub(pos + 8, pos + 7 + len)
    assert.are.equal(checksum.crc32(kind .. body), u32(data, pos + 8 + len), kind .. " CRC")
    if kind == "IDAT" then idat[#idat + 1] = body end
    last, pos = kind, pos + 12 + len
  end
  assert.are.equal("IEND", last)
  -- The zlib stream: stored deflate blocks whose contents are the raw rows.
  local z = table.concat(idat)
  local raw, p, final = {}, 3, 0
  while final == 0 do
    final = z:byte(p) % 2
    local len = z:byte(p + 1) + 256 * z:byte(p + 2)
    assert.are.equal(65535 - len, z:byte(p + 3) + 256 * z:byte(p + 4))
    raw[#raw + 1] = z:sub(p + 5, p + 4 + len)
    p = p + 5 + len
  end
  raw = table.concat(raw)
  assert.are.equal(height * (3 * width + 1), #raw)
  assert.are.equal(checksum.adler32(raw), u32(z, p))
  return width, height
end

describe("vinano-mock #nocore", function()
  local mock, big_file

  setup(function()
    -- The checksum used to verify the mock's PNGs is itself checked against
    -- the standard check values first.
    assert.are.equal(0xCBF43926, checksum.crc32("123456789"))
    assert.are.equal(0x11E60398, checksum.adler32("Wikipedia"))
    mock = mock_process.start({ tokens = { TOKEN, TOKEN2 }, rate_limit = 1000, task_delay = 0.5 })
    local chunk = {}
    for i = 0, 255 do chunk[#chunk + 1] = string.char(i) end
    big_file = temp_file(string.rep(table.concat(chunk), 6 * 1024)) -- 1.5 MiB, all byte values
  end)

  teardown(function()
    if mock then mock:stop() end
    for _, name in ipairs(temp_files) do os.remove(name) end
  end)

  before_each(function() mock:reset() end)

  local function api(path) return quote(mock.url .. path) end
  local function generate(fields, extra)
    return curl(auth() .. (extra or "") .. form(fields) .. api("/api/v2/images/generate"))
  end

  describe("startup", function()
    it("prints the listening line and answers health", function()
      assert.matches("^http://127%.0%.0%.1:%d+$", mock.url)
      assert.is_true(mock.port > 0)
      assert.is_true(mock.pid > 1)
      local r = curl(quote(mock.url .. "/_mock/health"))
      assert.are.equal(200, r.status)
      assert.are.same({ ok = true }, json_of(r))
    end)

    it("stops on POST /_mock/shutdown", function()
      local other = mock_process.start() -- no tokens given: "test-token"
      local r = curl(auth("test-token") .. form({ { "prompt", "p" } }) .. quote(other.url .. "/api/v1/images/async"))
      assert.are.equal(202, r.status)
      local answer, status = other:control("POST", "/_mock/shutdown")
      assert.are.equal(200, status)
      assert.are.same({ ok = true }, answer)
      other.pipe:close() -- returns once the process has exited
      other.pipe = nil
      assert.are.equal(0, curl(quote(other.url .. "/_mock/health")).status)
    end)

    it("refuses a non-loopback host", function()
      local pipe = io.popen("lua5.4 mock/bin/vinano-mock --host 0.0.0.0 --port 0 2>&1; echo rc=$?")
      local out = pipe:read("*a")
      pipe:close()
      assert.matches("loopback", out)
      assert.matches("rc=2", out)
    end)
  end)

  describe("authentication", function()
    it("answers 401 without a token, with a malformed one, and with a wrong one", function()
      local cases = { "", "-H 'Authorization: Basic abc' ", auth("nope!") }
      for _, header in ipairs(cases) do
        local r = curl(header .. form({ { "prompt", "x" } }) .. api("/api/v2/images/generate"))
        assert.are.equal(401, r.status)
        assert.are.equal(401, json_of(r).status)
        assert.is_string(json_of(r).message)
        assert.is_nil(r.headers["x-ratelimit-limit"])
      end
    end)

    it("accepts every configured token", function()
      assert.are.equal(200, curl(auth(TOKEN2) .. form({ { "prompt", "x" } }) .. api("/api/v2/images/generate")).status)
    end)
  end)

  describe("generate", function()
    it("answers the documented success body and serves a true PNG", function()
      local r = generate({ { "prompt", "a beautiful sunset" }, { "aspectRatio", "16:9" } })
      assert.are.equal(200, r.status)
      assert.matches("^application/json", r.headers["content-type"])
      local body = json_of(r)
      assert.are.equal(200, body.status)
      assert.are.equal("a beautiful sunset", body.prompt)
      assert.are.equal("gemini-2.5-flash-image-preview", body.model)
      assert.are.same({ cost = 10 }, body.credits)
      assert.matches("^%x+%-%x+%-4%x+%-%x+%-%x+$", body.uuid)
      assert.are.equal(1, #body.images)
      assert.are.equal(mock.url .. "/images/" .. body.uuid .. ".png", body.images[1])
      local img = curl(quote(body.images[1]))
      assert.are.equal(200, img.status)
      assert.are.equal("image/png", img.headers["content-type"])
      local w, h = check_png(img.body)
      assert.are.same({ { width = w, height = h, filesize = #img.body } }, body.imageDetails)
      assert.are.same({ 64, 36 }, { w, h })
    end)

    it("makes images of the requested aspect ratio", function()
      local cases = {
        { "1:1", nil, 64, 64 }, { "9:16", nil, 36, 64 }, { "3:2", nil, 63, 42 },
        { "auto", nil, 64, 64 }, { "4:1", "gemini-3.1-pro-image-preview", 128, 32 },
        { "1:8", "gemini-3.1-pro-image-preview", 16, 128 },
      }
      for _, c in ipairs(cases) do
        local fields = { { "prompt", "p" }, { "aspectRatio", c[1] } }
        if c[2] then fields[#fields + 1] = { "model", c[2] } end
        local body = json_of(generate(fields))
        assert.are.same({ c[3], c[4] }, { body.imageDetails[1].width, body.imageDetails[1].height }, c[1])
      end
    end)

    it("answers 400 with <field>: <rule> for each broken rule", function()
      local cases = {
        { { { "mode", "meme" } }, "^prompt: " },
        { { { "prompt", "" } }, "^prompt: " },
        { { { "prompt", "p" }, { "aspectRatio", "5:4" } }, "^aspectRatio: " },
        { { { "prompt", "p" }, { "aspectRatio", "8:1" } }, "^aspectRatio: " },
        { { { "prompt", "p" }, { "img_size", "2k" } }, "^img_size: " },
        { { { "prompt", "p" }, { "model", "gemini-3.1-pro-image-preview" }, { "img_size", "8k" } }, "^img_size: " },
        { { { "prompt", "p" }, { "googleSearch", "true" } }, "^googleSearch: " },
        { { { "prompt", "p" }, { "hdPro", "yes" } }, "^hdPro: " },
        { { { "prompt", "p" }, { "model", "Z-Image" }, { "imageUrl", "http://x/y.png" } }, "^imageUrl: " },
        { { { "prompt", "p" }, { "prompt", "q" } }, "^prompt: " },
      }
      for i, c in ipairs(cases) do
        local r = generate(c[1])
        assert.are.equal(400, r.status, "case " .. i)
        assert.are.equal(400, json_of(r).status)
        assert.matches(c[2], json_of(r).message, 1, false)
        assert.are.equal("1000", r.headers["x-ratelimit-limit"])
      end
    end)

    it("lets through what the rules allow", function()
      local cases = {
        { { "prompt", "p" }, { "googleSearch", "false" }, { "hdPro", "false" } },
        { { "prompt", "p" }, { "model", "gemini-3.1-pro-image-preview" }, { "googleSearch", "true" },
          { "img_size", "4k" }, { "aspectRatio", "8:1" } },
        { { "prompt", "p" }, { "model", "some-future-model" }, { "mode", "anything" } },
        { { "imageUrl", "https://example.com/a.png" } },
      }
      for i, fields in ipairs(cases) do
        assert.are.equal(200, generate(fields).status, "case " .. i)
      end
    end)

    it("answers 400 to a POST that is not multipart/form-data", function()
      local empty = curl(auth() .. "-X POST " .. api("/api/v2/images/generate"))
      assert.are.equal(400, empty.status)
      assert.matches("^prompt: ", json_of(empty).message)
      local urlencoded = curl(auth() .. "-d prompt=x " .. api("/api/v2/images/generate"))
      assert.are.equal(400, urlencoded.status)
      assert.matches("^Content%-Type: ", json_of(urlencoded).message)
    end)

    it("counts prompt characters, not bytes", function()
      local ok = generate({ { "prompt", string.rep("é", 2000) } })
      assert.are.equal(200, ok.status)
      assert.are.equal(string.rep("é", 2000), json_of(ok).prompt)
      local long = generate({ { "prompt", string.rep("é", 2001) } })
      assert.are.equal(400, long.status)
      assert.matches("^prompt: ", json_of(long).message)
    end)

    it("charges credits and answers 495 when they run out", function()
      mock:set({ credits = 25 })
      local hd = generate({ { "prompt", "p" }, { "hdPro", "true" } })
      assert.are.equal(495, hd.status)
      assert.are.equal("HTTP/1.1 495 Insufficient Credits", hd.status_line)
      assert.are.same({ status = 495, message = "Insufficient credits" }, json_of(hd))
      assert.are.equal(200, generate({ { "prompt", "p" } }).status)
      assert.are.equal(200, generate({ { "prompt", "p" } }).status)
      assert.are.equal(495, generate({ { "prompt", "p" } }).status) -- 5 left
      assert.are.same({ 5, 25 }, mock:config().balances)
      mock:set({ credits = 1000 })
      local sized = generate({ { "prompt", "p" }, { "model", "gemini-3-pro-image-preview" }, { "img_size", "4k" } })
      assert.are.same({ cost = 80 }, json_of(sized).credits)
    end)
  end)

  describe("uploads", function()
    it("answers 413 over max-upload, before and while reading the body", function()
      mock:set({ max_upload = 1000 })
      local small = temp_file(string.rep("x", 5000))
      local r = generate({ { "image", "@" .. small } })
      assert.are.equal(413, r.status)
      assert.are.same({ status = 413, message = "File size exceeds limit (100MB)" }, json_of(r))
      -- > 1 MiB: curl waits for "100 Continue", gets the 413 instead.
      local big = generate({ { "image", "@" .. big_file } })
      assert.are.equal(413, big.status)
      -- chunked: no length up front, the limit trips while reading.
      local chunked = generate({ { "image", "@" .. small } }, "-H 'Transfer-Encoding: chunked' ")
      assert.are.equal(413, chunked.status)
      local log = mock:requests()
      assert.are.equal(3, #log)
      for _, e in ipairs(log) do assert.are.equal(413, e.status) end
      mock:set({ max_upload = 0 }) -- the control API still takes its JSON
      mock:fault({ action = "status", status = 500, body = string.rep("x", 2000) })
    end)

    it("takes a > 1 MiB upload sent with Expect: 100-continue", function()
      local r = curl("-v " .. auth() .. form({ { "image", "@" .. big_file } }) .. api("/api/v2/images/generate"))
      assert.are.equal(200, r.status)
      assert.matches("Expect: 100%-continue", r.out)
      assert.matches("HTTP/1.1 100 Continue", r.heads)
      local part = mock:requests()[1].parts[1]
      assert.are.equal(1536 * 1024, part.size)
      assert.are.equal(string.format("%08x", checksum.crc32(read_file(big_file))), part.crc32)
    end)

    it("takes a chunked request body", function()
      local r = generate({ { "prompt", "chunky" } }, "-H 'Transfer-Encoding: chunked' ")
      assert.are.equal(200, r.status)
      local e = mock:requests()[1]
      assert.are.equal("chunked", e.headers["transfer-encoding"])
      assert.are.equal("chunky", e.parts[1].value)
    end)

    it("answers 431 to oversized headers", function()
      local header_file = temp_file("X-Big: " .. string.rep("a", 70 * 1024) .. "\n")
      local r = curl("-H @" .. header_file .. " " .. api("/api/v2/images/generate"))
      assert.are.equal(431, r.status)
    end)

    it("keeps connections alive between requests", function()
      local r = curl("-v " .. auth() .. api("/api/v1/images/task-status?task_id=a") .. " "
        .. api("/api/v1/images/task-status?task_id=b"))
      assert.matches("Re%-using existing connection", r.out)
      assert.are.equal(2, #mock:requests())
    end)
  end)

  describe("rate limit", function()
    it("allows rate-limit requests per window, then 429 with Retry-After", function()
      mock:set({ rate_limit = 3, rate_window = 1 })
      for remaining = 2, 0, -1 do
        local r = generate({ { "prompt", "p" } })
        assert.are.equal(200, r.status)
        assert.are.equal("3", r.headers["x-ratelimit-limit"])
        assert.are.equal(tostring(remaining), r.headers["x-ratelimit-remaining"])
        local reset = tonumber(r.headers["x-ratelimit-reset"])
        assert.is_true(reset > 1e9 and reset <= os.time() + 2)
      end
      local over = generate({ { "prompt", "p" } })
      assert.are.equal(429, over.status)
      assert.are.same({ status = 429, message = "Rate limit exceeded" }, json_of(over))
      assert.are.equal("1", over.headers["retry-after"])
      assert.are.equal("0", over.headers["x-ratelimit-remaining"])
      local log = mock:requests()
      assert.are.equal(4, #log)
      assert.are.equal(429, log[4].status)
      socket.sleep(1.05)
      mock:set({ reset_style = "delta" })
      local again = generate({ { "prompt", "p" } })
      assert.are.equal(200, again.status)
      assert.are.equal("1", again.headers["x-ratelimit-reset"])
      mock:set({ rate_limit = 1000, rate_window = 60, reset_style = "unix" })
    end)
  end)

  describe("async tasks", function()
    local function submit(fields)
      return curl(auth() .. form(fields or { { "prompt", "later" } }) .. api("/api/v1/images/async"))
    end
    local function poll(id)
      return curl(auth() .. api("/api/v1/images/task-status?task_id=" .. id))
    end

    it("is pending for task-delay, then answers the generate body", function()
      local r = submit()
      assert.are.equal(202, r.status)
      local body = json_of(r)
      assert.are.equal(202, body.status)
      assert.are.equal("Task submitted. Use GET /api/v1/images/task-status?task_id={task_id} to poll for results.",
        body.message)
      assert.are.equal("gemini-2.5-flash-image-preview", body.model)
      assert.are.same({ cost = 10 }, body.credits)
      local pending = poll(body.task_id)
      assert.are.equal(202, pending.status)
      assert.are.same({ status = 202, task_id = body.task_id, message = "processing" }, json_of(pending))
      mock:set({ pending_style = "string" })
      local pending2 = poll(body.task_id)
      assert.are.equal(200, pending2.status)
      assert.are.same({ status = "processing", task_id = body.task_id }, json_of(pending2))
      mock:set({ pending_style = "http202" })
      socket.sleep(0.55)
      local done = poll(body.task_id)
      assert.are.equal(200, done.status)
      local result = json_of(done)
      assert.are.equal(200, result.status)
      assert.are.equal(body.task_id, result.uuid)
      assert.are.equal("later", result.prompt)
      local img = curl(quote(result.images[1]))
      assert.are.equal(result.imageDetails[1].filesize, #img.body)
      check_png(img.body)
      assert.are.same(result, json_of(poll(body.task_id))) -- stable once done
    end)

    it("fails a task on a fail_task fault", function()
      mock:fault({ action = "fail_task" })
      local id = json_of(submit()).task_id
      assert.are.equal(202, poll(id).status)
      socket.sleep(0.55)
      local r = poll(id)
      assert.are.equal(200, r.status)
      assert.are.same({ status = "failed", task_id = id, message = "image generation failed" }, json_of(r))
    end)

    it("answers 404 to an unknown task and 400 without task_id", function()
      local r = poll("no-such-task")
      assert.are.equal(404, r.status)
      assert.are.same({ status = 404, message = "task not found" }, json_of(r))
      assert.are.equal(400, curl(auth() .. api("/api/v1/images/task-status")).status)
      local id = json_of(submit()).task_id
      -- another token's task is unknown too
      assert.are.equal(404, curl(auth(TOKEN2) .. api("/api/v1/images/task-status?task_id=" .. id)).status)
    end)
  end)

  describe("request log", function()
    it("records multipart parts byte-exactly and redacts the token", function()
      local file = temp_file("\0\1\2binary\r\n--not-a-boundary\r\n\255")
      local r = curl(auth() .. "-H 'X-Trace: 7' -F " .. quote("image=@" .. file .. ";type=image/png;filename=a.png")
        .. " " .. form({ { "prompt", "héllo" }, { "imageUrl", "https://example.com/x.png" } })
        .. api("/api/v2/images/generate?debug=1&x=a%20b"))
      assert.are.equal(200, r.status)
      local log = mock:requests()
      assert.are.equal(1, #log)
      local e = log[1]
      assert.are.equal("POST", e.method)
      assert.are.equal("/api/v2/images/generate", e.path)
      assert.are.same({ debug = "1", x = "a b" }, e.query)
      assert.are.equal(200, e.status)
      assert.are.equal("multipart/form-data", e.content_type)
      assert.are.equal("Bearer <token:1>", e.headers.authorization)
      assert.are.equal("7", e.headers["x-trace"])
      assert.are.equal(tonumber(e.headers["content-length"]), e.body_size)
      local content = read_file(file)
      assert.are.same({
        { name = "image", filename = "a.png", content_type = "image/png", size = #content,
          crc32 = string.format("%08x", checksum.crc32(content)) },
        { name = "prompt", value = "héllo", size = 6, crc32 = string.format("%08x", checksum.crc32("héllo")) },
        { name = "imageUrl", value = "https://example.com/x.png", size = 25,
          crc32 = string.format("%08x", checksum.crc32("https://example.com/x.png")) },
      }, e.parts)

      curl(auth(TOKEN2) .. form({ { "prompt", "p" } }) .. api("/api/v2/images/generate"))
      curl(auth("wrong") .. form({ { "prompt", "p" } }) .. api("/api/v2/images/generate"))
      local raw = curl(quote(mock.url .. "/_mock/requests")).body
      assert.is_nil(raw:find(TOKEN, 1, true))
      assert.is_nil(raw:find(TOKEN2, 1, true))
      log = mock:requests()
      assert.are.equal("Bearer <token:2>", log[2].headers.authorization)
      assert.are.equal("Bearer <unknown:len=5>", log[3].headers.authorization)
      assert.are.same({ 1, 2, 3 }, { log[1].id, log[2].id, log[3].id })
    end)

    it("never carries a token, in the log or on stderr: path, query, part names, files, types, values", function()
      local odd = "p+q/r=s~1" -- token68 characters that URL encoding changes
      local err_file = temp_file()
      local m = mock_process.start { tokens = { TOKEN, odd }, rate_limit = 1000, verbose = true, stderr = err_file }
      local function at(path) return quote(m.url .. path) end
      local file = temp_file("png bytes " .. TOKEN)
      -- the token where a careless client (or a test) could put it
      curl(auth() .. at("/api/v1/images/task-status?task_id=" .. TOKEN))
      curl(auth() .. at("/api/v1/images/" .. TOKEN .. "?" .. TOKEN .. "=x"))
      curl(auth() .. "-F " .. quote("image=@" .. file .. ";type=image/" .. TOKEN .. ";filename=" .. TOKEN .. ".png")
        .. " " .. form({ { "prompt", "say " .. TOKEN }, { "x" .. TOKEN, "v" } }) .. at("/api/v2/images/generate"))
      -- the other token, raw, percent-encoded and as a form value
      curl(auth(odd) .. at("/api/v1/images/task-status?task_id=" .. odd))
      curl(auth(odd) .. at("/api/v1/images/task-status?task_id=p%2Bq%2Fr%3Ds~1&b=p%2bq%2fr%3ds~1"))
      curl(auth(odd) .. form({ { "prompt", odd } }) .. at("/api/v2/images/generate"))
      local raw = curl(at("/_mock/requests")).body
      local log = m:requests()
      m:stop()
      local stderr = read_file(err_file)
      assert.are.equal(6, #log)
      assert.matches("task%-status%?task_id=<token:1>", stderr)
      for _, text in ipairs { raw, stderr } do
        for _, secret in ipairs { TOKEN, odd, "p%2Bq%2Fr%3Ds~1", "p%2bq%2fr%3ds~1", "p q/r=s~1" } do
          assert.is_nil(text:find(secret, 1, true), secret .. " leaked into:\n" .. text)
        end
      end
      assert.are.same({ task_id = "<token:1>" }, log[1].query)
      assert.are.equal("/api/v1/images/<token:1>", log[2].path)
      assert.are.same({ ["<token:1>"] = "x" }, log[2].query)
      local parts = log[3].parts
      assert.are.equal("<token:1>.png", parts[1].filename)
      assert.are.equal("image/<token:1>", parts[1].content_type)
      assert.are.equal("say <token:1>", parts[2].value)
      assert.are.equal("x<token:1>", parts[3].name)
      assert.are.same({ task_id = "<token:2>" }, log[4].query)
      assert.are.same({ task_id = "<token:2>", b = "<token:2>" }, log[5].query)
      assert.are.equal("<token:2>", log[6].parts[1].value)
      assert.are.equal("Bearer <token:2>", log[6].headers.authorization)
    end)

    it("keeps repeated fields as separate parts, in order", function()
      local a, b = temp_file("first"), temp_file("second!")
      curl(auth() .. form({ { "image", "@" .. a }, { "prompt", "p" }, { "image", "@" .. b } })
        .. api("/api/v2/images/generate"))
      local parts = mock:requests()[1].parts
      assert.are.same({ "image", "prompt", "image" }, { parts[1].name, parts[2].name, parts[3].name })
      assert.are.same({ 5, 7 }, { parts[1].size, parts[3].size })
      assert.are.equal(a:match("[^/]+$"), parts[1].filename)
      assert.are.equal(b:match("[^/]+$"), parts[3].filename)
    end)

    it("leaves out control and image requests, and clears", function()
      curl(quote(mock.url .. "/_mock/health"))
      curl(quote(mock.url .. "/images/nothing.png"))
      assert.are.same({}, mock:requests())
      curl(auth() .. api("/api/v1/images/task-status?task_id=x"))
      assert.are.equal(1, #mock:requests())
      mock:clear()
      assert.are.equal("[]", curl(quote(mock.url .. "/_mock/requests")).body)
    end)
  end)

  describe("faults", function()
    it("delays one answer without holding up other connections", function()
      mock:fault({ action = "delay", seconds = 1, path = "/api/v2/images/generate" })
      local out = temp_file()
      local started = socket.gettime()
      os.execute("curl -s -m 10 -o /dev/null -w '%{http_code}' " .. auth() .. form({ { "prompt", "slow" } })
        .. api("/api/v2/images/generate") .. " > " .. out .. " 2>&1 &")
      socket.sleep(0.2) -- let the delayed request arrive first
      local fast = curl(auth() .. api("/api/v1/images/task-status?task_id=x"))
      assert.are.equal(404, fast.status)
      assert.is_true(socket.gettime() - started < 0.8, "second request was held up")
      local deadline = socket.gettime() + 5
      while (read_file(out) or "") == "" and socket.gettime() < deadline do socket.sleep(0.05) end
      assert.are.equal("200", read_file(out))
      assert.is_true(socket.gettime() - started >= 1)
      local log = mock:requests()
      assert.are.equal("delay", log[1].fault)
      assert.are.equal(200, log[1].status)
      assert.is_nil(log[2].fault)
    end)

    it("answers an injected status, with headers", function()
      mock:fault({ action = "status", status = 500, headers = { ["Retry-After"] = "3" } })
      local r = generate({ { "prompt", "p" } })
      assert.are.equal(500, r.status)
      assert.are.equal("3", r.headers["retry-after"])
      assert.are.equal(500, json_of(r).status)
      assert.are.equal(200, generate({ { "prompt", "p" } }).status) -- times = 1
      local log = mock:requests()
      assert.are.equal("status", log[1].fault)
      assert.are.equal(500, log[1].status)
    end)

    it("drops the connection", function()
      mock:fault({ action = "drop" })
      local r = generate({ { "prompt", "p" } })
      assert.are.equal(0, r.status)
      assert.matches("Empty reply", r.out)
      assert.are.equal("drop", mock:requests()[1].fault)
    end)

    it("drops mid-body", function()
      mock:fault({ action = "drop_mid_body" })
      local r = generate({ { "prompt", "p" } })
      assert.matches("transfer closed with %d+ bytes remaining", r.out)
      assert.is_true(#r.body > 0)
    end)

    it("sends malformed JSON, HTML and raw bodies", function()
      mock:fault({ { action = "malformed" }, { action = "html" },
        { action = "body", status = 200, body = "\255\254 not json", content_type = "text/plain" } })
      local m = generate({ { "prompt", "p" } })
      assert.are.equal(200, m.status)
      assert.are.equal('{"status":200,"images":[', m.body)
      local h = generate({ { "prompt", "p" } })
      assert.are.equal(502, h.status)
      assert.are.equal("text/html", h.headers["content-type"])
      assert.matches("<h1>502 Bad Gateway</h1>", h.body)
      local b = generate({ { "prompt", "p" } })
      assert.are.equal("\255\254 not json", b.body)
      assert.are.equal("text/plain", b.headers["content-type"])
    end)

    it("redirects, matches paths, and repeats with times", function()
      mock:fault({ { action = "redirect", location = "http://127.0.0.1:1/elsewhere", path = "/api/v1/images/async" },
        { action = "status", status = 503, times = 2 } })
      local r = generate({ { "prompt", "p" } })
      assert.are.equal(503, r.status)
      assert.are.equal(503, generate({ { "prompt", "p" } }).status)
      assert.are.equal(200, generate({ { "prompt", "p" } }).status)
      local red = curl(auth() .. form({ { "prompt", "p" } }) .. api("/api/v1/images/async"))
      assert.are.equal(302, red.status)
      assert.are.equal("http://127.0.0.1:1/elsewhere", red.headers.location)
    end)

    it("hangs, and sends an endless body, until the client gives up", function()
      mock:fault({ { action = "hang_headers" }, { action = "endless_body", interval = 0.05 } })
      local started = socket.gettime()
      local hang = curl("-m 0.5 " .. auth() .. api("/api/v1/images/task-status?task_id=x"))
      assert.are.equal(0, hang.status)
      assert.matches("timed out", hang.out)
      local endless = curl("-m 0.5 " .. auth() .. api("/api/v1/images/task-status?task_id=x"))
      assert.matches("timed out", endless.out)
      assert.is_true(#endless.body > 1024)
      assert.is_true(socket.gettime() - started < 2)
      assert.are.equal(200, curl(quote(mock.url .. "/_mock/health")).status) -- still serving
    end)

    it("rejects an invalid fault or setting with 400", function()
      local _, status = mock:control("POST", "/_mock/faults", { action = "explode" })
      assert.are.equal(400, status)
      local _, status2 = mock:control("POST", "/_mock/config", { rate_limit = "many" })
      assert.are.equal(400, status2)
      local _, status3 = mock:control("POST", "/_mock/config", { tokens = { "x" } })
      assert.are.equal(400, status3)
    end)
  end)
end)

describe("vinano-mock under hostile control and slow clients #nocore", function()
  local mock
  before_each(function() mock = mock_process.start({ tokens = { TOKEN }, rate_limit = 1000, task_delay = 0.2 }) end)
  after_each(function() if mock then mock:stop() end end)

  local function raw_control(path, body)
    return curl("-X POST -H 'Content-Type: application/json' --data-binary " .. quote(body) .. " "
      .. quote(mock.url .. path))
  end

  local function still_serves()
    local r = curl(quote(mock.url .. "/_mock/health"))
    assert.are.equal(200, r.status, "health after the bad request: " .. r.out)
    r = curl(auth() .. form { { "prompt", "still here" } } .. quote(mock.url .. "/api/v2/images/generate"))
    assert.are.equal(200, r.status, "generate after the bad request: " .. r.out)
  end

  it("bounds every number the control API takes, refusing anything else with 400 (issue 14 item 8)", function()
    for _, row in ipairs {
      { "/_mock/faults", '{"action":"delay","seconds":1e10}', "seconds" },
      { "/_mock/faults", '{"action":"delay","seconds":1e400}', "seconds" },
      { "/_mock/faults", '{"action":"delay","seconds":-1}', "seconds" },
      { "/_mock/faults", '{"action":"status","status":500,"times":1e400}', "times" },
      { "/_mock/faults", '{"action":"status","status":500,"times":1e12}', "times" },
      { "/_mock/faults", '{"action":"endless_body","interval":1e400}', "interval" },
      { "/_mock/faults", '{"action":"endless_body","interval":0}', "interval" },
      { "/_mock/faults", '{"action":"endless_body","bytes":1e12}', "bytes" },
      { "/_mock/faults", '{"action":"endless_body","bytes":0.5}', "bytes" },
      { "/_mock/config", '{"task_delay":1e10}', "task_delay" },
      { "/_mock/config", '{"task_delay":1e400}', "task_delay" },
      { "/_mock/config", '{"rate_window":1e400}', "rate_window" },
      { "/_mock/config", '{"rate_limit":1e400}', "rate_limit" },
      { "/_mock/config", '{"credits":1e400}', "credits" },
      { "/_mock/config", '{"max_upload":1e400}', "max_upload" },
    } do
      local r = raw_control(row[1], row[2])
      assert.are.equal(400, r.status, row[2] .. " was accepted: " .. r.body)
      assert.matches(row[3], r.body, 1, true)
      still_serves()
    end
  end)

  it("serves others while 300 clients hold half-sent request lines (issue 14 item 9)", function()
    local held = {}
    for i = 1, 300 do
      local c = socket.tcp()
      c:settimeout(2)
      if c:connect("127.0.0.1", mock.port) then
        c:send("GET /_mock/heal")
        held[#held + 1] = c
      else
        c:close()
      end
      if i % 50 == 0 then socket.sleep(0.05) end
    end
    assert.is_true(#held >= 280, "could open only " .. #held .. " connections")
    local t0 = socket.gettime()
    local r = curl(quote(mock.url .. "/_mock/health"))
    assert.are.equal(200, r.status, r.out)
    assert.is_true(socket.gettime() - t0 < 5, "health took " .. (socket.gettime() - t0) .. " s")
    for _, c in ipairs(held) do c:close() end
  end)

  it("answers 408 to a request head that does not arrive within head_timeout, progress or not", function()
    mock:set { head_timeout = 1 }
    local c = socket.tcp()
    c:settimeout(5)
    assert(c:connect("127.0.0.1", mock.port))
    local t0, answer = socket.gettime(), ""
    while socket.gettime() - t0 < 6 do -- a byte every 0.2 s: progress, but never a whole head
      c:send("G")
      socket.sleep(0.2)
      c:settimeout(0)
      local got, err, partial = c:receive("*a")
      answer = answer .. (got or partial or "")
      if err == "closed" or answer ~= "" then break end
    end
    c:close()
    assert.matches("^HTTP/1.1 408 ", answer)
    assert.is_true(socket.gettime() - t0 < 3, "the slow head was kept for " .. (socket.gettime() - t0) .. " s")
  end)
end)

describe("vinano.mock embedded through the Lua API #nocore", function()
  local mock = require "vinano.mock"

  it("serves from step() inside the caller's own loop", function()
    local srv = mock.new({ tokens = { "embedded" }, rate_limit = 5 })
    assert.matches("^http://127%.0%.0%.1:%d+$", srv:url())
    assert.are.equal(tonumber(srv:url():match(":(%d+)$")), srv:port())
    srv:fault({ action = "status", status = 418, path = "/api/v1/images/async" })
    local out = temp_file()
    os.execute("curl -s -m 5 -w '\\n%{http_code}' -H 'Authorization: Bearer embedded' -F prompt=hi "
      .. quote(srv:url() .. "/api/v2/images/generate") .. " > " .. out .. " 2>&1 &")
    local deadline = socket.gettime() + 5
    while not (read_file(out) or ""):match("\n%d%d%d$") and socket.gettime() < deadline do
      srv:step(0.05)
    end
    local body, status = (read_file(out) or ""):match("^(.*)\n(%d%d%d)$")
    assert.are.equal("200", status)
    assert.are.equal("hi", cjson.decode(body).prompt)
    local log = srv:requests()
    assert.are.equal(1, #log)
    assert.are.equal("Bearer <token:1>", log[1].headers.authorization)
    srv:set({ credits = 0 })
    assert.has_error(function() srv:set({ credits = -1 }) end)
    assert.has_error(function() srv:fault({ action = "nope" }) end)
    assert.has_error(function() mock.new({ host = "0.0.0.0" }) end)
    srv:close()
    assert.is_false(srv:step(0))
  end)
end)
