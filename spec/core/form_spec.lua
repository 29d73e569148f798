-- The multipart body the core writes (src/form.c), byte for byte: the same
-- bytes as `curl -F` (libcurl's curl_mime) for the same parts, the
-- boundary aside; in-memory data as curl_mime types it; files streamed
-- from disk, rewound for a redirect, and a file that changes or vanishes
-- while it is sent failing its transfer with a message that says so.
local S = require "spec.core.support"
local core = S.core

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

describe("the multipart body", function()
  local dir, port, pid, url, seen, c
  setup(function()
    dir = S.tmpdir()
    S.sh("mkdir -p " .. dir .. "/got")
    pid = S.sh(("lua5.4 spec/support/capture_server.lua %s/got >%s/port 2>&1 & echo $!"):format(dir, dir)):match("%d+")
    for _ = 1, 100 do
      port = tonumber((S.read_file(dir .. "/port") or ""):match("^(%d+)\n"))
      if port then break end
      S.sh("sleep 0.05")
    end
    assert(port, "the capture server did not start")
    url = ("http://127.0.0.1:%d/upload"):format(port)
    seen = 0
    c = core.new { token = S.token }
  end)
  teardown(function()
    c:close()
    if pid then S.sh("kill " .. pid) end
    S.sh("rm -rf " .. dir)
  end)

  -- The next request the server saw: its head (a string) and body.
  local function next_request()
    seen = seen + 1
    local head = assert(S.read_file(("%s/got/%d.head"):format(dir, seen)), "request " .. seen .. " not seen")
    return head, S.read_file(("%s/got/%d.body"):format(dir, seen))
  end

  -- The body with its boundary (from the head's Content-Type) as BOUNDARY.
  local function normalised(head, body)
    local boundary = head:match("\n[Cc]ontent%-[Tt]ype: multipart/form%-data; boundary=([^\r\n]+)")
    assert(boundary, "no multipart Content-Type in:\n" .. head)
    assert.are.equal(#body, tonumber(head:match("\n[Cc]ontent%-[Ll]ength: (%d+)")))
    return (body:gsub(boundary:gsub("%p", "%%%0"), "BOUNDARY")), boundary
  end

  local function curl(args)
    local out = S.sh(("curl -s -S --http1.1 -o /dev/null -H 'Authorization: Bearer x' %s %s"):format(args, url))
    assert.are.equal("", out)
    return normalised(next_request())
  end

  local function vinano(parts, extra)
    local spec = { method = "POST", url = url, auth = true, parts = parts }
    for k, v in pairs(extra or {}) do spec[k] = v end
    local r = S.run(c, c:start(spec))
    return r, normalised(next_request())
  end

  it("is curl -F's for text parts, pairs and tables alike", function()
    local want = curl("--form-string 'prompt=a red fox; with @ and <' --form-string 'model=m'"
      .. " --form-string 'mode=' --form-string 'x=line1\r\nline2'")
    local r, got = vinano { "prompt", "a red fox; with @ and <", "model", "m", { name = "mode", value = "" },
      "x", "line1\r\nline2" }
    assert.are.equal(200, r.status)
    assert.are.equal(want, got)
    local first = '--BOUNDARY\r\nContent-Disposition: form-data; name="prompt"\r\n\r\na red fox; with @ and <\r\n'
    assert.are.equal(first, got:sub(1, #first))
    assert.are.equal("\r\n--BOUNDARY--\r\n", got:sub(-16))
  end)

  it("is curl -F's for files: names from the path, types from the extension, filename= and type=", function()
    local png = S.write_file(dir .. "/a.png", "\137PNG\r\n\26\n" .. ("\0\1\2binary\255"):rep(500))
    local jpg = S.write_file(dir .. "/B PHOTO.JPG", "\255\216\255" .. ("jpeg\0"):rep(100))
    local raw = S.write_file(dir .. "/noext", ("raw bytes\n"):rep(30))
    local odd = S.write_file(dir .. '/say "hi".png', "\137PNG odd")
    local want = curl(("-F %s -F %s -F %s -F %s -F %s"):format(
      quote("image=@" .. png), quote('image=@"' .. jpg .. '"'), quote("image=@" .. raw),
      quote('image=@"' .. odd:gsub('"', '\\"') .. '"'),
      quote("image=@" .. raw .. ";filename=x.png;type=image/webp")))
    local r, got = vinano { { name = "image", file = png }, { name = "image", file = jpg },
      { name = "image", file = raw }, { name = "image", file = odd },
      { name = "image", file = raw, filename = "x.png", type = "image/webp" } }
    assert.are.equal(200, r.status)
    assert.are.equal(want, got)
    assert.truthy(got:find('name="image"; filename="B PHOTO.JPG"\r\nContent-Type: image/jpeg\r\n', 1, true))
    assert.truthy(got:find('filename="noext"\r\nContent-Type: application/octet-stream\r\n', 1, true))
    assert.truthy(got:find('filename="say %22hi%22.png"\r\nContent-Type: image/png\r\n', 1, true))
  end)

  it("types in-memory data by its filename= only, as curl_mime does", function()
    local r, got = vinano { { name = "image", data = "PNGDATA", filename = "x.png" },
      { name = "image", data = "BIN", filename = "x.bin" }, { name = "note", data = "hello", filename = "n.TXT" },
      { name = "image", data = "\0\1", type = "image/gif" }, { name = "raw", data = "R" } }
    assert.are.equal(200, r.status)
    assert.are.equal(table.concat {
      '--BOUNDARY\r\nContent-Disposition: form-data; name="image"; filename="x.png"\r\nContent-Type: image/png\r\n\r\n',
      "PNGDATA\r\n",
      '--BOUNDARY\r\nContent-Disposition: form-data; name="image"; filename="x.bin"\r\n\r\nBIN\r\n',
      '--BOUNDARY\r\nContent-Disposition: form-data; name="note"; filename="n.TXT"\r\nContent-Type: text/plain\r\n\r\n',
      "hello\r\n",
      '--BOUNDARY\r\nContent-Disposition: form-data; name="image"\r\nContent-Type: image/gif\r\n\r\n\0\1\r\n',
      '--BOUNDARY\r\nContent-Disposition: form-data; name="raw"\r\n\r\nR\r\n',
      "--BOUNDARY--\r\n",
    }, got)
  end)

  it("streams a file over 1 MB as curl does (Expect: 100-continue), one Authorization line", function()
    local chunk = {}
    for i = 1, 4096 do chunk[i] = string.char(i % 251) end
    local big = S.write_file(dir .. "/big.png", table.concat(chunk):rep(400)) -- 1.6 MB
    local want = curl("--form-string prompt=big -F " .. quote("image=@" .. big))
    local r, got = vinano { "prompt", "big", { name = "image", file = big } }
    assert.are.equal(200, r.status)
    assert.are.equal(want, got)
    local head = S.read_file(("%s/got/%d.head"):format(dir, seen))
    assert.truthy(head:find("\nExpect: 100%-continue"))
    local _, auths = head:gsub("\n[Aa]uthorization: Bearer ", "")
    assert.are.equal(1, auths)
    assert.is_true(r.request_sent)
  end)

  it("gives each body a boundary of its own: 8 dashes and 128 random bits", function()
    local _, _, b1 = vinano { "prompt", "one" }
    local _, _, b2 = vinano { "prompt", "two" }
    assert.matches("^%-%-%-%-%-%-%-%-" .. ("%x"):rep(32) .. "$", b1)
    assert.matches("^%-%-%-%-%-%-%-%-" .. ("%x"):rep(32) .. "$", b2)
    assert.are_not.equal(b1, b2)
    local other = core.new {}
    local t = other:start { method = "POST", url = url, parts = { "prompt", "three" } }
    local r = S.run(other, t)
    other:close()
    assert.are.equal(200, r.status)
    local head = next_request()
    assert.is_nil(head:find("\n[Aa]uthorization:"))
    local b3 = head:match("boundary=([^\r\n]+)")
    assert.are_not.equal(b1, b3)
    assert.are_not.equal(b2, b3)
  end)

  it("sends a file's body again, whole, after a 307 (the read is rewound)", function()
    local png = S.write_file(dir .. "/r.png", ("0123456789"):rep(7000))
    local t = c:start { method = "POST", url = url:gsub("/upload$", "/redirect"), auth = true, follow = 1,
      parts = { "prompt", "again", { name = "image", file = png } } }
    local r = S.run(c, t)
    assert.are.equal(200, r.status)
    local first, b1 = normalised(next_request())
    local second, b2 = normalised(next_request())
    assert.are.equal(first, second)
    assert.are.equal(b1, b2)
    assert.truthy(first:find(("0123456789"):rep(7000), 1, true))
  end)

  it("fails the transfer when a file shrinks or goes away after start, saying which and why", function()
    local path = S.write_file(dir .. "/shrinks.png", ("x"):rep(300000))
    local t = c:start { method = "POST", url = url, auth = true, parts = { { name = "image", file = path } } }
    S.write_file(path, "x")
    local r = S.run(c, t)
    assert.are.equal(26, r.code) -- CURLE_READ_ERROR
    assert.are.equal(("reading '%s': the file became shorter while it was sent"):format(path), r.error)
    assert.are.equal(r.error, r.file_error)
    local gone = S.write_file(dir .. "/gone.png", "data")
    t = c:start { method = "POST", url = url, auth = true, parts = { "prompt", "p", { name = "image", file = gone } } }
    os.remove(gone)
    r = S.run(c, t)
    assert.are.equal(26, r.code)
    assert.are.equal(("reading '%s': No such file or directory"):format(gone), r.error)
    assert.are.equal(r.error, r.file_error)
    t:close()
    assert.is_nil(S.read_file(("%s/got/%d.head"):format(dir, seen + 1)), "the server saw a whole request")
    assert.are.equal(0, c:running())
  end)

  it("ends at start, unsent, a transfer whose file is missing or not a regular file, saying why", function()
    local function at_start(path)
      local before = seen
      local t = c:start { method = "POST", url = url, parts = { "prompt", "p", { name = "image", file = path } } }
      assert.is_true(t:done())
      local r = t:result()
      t:close()
      assert.are.equal(before, seen)
      assert.is_false(r.request_sent)
      assert.are.equal(26, r.code)
      assert.are.equal(r.error, r.file_error)
      return r.error
    end
    assert.are.equal(("reading '%s/missing.png': No such file or directory"):format(dir),
      at_start(dir .. "/missing.png"))
    assert.are.equal(("reading '%s/got': not a regular file"):format(dir), at_start(dir .. "/got"))
    assert.is_nil(S.read_file(("%s/got/%d.head"):format(dir, seen + 1)))
    assert.are.equal(0, c:running())
  end)
end)
