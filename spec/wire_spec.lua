-- What vinano sends is what `curl -F` sends for the page's own examples:
-- same method, path, Authorization header, multipart names, values, file
-- names, content types and file bytes, compared field by field through the
-- mock's request log.
local env = require "spec.support.env"
local mock_process = require "spec.support.mock_process"

local function curl(mock, args)
  local cmd = ("curl -s -o /dev/null -w '%%{http_code}' %s -H 'Authorization: Bearer %s' %s"):format(
    args.url and (mock.url .. args.url) or "", env.token, args.flags or "")
  return env.sh(cmd)
end

local function strip(entry)
  -- what is compared: everything the request put on the wire that the API reads
  return {
    method = entry.method, path = entry.path, query = entry.query,
    authorization = entry.headers.authorization, parts = entry.parts,
  }
end

describe("the wire", function()
  local mock, client, dir
  setup(function()
    mock = mock_process.start { tokens = { env.token }, credits = 100000, rate_limit = 1000, task_delay = 0 }
    client = env.client(mock)
    dir = env.tmpdir()
  end)
  teardown(function()
    mock:stop()
    os.execute("rm -rf " .. dir)
  end)
  before_each(function() mock:clear() end)

  local function compare(curl_args, call)
    assert.are.equal("200", (curl(mock, curl_args):gsub("202", "200")))
    call()
    local log = mock:requests()
    assert.are.equal(2, #log)
    local a, b = strip(log[1]), strip(log[2])
    assert.are.same(a, b)
    return a, b
  end

  it("matches curl -F for the page's sync example", function()
    local a = compare({ url = "/api/v2/images/generate", flags = "-X POST"
      .. " -F 'prompt=a beautiful sunset over the ocean' -F 'model=gemini-2.5-flash-image-preview'"
      .. " -F 'aspectRatio=16:9' -F 'googleSearch=false' -F 'mode=txt2img'" }, function()
      assert(client:generate { prompt = "a beautiful sunset over the ocean", model = "gemini-2.5-flash-image-preview",
        aspectRatio = "16:9", googleSearch = false, mode = "txt2img" })
    end)
    assert.are.equal("POST", a.method)
    assert.are.equal("/api/v2/images/generate", a.path)
    assert.are.equal("Bearer <token:1>", a.authorization)
    assert.are.equal(5, #a.parts)
    assert.are.equal("googleSearch", a.parts[4].name)
    assert.are.equal("false", a.parts[4].value)
  end)

  it("matches curl -F for the page's async example and poll", function()
    compare({ url = "/api/v1/images/async", flags = "-X POST -F 'prompt=a beautiful sunset'"
      .. " -F 'model=gemini-2.5-flash-image-preview'" }, function()
      assert(client:submit_async { prompt = "a beautiful sunset", model = "gemini-2.5-flash-image-preview" })
    end)
    mock:clear()
    local task = assert(client:submit_async { prompt = "a beautiful sunset" })
    mock:clear()
    local a = compare({ url = "/api/v1/images/task-status?task_id=" .. task.task_id, flags = "-X GET" }, function()
      assert(client:poll(task.task_id))
    end)
    assert.are.equal("GET", a.method)
    assert.are.equal(task.task_id, a.query.task_id)
  end)

  it("sends two image files, booleans and a URL list as curl does", function()
    local png = "\137PNG\r\n\26\n" .. ("\0\1\2\3binary\255\254"):rep(300)
    local a_png = env.write_file(dir .. "/a.png", png)
    local b_jpg = env.write_file(dir .. "/b photo.jpg", "\255\216\255" .. ("jpeg bytes\0"):rep(100))
    local a = compare({ url = "/api/v2/images/generate", flags = "-X POST -F 'prompt=merge these'"
      .. " -F 'model=gemini-3.1-pro-image-preview' -F 'hdPro=true' -F 'img_size=2k'"
      .. (" -F 'image=@%s' -F 'image=@\"%s\"'"):format(a_png, b_jpg)
      .. " -F 'imageUrl=https://example.com/1.png' -F 'imageUrl=https://example.com/2.png'" }, function()
      assert(client:generate { prompt = "merge these", model = "gemini-3.1-pro-image-preview", hdPro = true,
        img_size = "2k", image = { a_png, b_jpg },
        imageUrl = { "https://example.com/1.png", "https://example.com/2.png" } })
    end)
    local names = {}
    for i, p in ipairs(a.parts) do names[i] = p.name end
    assert.are.same({ "prompt", "model", "hdPro", "img_size", "image", "image", "imageUrl", "imageUrl" }, names)
    assert.are.equal("a.png", a.parts[5].filename)
    assert.are.equal("image/png", a.parts[5].content_type)
    assert.are.equal(#png, a.parts[5].size)
    assert.are.equal("b photo.jpg", a.parts[6].filename)
    assert.are.equal("image/jpeg", a.parts[6].content_type)
  end)

  it("sends in-memory data and renamed files as curl's ;filename= and ;type= do", function()
    local bytes = "\137PNG\r\n\26\n" .. ("pixels"):rep(50)
    local path = env.write_file(dir .. "/c.bin", bytes)
    compare({ url = "/api/v2/images/generate", flags = "-X POST -F 'prompt=x'"
      .. (" -F 'image=@%s;filename=x.png;type=image/png' -F 'image=@%s;filename=image.png'"):format(path, path) },
      function()
        assert(client:generate { prompt = "x", image = {
          { path = path, filename = "x.png", content_type = "image/png" },
          { data = bytes },
        } })
      end)
  end)

  it("streams a large file without changing a byte (Expect: 100-continue path)", function()
    local path = dir .. "/big.png"
    local f = assert(io.open(path, "wb"))
    local chunk = ("\137PNG\r\n\26\n" .. string.rep("0123456789abcdef", 4096))
    for _ = 1, 40 do f:write(chunk) end -- ~2.6 MB
    f:close()
    local flags = ("-X POST -F 'prompt=big' -F 'image=@%s'"):format(path)
    local a = compare({ url = "/api/v2/images/generate", flags = flags },
      function() assert(client:generate { prompt = "big", image = path }) end)
    assert.are.equal(#chunk * 40, a.parts[2].size)
  end)
end)
