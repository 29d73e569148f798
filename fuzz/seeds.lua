-- Writes the committed seed corpora: fuzz/corpus/response/ and fuzz/corpus/form/.
--   lua5.4 fuzz/seeds.lua            (from the repository root)
-- Each seed is a named file, so a regenerated corpus diffs cleanly.  The
-- byte formats are the harnesses' own (fuzz/fuzz_response.c, fuzz/fuzz_form.c,
-- fuzz/README.md).
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."

local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

local function mkdir(path) assert(os.execute("mkdir -p '" .. path .. "'")) end

---------------------------------------------------------------------------
-- response: "<op> <status> [flags]\n<body>"
---------------------------------------------------------------------------
local SUCCESS = [[{
  "status": 200,
  "images": ["https://example.com/generated-image.jpg"],
  "imageDetails": [{
    "width": 1024,
    "height": 1024,
    "filesize": 524288
  }],
  "uuid": "550e8400-e29b-41d4-a716-446655440000",
  "prompt": "a beautiful sunset",
  "model": "gemini-2.5-flash-image-preview",
  "credits": {
    "cost": 10
  }
}]]
local ASYNC = [[{
  "status": 202,
  "task_id": "550e8400-e29b-41d4-a716-446655440000",
  "message": "Task submitted. Use GET /api/v1/images/task-status?task_id={task_id} to poll for results.",
  "model": "gemini-2.5-flash-image-preview",
  "credits": { "cost": 10 }
}]]
local HTML502 = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
  .. "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n"
local PNG = "\137PNG\r\n\26\n\0\0\0\13IHDR\0\0\0\1\0\0\0\1\8\6\0\0\0\31\21\196\137"

local response = {
  ["generate-200-success"] = "generate 200\n" .. SUCCESS,
  ["generate-200-minimal"] = 'generate 200\n{"images":[]}',
  ["generate-200-no-images"] = 'generate 200\n{"status":200,"uuid":"x"}',
  ["generate-200-images-not-list"] = 'generate 200\n{"status":200,"images":"https://example.com/a.jpg"}',
  ["generate-200-error-in-body-495"] = 'generate 200\n{"status":495,"message":"Insufficient credits"}',
  ["generate-200-error-in-body-500"] = 'generate 200\n{"status":500,"error":{"message":"generation failed"}}',
  ["generate-200-status-huge"] = 'generate 200\n{"status":1e300,"images":[]}',
  ["generate-200-status-string"] = 'generate 200\n{"status":"500","images":[]}',
  ["generate-200-array"] = 'generate 200\n[1,2,3]',
  ["generate-200-string"] = 'generate 200\n"just a string"',
  ["generate-200-null"] = "generate 200\nnull",
  ["generate-200-empty-body"] = "generate 200\n",
  ["generate-200-no-body"] = "generate 200",
  ["generate-200-truncated"] = "generate 200\n" .. SUCCESS:sub(1, 90),
  ["generate-200-invalid-utf8"] = 'generate 200\n{"images":["\xff\xfe\xc3"],"prompt":"\xed\xa0\x80 \xc0\xaf"}',
  ["generate-200-escapes"] = 'generate 200\n{"images":["\\u0000\\ud83d\\ude00\\ud800"],"prompt":"a\\"b\\\\c\\/d"}',
  ["generate-200-numbers"] = 'generate 200\n{"images":[],"a":-0,"b":1e400,"c":9007199254740993,'
    .. '"d":9223372036854775807,"e":-9223372036854775809,"f":0.5,"g":1E2,"h":0x10,"i":NaN,"j":Infinity}',
  ["generate-200-duplicate-keys"] = 'generate 200\n{"images":[],"images":"x","status":200,"status":400}',
  ["generate-200-nested-arrays"] = "generate 200\n{\"images\":" .. ("["):rep(200) .. ("]"):rep(200) .. "}",
  ["generate-200-nested-too-deep"] = "generate 200\n{\"images\":" .. ("["):rep(1200) .. ("]"):rep(1200) .. "}",
  ["generate-200-nested-objects"] = "generate 200\n" .. ('{"a":'):rep(100) .. "1" .. ("}"):rep(100),
  ["generate-200-long-body"] = "generate 200\n" .. ("x"):rep(300),
  ["generate-400-message"] = 'generate 400\n{"message":"prompt: required"}',
  ["generate-401-error"] = 'generate 401\n{"error":"API Token invalid, missing or malformed"}',
  ["generate-403-msg"] = 'generate 403\n{"msg":"Account disabled"}',
  ["generate-413-detail"] = 'generate 413\n{"detail":"File size exceeds limit (100MB)"}',
  ["generate-429-nested-error"] = 'generate 429\n{"error":{"message":"Rate limit exceeded"}}',
  ["generate-495"] = 'generate 495\n{"status":495,"message":"Insufficient credits"}',
  ["generate-500"] = 'generate 500\n{"error":"Server internal error or image generation failed"}',
  ["generate-500-message-not-string"] = 'generate 500\n{"message":42,"error":{"message":null},"msg":[1],"detail":true}',
  ["generate-502-html"] = "generate 502\n" .. HTML502,
  ["generate-503-empty"] = "generate 503\n",
  ["generate-302-redirect"] = "generate 302\n<a href=\"https://example.com/\">Found</a>",
  ["generate-100"] = "generate 100\n{}",
  ["generate-204"] = "generate 204",
  ["generate-0-network"] = "generate 0 ne",
  ["generate-0-timeout"] = "generate 0 t",
  ["generate-200-cancelled"] = "generate 200 c\n" .. SUCCESS,
  ["generate-200-too-large"] = "generate 200 l\n" .. SUCCESS,
  ["generate-negative-status"] = 'generate -1\n{"images":[]}',
  ["submit-202-async"] = "submit 202\n" .. ASYNC,
  ["submit-202-numeric-task-id"] = 'submit 202\n{"status":202,"task_id":12345}',
  ["submit-200-no-task-id"] = 'submit 200\n{"status":202,"message":"queued"}',
  ["submit-202-task-id-table"] = 'submit 202\n{"status":202,"task_id":{"id":1}}',
  ["submit-495"] = 'submit 495\n{"message":"Insufficient credits"}',
  ["poll-202-pending"] = 'poll 202\n{"status":202,"task_id":"t1","message":"processing"}',
  ["poll-202-not-json"] = "poll 202\nAccepted",
  ["poll-202-empty"] = "poll 202",
  ["poll-200-processing"] = 'poll 200\n{"status":"processing","task_id":"t1"}',
  ["poll-200-pending-upper"] = 'poll 200\n{"status":"PENDING"}',
  ["poll-200-queued"] = 'poll 200\n{"status":"queued"}',
  ["poll-200-in-progress"] = 'poll 200\n{"status":"In_Progress"}',
  ["poll-200-status-202"] = 'poll 200\n{"status":202}',
  ["poll-200-status-string-202"] = 'poll 200\n{"status":"202"}',
  ["poll-200-done"] = "poll 200\n" .. SUCCESS,
  ["poll-200-done-string"] = 'poll 200\n{"status":"completed","images":["u"]}',
  ["poll-200-done-no-status"] = 'poll 200\n{"images":["u"]}',
  ["poll-200-done-without-images"] = 'poll 200\n{"status":"done"}',
  ["poll-200-status-200-no-images"] = 'poll 200\n{"status":200}',
  ["poll-200-failed"] = 'poll 200\n{"status":"failed","task_id":"t1","message":"image generation failed"}',
  ["poll-200-cancelled"] = 'poll 200\n{"status":"canceled"}',
  ["poll-200-status-500"] = 'poll 200\n{"status":500,"error":"generation failed"}',
  ["poll-200-unknown-state"] = 'poll 200\n{"status":"weird"}',
  ["poll-200-long-state"] = 'poll 200\n{"status":"processingprocessingprocessing"}',
  ["poll-200-nul-in-state"] = 'poll 200\n{"status":"pending\\u0000x"}',
  ["poll-200-status-null"] = 'poll 200\n{"status":null,"images":["u"]}',
  ["poll-404"] = 'poll 404\n{"message":"task not found"}',
  ["poll-404-not-json"] = "poll 404\nNot Found",
  ["poll-400-array"] = "poll 400\n[]",
  ["poll-410-status-field"] = 'poll 410\n{"status":"gone"}',
  ["poll-401"] = 'poll 401\n{"error":"Invalid token"}',
  ["poll-429"] = 'poll 429\n{"error":"Rate limit exceeded"}',
  ["poll-500"] = 'poll 500\n{"error":"internal"}',
  ["poll-502-html"] = "poll 502\n" .. HTML502,
  ["download-200-png"] = "download 200\n" .. PNG,
  ["download-200-file-error"] = "download 200 f",
  ["download-404"] = 'download 404\n{"message":"not found"}',
  ["download-403-html"] = "download 403\n<html>Forbidden</html>",
  ["download-0-network"] = "download 0 n",
}

-- The raw HTTP mode (flag h): a whole response read by a real easy handle.
local function http(status_line, headers, body)
  local h = {}
  for _, kv in ipairs(headers) do h[#h + 1] = kv .. "\r\n" end
  return status_line .. "\r\n" .. table.concat(h) .. "\r\n" .. (body or "")
end
local function cl(body) return "Content-Length: " .. #body end
local RL = { "X-RateLimit-Limit: 20", "X-RateLimit-Remaining: 19", "X-RateLimit-Reset: 1735689600" }
local function with(list, ...)
  local t = { table.unpack(list) }
  for _, v in ipairs { ... } do t[#t + 1] = v end
  return t
end
local OKBODY = '{"status":200,"images":["https://example.com/generated-image.jpg"]}'
local PENDING = '{"status":202,"task_id":"t1","message":"processing"}'
local SLOW = '{"status":429,"message":"Slow down"}'
response["raw-generate-200-rate-limit"] = "generate 0 h\n"
  .. http("HTTP/1.1 200 OK", with(RL, "Content-Type: application/json", cl(OKBODY)), OKBODY)
response["raw-generate-200-reset-delta"] = "generate 0 h\n" .. http("HTTP/1.1 200 OK",
  { "X-RateLimit-Limit: 200", "X-RateLimit-Remaining: 0", "X-RateLimit-Reset: 42.5", cl(OKBODY) }, OKBODY)
response["raw-generate-200-rate-limit-junk"] = "generate 0 h\n" .. http("HTTP/1.1 200 OK",
  { "X-RateLimit-Limit: many", "X-RateLimit-Remaining: -5", "X-RateLimit-Reset: 0x1F", cl(OKBODY) }, OKBODY)
response["raw-generate-429-retry-after"] = "generate 0 h\n" .. http("HTTP/1.1 429 Too Many Requests",
  with(RL, "Retry-After: 30", cl(SLOW)), SLOW)
response["raw-generate-429-retry-date"] = "generate 0 h\n" .. http("HTTP/1.1 429 Too Many Requests",
  { "Retry-After: Wed, 21 Oct 2037 07:28:00 GMT", "Content-Length: 0" })
response["raw-generate-302-location"] = "generate 0 h\n"
  .. http("HTTP/1.1 302 Found", { "Location: https://elsewhere.example/login", "Content-Length: 0" })
response["raw-generate-200-chunked"] = "generate 0 h\n" .. http("HTTP/1.1 200 OK",
  { "Transfer-Encoding: chunked" }, "10\r\n" .. OKBODY:sub(1, 16) .. "\r\n"
  .. ("%x"):format(#OKBODY - 16) .. "\r\n" .. OKBODY:sub(17) .. "\r\n0\r\n\r\n")
response["raw-generate-200-repeated-headers"] = "generate 0 h\n" .. http("HTTP/1.1 200 OK",
  { "X-Thing: a", "x-thing: b", "Set-Cookie: s=1", "Set-Cookie: t=2", cl(OKBODY) }, OKBODY)
response["raw-generate-200-long-header-name"] = "generate 0 h\n"
  .. http("HTTP/1.1 200 OK", { ("X-" .. ("Long"):rep(30)) .. ": v", cl(OKBODY) }, OKBODY)
response["raw-generate-200-close-delimited"] = "generate 0 h\n" .. http("HTTP/1.0 200 OK", {}, OKBODY)
response["raw-generate-200-truncated"] = "generate 0 h\n"
  .. http("HTTP/1.1 200 OK", { "Content-Length: 500" }, OKBODY)
response["raw-generate-100-continue"] = "generate 0 h\nHTTP/1.1 100 Continue\r\n\r\n"
  .. http("HTTP/1.1 200 OK", { cl(OKBODY) }, OKBODY)
response["raw-generate-garbage"] = "generate 0 h\nSSH-2.0-OpenSSH_9.2\r\n"
response["raw-generate-empty"] = "generate 0 h\n"
response["raw-generate-502-html"] = "generate 0 h\n"
  .. http("HTTP/1.1 502 Bad Gateway", { "Content-Type: text/html", cl(HTML502) }, HTML502)
response["raw-poll-202"] = "poll 0 h\n" .. http("HTTP/1.1 202 Accepted",
  with(RL, cl(PENDING)), PENDING)
response["raw-poll-200-done"] = "poll 0 h\n" .. http("HTTP/1.1 200 OK", { cl(OKBODY) }, OKBODY)
response["raw-submit-202"] = "submit 0 h\n" .. http("HTTP/1.1 202 Accepted", { cl(ASYNC) }, ASYNC)
response["raw-download-200-png"] = "download 0 h\n"
  .. http("HTTP/1.1 200 OK", { "Content-Type: image/png", cl(PNG) }, PNG)
response["raw-download-404"] = "download 0 h\n"
  .. http("HTTP/1.1 404 Not Found", { "Content-Type: text/plain", "Content-Length: 9" }, "not found")
-- flag r: two responses on one easy handle, passed through client.c's pool between them
response["raw-reuse-two-responses"] = "generate 0 hr\n"
  .. http("HTTP/1.1 200 OK", with(RL, cl(OKBODY)), OKBODY) .. "\n==next==\n"
  .. http("HTTP/1.1 200 OK", { "X-Other: 1", cl(OKBODY) }, OKBODY)
response["raw-reuse-error-then-ok"] = "poll 0 hr\n"
  .. http("HTTP/1.1 500 Internal Server Error", { "Content-Length: 0" }) .. "\n==next==\n"
  .. http("HTTP/1.1 202 Accepted", with(RL, cl(PENDING)), PENDING)

---------------------------------------------------------------------------
-- form: the byte program of fuzz_form.c
---------------------------------------------------------------------------
local KNOWN = { prompt = 0, model = 1, aspectRatio = 2, googleSearch = 3, mode = 4, hdPro = 5, img_size = 6,
  image = 7, imageUrl = 8, Prompt = 9, [""] = 10, ["image "] = 11, imageURL = 12, images = 13 }

local function b(...) return string.char(...) end
local function str(s) return b(0) .. b(#s) .. s end            -- value: a string (< 80 bytes)
local function bool(v) return b(v and 0x11 or 0x01) end        -- value: true / false
local function int(n) return b(2) .. string.pack("<i8", n) end -- value: an integer
local function float(x) return b(3) .. string.pack("<d", x) end
local function list(...) local t = { ... } return b(5) .. b(#t) .. table.concat(t) end
local PATH = { png = b(0), empty = b(2), dir = b(3), big = b(4), long = b(5 + 8 * 20), blank = b(6) }
local function pathname(s) return b(7) .. b(#s) .. s end        -- a name under the harness's tmpdir
local function path(which) return b(8) .. which end             -- value: a path string
-- The control byte of a file table: case (byte % 6: 0-1 path, 2-3 data, 4 both,
-- 5 any value) with the flag bits 0x40 filename, 0x80 content_type, 0x10 /
-- 0x20 (those as raw bytes) and, for case 5, 0x08 (path= rather than data=).
local function ft(case, flags)
  for low = 0, 15 do
    local v = (flags or 0) + low
    if v % 6 == case and (case ~= 5 or (v & 8) == ((flags or 0) & 8)) then return b(v) end
  end
  error("no control byte for case " .. case)
end
local function filepath(which, flags) return b(6) .. ft(0, flags) .. which end -- {path=}
local function filedata(data, flags) return b(6) .. ft(2, flags) .. b(#data) .. data end -- {data=}
local function proxy(filetable) return b(0x1b) .. filetable:sub(2) end -- proxy of a file table
local function other(kind) return b(10 + 16 * kind) end         -- function, lightuserdata, userdata, thread
local function key(name) return b(0) .. b(KNOWN[name]) end
local function rawkey(s) return b(2) .. b(#s) .. s end
local function params(...)
  local t = { ... }
  return b(#t - 1) .. table.concat(t) .. b(1) -- final byte: not a proxied params table
end

local form = {
  ["page-example"] = params(key("prompt") .. str("a beautiful sunset over the ocean"),
    key("model") .. str("gemini-2.5-flash-image-preview"), key("aspectRatio") .. str("16:9"),
    key("googleSearch") .. bool(false), key("mode") .. str("txt2img")),
  ["hdpro-img-size"] = params(key("prompt") .. str("p"), key("hdPro") .. bool(true), key("img_size") .. str("4k"),
    key("model") .. str("gemini-3.1-pro-image-preview")),
  ["numbers"] = params(key("prompt") .. int(42), key("mode") .. float(1.5), key("model") .. float(0 / 0),
    key("aspectRatio") .. float(1 / 0), key("img_size") .. int(math.mininteger)),
  ["image-path"] = params(key("prompt") .. str("edit"), key("image") .. path(PATH.png)),
  ["image-path-table"] = params(key("image") .. filepath(PATH.png, 0x40 + 0x80 + 0x10 + 0x20)
    .. b(5) .. "a.png" .. b(9) .. "image/png"),
  ["image-data"] = params(key("image") .. filedata("\137PNG\r\n\26\n0000")),
  ["image-data-named"] = params(key("image") .. filedata("GIF89a....", 0x40 + 0x10) .. b(5) .. "x.gif"),
  ["image-list"] = params(key("image") .. b(9) .. b(1) .. b(1) .. PATH.png .. b(0) .. ft(2) .. b(4) .. "RIFF"),
  ["image-list-values"] = params(key("image") .. list(path(PATH.png), filedata("\255\216\255\224"),
    path(PATH.empty))),
  ["image-missing"] = params(key("image") .. path(pathname("no-such-file.png"))),
  ["image-directory"] = params(key("image") .. path(PATH.dir)),
  ["image-too-big"] = params(key("image") .. path(PATH.big)),
  ["image-long-path"] = params(key("image") .. path(PATH.long)),
  ["image-empty-path"] = params(key("image") .. path(PATH.blank)),
  ["image-both-path-and-data"] = params(key("image") .. b(6) .. ft(4) .. PATH.png .. b(3) .. "abc"),
  ["image-neither"] = params(key("image") .. b(6) .. ft(5, 8) .. bool(true)),
  ["image-wrong-type"] = params(key("image") .. bool(true)),
  ["image-function"] = params(key("image") .. other(0)),
  ["image-proxy"] = params(key("image") .. proxy(filedata("abc", 0x40 + 0x80 + 0x10 + 0x20)
    .. b(6) .. "n.png" .. b(10) .. "image/jpeg")),
  ["image-url-list"] = params(key("imageUrl")
    .. list(str("https://example.com/a.png"), str("https://example.com/b.png"))),
  ["image-url-bad-entry"] = params(key("imageUrl") .. list(str("https://example.com/a.png"), list(str("x")))),
  ["image-url-single"] = params(key("imageUrl") .. str("https://example.com/a.png")),
  ["unknown-fields"] = params(rawkey("seed") .. int(7), rawkey("negative_prompt") .. str("blurry"),
    rawkey("style\0x") .. bool(true)),
  ["unknown-field-table"] = params(rawkey("extra") .. list(str("a"))),
  ["unknown-field-lightuserdata"] = params(rawkey("extra") .. other(1)),
  ["integer-keys"] = params(b(3) .. b(0) .. str("positional"), b(3) .. b(1) .. int(2)),
  ["prompt-long"] = params(key("prompt") .. b(15) .. b(0)),
  ["prompt-nul"] = params(key("prompt") .. b(0x1f)),
  ["near-miss-keys"] = params(key("Prompt") .. str("x"), key("") .. str("y"), key("image ") .. path(PATH.png)),
  ["proxied-params"] = b(1) .. key("prompt") .. str("p") .. key("image") .. path(PATH.png) .. b(0),
  ["empty"] = "",
}

mkdir(dir .. "/corpus/response")
mkdir(dir .. "/corpus/form")
local n = 0
for name, bytes in pairs(response) do write(dir .. "/corpus/response/" .. name, bytes); n = n + 1 end
local m = 0
for name, bytes in pairs(form) do write(dir .. "/corpus/form/" .. name, bytes); m = m + 1 end
print(("seeds: %d response, %d form"):format(n, m))
