-- download (a temporary name beside the file, renamed over it when
-- complete) and fetch, on Windows paths.
local test, S = ...
local async = require "vinano.async"

local function generated(client)
  local res, err = client:generate { prompt = "a red fox" }
  assert(res, tostring(err))
  return res.images[1]
end

test("download creates the missing folders of a drive path and leaves only the file", function()
  local client = S.client()
  local url = generated(client)
  local dir = S.dir("dl")
  local path = dir .. "\\sub folder\\deeper\\fox.png"
  local ok, err = client:download(url, path, { mkdir = true })
  assert(ok, tostring(err))
  local bytes = assert(S.read(path), "no file at " .. path)
  S.eq("\137PNG\r\n\26\n", bytes:sub(1, 8), "PNG signature")
  S.eq("sub folder", table.concat(S.ls(dir), " "), "the folder")
  S.eq("fox.png", table.concat(S.ls(dir .. "\\sub folder\\deeper"), " "), "what the download left")
  local img = assert(client:fetch(url))
  S.eq(#img.data, #bytes, "size on disk")
  assert(img.data == bytes, "the file holds the bytes fetch returns")
end)

test("download with forward slashes and a drive letter, mkdir = true", function()
  local client = S.client()
  local url = generated(client)
  local dir = S.dir("slash"):gsub("\\", "/")
  local ok, err = client:download(url, dir .. "/a/b/fox.png", { mkdir = true })
  assert(ok, tostring(err))
  S.eq("\137PNG", (S.read(dir .. "/a/b/fox.png") or ""):sub(1, 4), "the file")
end)

test("download writes to a temporary name beside the file while it runs, then renames it", function()
  local client = S.client()
  local url = generated(client)
  local dir = S.dir("tmpname")
  -- the image's answer held 1.5 s: the download is in flight meanwhile
  S.fault { action = "delay", seconds = 1.5, times = 1, path = url:match("^https?://[^/]+(/.*)$") }
  async.host()
  local done, seen
  async.spawn(function() done = { client:download(url, dir .. "\\fox.png") } end)
  local deadline = S.now() + 20
  while not done do
    assert(S.now() < deadline, "the download did not end in 20 s")
    async.update(0)
    if not seen and not done then
      local names = S.ls(dir)
      if #names > 0 then seen = names end
    end
    S.sleep(0.02)
  end
  async.stop_driver()
  assert(done[1], tostring(done[2]))
  assert(seen, "nothing was in the folder while the download ran")
  S.eq(1, #seen, "files while downloading")
  S.matches("^fox%.png%.vinano%-%w+$", seen[1], "the name while downloading")
  S.eq("fox.png", table.concat(S.ls(dir), " "), "the folder afterwards")
  S.eq("\137PNG", S.read(dir .. "\\fox.png"):sub(1, 4), "the file")
end)

test("download replaces an existing file and leaves no temporary file", function()
  local client = S.client()
  local url = generated(client)
  local dir = S.dir("replace")
  local path = S.write(dir .. "\\fox.png", "the old picture")
  local ok, err = client:download(url, path)
  assert(ok, tostring(err))
  S.eq("\137PNG", S.read(path):sub(1, 4), "the new file")
  S.eq("fox.png", table.concat(S.ls(dir), " "), "the folder")
end)

test("download into a missing folder without mkdir is an io error naming it, and writes nothing", function()
  local client = S.client()
  local url = generated(client)
  local dir = S.dir("missing")
  local res, err = client:download(url, dir .. "\\nope\\fox.png")
  S.eq(nil, res, "result")
  S.eq("io", err.kind, "kind")
  S.matches("nope", err.message, "message")
  S.eq("", table.concat(S.ls(dir), " "), "the folder")
end)

test("fetch returns the image's bytes in memory", function()
  local client = S.client()
  local url = generated(client)
  local img, err = client:fetch(url)
  assert(img, tostring(err))
  S.eq("\137PNG\r\n\26\n", img.data:sub(1, 8), "PNG signature")
  S.eq(#img.data, img.bytes, "bytes")
  S.matches("^image/png", img.content_type, "content_type")
end)
