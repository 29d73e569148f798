-- response.classify over every status and body shape api-notes.md names:
-- raw transfer facts in, res / err / info out.  No server; the C core only
-- for its redaction of server text.
local response = require "vinano.response"
local core = require("vinano.core").new { token = "response-spec-token" }

local function facts(status, body, headers, extra)
  local f = { code = 0, status = status, body = body, request_sent = true,
    headers = "HTTP/1.1 " .. status .. " X\r\n" .. (headers or "") }
  for k, v in pairs(extra or {}) do f[k] = v end
  return f
end

local function classify(op, f)
  return response.classify(f, { op = op, max_response = 1000, unix_now = 1700000000, core = core })
end

local DONE = '{"status":200,"images":["https://x/a.png"],"imageDetails":[{"width":64,"height":36,"filesize":99}],'
  .. '"credits":{"cost":10}}'

describe("response.classify", function()
  describe("HTTP errors of the API calls", function()
    local rows = {
      { 400, "bad_request" }, { 401, "unauthorized" }, { 403, "forbidden" }, { 404, "bad_request" },
      { 413, "payload_too_large" }, { 429, "rate_limited" }, { 495, "insufficient_credits" },
      { 500, "server" }, { 502, "server" }, { 503, "server" },
    }
    for _, row in ipairs(rows) do
      it(("maps %d to %s, with the body's message"):format(row[1], row[2]), function()
        for _, op in ipairs { "generate", "submit" } do
          local res, err, info = classify(op, facts(row[1], '{"message":"told by the server"}'))
          assert.is_nil(res)
          assert.are.equal(row[2], err.kind)
          assert.are.equal(row[1], err.status)
          assert.are.equal("told by the server", err.message)
          assert.are.equal(row[1], info.status)
        end
      end)
    end

    it("finds the message in message, error, msg, detail or error.message", function()
      for _, body in ipairs { '{"error":"e"}', '{"msg":"e"}', '{"detail":"e"}', '{"error":{"message":"e"}}' } do
        local _, err = classify("generate", facts(400, body))
        assert.are.equal("e", err.message)
      end
    end)

    it("quotes an HTML or empty body from a proxy, escaped", function()
      local _, err = classify("generate", facts(502, "<html>\n\"bad\" gateway</html>"))
      assert.are.equal('HTTP 502; body: "<html>\\x0a\\"bad\\" gateway</html>"', err.message)
      _, err = classify("generate", facts(503, ""))
      assert.are.equal("HTTP 503 with an empty body", err.message)
      _, err = classify("generate", facts(500, ("x"):rep(300)))
      assert.matches('^HTTP 500; body: "x+"%.%.%.$', err.message)
    end)

    it("reads Retry-After as seconds or as an HTTP date", function()
      local _, err, info = classify("generate", facts(429, "{}", "Retry-After: 7\r\n"))
      assert.are.equal(7, err.retry_after)
      assert.are.equal(7, info.retry_after)
      local date = os.date("!%a, %d %b %Y %H:%M:%S GMT", 1700000000 + 30)
      _, err = classify("generate", facts(429, "{}", "retry-after: " .. date .. "\r\n"))
      assert.are.equal(30, err.retry_after)
      _, err = classify("generate", facts(429, "{}", "Retry-After: soon\r\n"))
      assert.is_nil(err.retry_after)
    end)

    it("reports a redirect as server, never followed", function()
      local _, err = classify("generate", facts(302, "", "Location: https://evil/\r\n",
        { redirect_url = "https://evil/" }))
      assert.are.equal("server", err.kind)
      assert.matches("redirect to https://evil/ not followed", err.message)
    end)
  end)

  describe("2xx bodies", function()
    it("returns the decoded generate body, whole numbers as integers", function()
      local res, err = classify("generate", facts(200, DONE))
      assert.is_nil(err)
      assert.are.equal("https://x/a.png", res.images[1])
      assert.are.equal(64, res.imageDetails[1].width)
      if math.type then assert.are.equal("integer", math.type(res.imageDetails[1].width)) end
    end)

    it("treats an error inside a 2xx body as that error", function()
      local _, err = classify("generate", facts(200, '{"status":495,"message":"no credits"}'))
      assert.are.equal("insufficient_credits", err.kind)
      assert.are.equal(495, err.status)
      _, err = classify("generate", facts(200, '{"status":1e300}'))
      assert.are.equal(999, err.status)
    end)

    it("needs images from generate and task_id from submit", function()
      local _, err = classify("generate", facts(200, '{"status":200}'))
      assert.are.equal("decode", err.kind)
      assert.matches("response has no 'images' list", err.message)
      _, err = classify("submit", facts(202, '{"status":202}'))
      assert.matches("response has no 'task_id'", err.message)
      local res = classify("submit", facts(202, '{"status":202,"task_id":"t1"}'))
      assert.are.equal("t1", res.task_id)
    end)

    it("refuses a body that is not a JSON object, quoting it", function()
      for _, body in ipairs { "not json", "[1,2]", "", '"str"' } do
        local _, err = classify("generate", facts(200, body))
        assert.are.equal("decode", err.kind)
        assert.matches("expected a JSON object; body: ", err.message)
      end
    end)
  end)

  describe("poll states", function()
    local rows = {
      { 202, "", "pending" }, { 202, "{}", "pending" },
      { 200, '{"status":202}', "pending" },
      { 200, '{"status":"PENDING"}', "pending" }, { 200, '{"status":"queued"}', "pending" },
      { 200, '{"status":"processing"}', "pending" }, { 200, '{"status":"running"}', "pending" },
      { 200, '{"status":"in_progress"}', "pending" },
      { 200, DONE, "done" }, { 200, '{"images":["https://x/u.png"]}', "done" },
      { 200, '{"status":"completed","images":["http://x/u.png"]}', "done" },
      { 200, '{"status":500}', "failed" }, { 200, '{"status":"failed"}', "failed" },
      { 200, '{"status":"error"}', "failed" }, { 200, '{"status":"cancelled"}', "failed" },
      { 200, '{"status":"canceled"}', "failed" }, { 200, '{"status":"timeout"}', "failed" },
      { 404, '{"message":"unknown task"}', "failed" }, { 400, "", "failed" },
    }
    for _, row in ipairs(rows) do
      it(("HTTP %d %s is %s"):format(row[1], row[2], row[3]), function()
        local st, err = classify("poll", facts(row[1], row[2]))
        assert.is_nil(err)
        assert.are.equal(row[3], st.state)
      end)
    end

    it("says what arrived when the answer fits no rule", function()
      for _, body in ipairs { '{"status":"weird"}', '{"status":200}', '{"status":"done"}' } do
        local _, err = classify("poll", facts(200, body))
        assert.are.equal("decode", err.kind)
        assert.matches("task status not recognised", err.message)
      end
      -- a done answer without an http(s) image URL is not done (issue 14)
      for _, body in ipairs { '{"images":["u"]}', '{"status":"completed","images":[]}',
        '{"status":200,"images":[null]}' } do
        local _, err = classify("poll", facts(200, body))
        assert.are.equal("decode", err.kind)
        assert.matches("no http(s) image URL in 'images'; body: ", err.message, 1, true)
      end
    end)

    it("keeps auth, limits and 5xx as errors of the poll itself", function()
      for status, kind in pairs { [401] = "unauthorized", [403] = "forbidden", [429] = "rate_limited",
        [495] = "insufficient_credits", [500] = "server" } do
        local _, err = classify("poll", facts(status, "{}"))
        assert.are.equal(kind, err.kind)
      end
    end)
  end)

  describe("transport failures", function()
    it("maps libcurl codes to network and timeout, keeping request_sent", function()
      local _, err = classify("generate", { code = 7, error = "Failed to connect", status = 0, request_sent = false })
      assert.are.equal("network", err.kind)
      assert.are.equal(7, err.curl_code)
      assert.is_false(err.request_sent)
      _, err = classify("poll", { code = 28, error = "Operation timed out", status = 0, request_sent = true })
      assert.are.equal("timeout", err.kind)
    end)

    it("reports cancelled, too large and file errors", function()
      local _, err, info = classify("generate", { cancelled = true })
      assert.are.equal("cancelled", err.kind)
      assert.is_nil(info)
      _, err = classify("generate", facts(200, "", nil, { too_large = true, code = 23 }))
      assert.are.equal("decode", err.kind)
      assert.matches("larger than the 1000%-byte limit", err.message)
      _, err = classify("download", facts(200, nil, nil,
        { file_error = "writing '/x/y.png': No space left on device", code = 23 }))
      assert.are.equal("io", err.kind)
      assert.matches("No space left on device", err.message)
    end)
  end)

  describe("downloads and fetches", function()
    it("return the file or the bytes", function()
      local res = classify("download", facts(200, nil, "Content-Type: image/png\r\n",
        { path = "/tmp/a.png", bytes = 10, content_type = "image/png" }))
      assert.are.same({ path = "/tmp/a.png", bytes = 10, content_type = "image/png" }, res)
      res = classify("fetch", facts(200, "PNGDATA", nil, { content_type = "image/png" }))
      assert.are.same({ data = "PNGDATA", bytes = 7, content_type = "image/png" }, res)
      local _, err = classify("fetch", facts(404, "gone"))
      assert.are.equal("bad_request", err.kind)
    end)
  end)

  describe("info", function()
    it("reads X-RateLimit-* in any case and builds headers only when read", function()
      local _, _, info = classify("generate", facts(200, DONE,
        "x-ratelimit-limit: 20\r\nX-RateLimit-Remaining: 7\r\nX-RATELIMIT-RESET: 1700000060\r\n"
        .. "Set-Cookie: a\r\nSet-Cookie: b\r\n"))
      assert.are.same({ limit = 20, remaining = 7, reset = 1700000060 }, info.rate_limit)
      assert.is_nil(rawget(info, "headers"))
      assert.are.equal("a, b", info.headers["set-cookie"])
      assert.are.equal("20", info.headers["x-ratelimit-limit"])
      assert.are.equal(200, info.status)
    end)
  end)
end)
