-- Sync generate with every field, a file upload and data= bytes: what
-- arrives at the mock, byte for byte (a text-mode read or write on Windows
-- would change CR LF, ^Z and NUL).
local test, S = ...

test("generate with every field, a file and data= bytes puts each part on the wire in order", function()
  local dir = S.dir("upload")
  local path = S.write(dir .. "\\in put.png", S.binary)
  local bytes = S.binary:rep(3) .. "\0end"
  local res, err = S.client():generate {
    prompt = "a lighthouse at dusk, CR\r\nLF", model = "gemini-3.1-pro-image-preview", aspectRatio = "4:1",
    googleSearch = true, mode = "img2img", hdPro = false, img_size = "2k",
    image = { path, { data = bytes, filename = "mem.png", content_type = "image/png" } },
  }
  assert(res, tostring(err))
  S.eq(1, #res.images, "images")
  S.eq(35, res.credits and res.credits.cost, "credits charged (2k on gemini-3.1-pro)")
  local log = S.api_requests()
  S.eq(1, #log, "requests")
  local e = log[1]
  S.eq("POST", e.method, "method")
  S.eq("/api/v2/images/generate", e.path, "path")
  S.eq("Bearer <token:1>", e.headers.authorization, "Authorization")
  local names = {}
  for i, p in ipairs(e.parts) do names[i] = p.name end
  S.eq("prompt model aspectRatio googleSearch mode hdPro img_size image image", table.concat(names, " "), "parts")
  S.eq("a lighthouse at dusk, CR\r\nLF", e.parts[1].value, "prompt")
  S.eq("gemini-3.1-pro-image-preview", e.parts[2].value, "model")
  S.eq("4:1", e.parts[3].value, "aspectRatio")
  S.eq("true", e.parts[4].value, "googleSearch")
  S.eq("img2img", e.parts[5].value, "mode")
  S.eq("false", e.parts[6].value, "hdPro")
  S.eq("2k", e.parts[7].value, "img_size")
  local file, mem = e.parts[8], e.parts[9]
  S.eq("in put.png", file.filename, "the file's name")
  S.eq(#S.binary, file.size, "the file's size")
  S.eq(S.checksum.crc32_hex(S.binary), file.crc32, "the file's CRC-32")
  S.eq("mem.png", mem.filename, "data= name")
  S.eq("image/png", mem.content_type, "data= type")
  S.eq(#bytes, mem.size, "data= size")
  S.eq(S.checksum.crc32_hex(bytes), mem.crc32, "data= CRC-32")
end)

test("imageUrl (a list) goes as one part per URL", function()
  local res, err = S.client():generate {
    prompt = "merge", imageUrl = { "https://example.com/a.png", "https://example.com/b.png" },
  }
  assert(res, tostring(err))
  local e = S.api_requests()[1]
  local urls = {}
  for _, p in ipairs(e.parts) do
    if p.name == "imageUrl" then urls[#urls + 1] = p.value end
  end
  S.eq("https://example.com/a.png https://example.com/b.png", table.concat(urls, " "), "imageUrl parts")
end)

test("a missing file is refused before anything is sent, naming the path", function()
  local path = S.tmp .. "\\no such.png"
  local res, err = S.client():generate { prompt = "x", image = path }
  S.eq(nil, res, "result")
  S.eq("invalid_request", err.kind, "kind")
  S.matches("no such%.png", err.message, "message")
  S.eq(0, #S.api_requests(), "requests")
end)

test("an image gone between the checks and the send is an io error naming it, nothing sent", function()
  local dir = S.dir("gone")
  local path = S.write(dir .. "\\gone.png", S.binary)
  local res, err = S.client():generate({ prompt = "x", image = path }, {
    on_send = function() assert(os.remove(path)) end, -- after the checks, before the transfer starts
  })
  S.eq(nil, res, "result")
  S.eq("io", err.kind, "kind")
  S.eq(("reading '%s': No such file or directory"):format(path), err.message, "message")
  S.eq(0, #S.api_requests(), "requests")
end)
