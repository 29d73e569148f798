-- client:fetch (an image's bytes in memory) and download's mkdir option:
-- sync and inside a task, bounded by max_response, with download's token and
-- redirect rules.
local async = require "vinano.async"
local env = require "spec.support.env"
local mock_process = require "spec.support.mock_process"

describe("fetch and download's folders", function()
  local mock, client, dir
  setup(function()
    mock = mock_process.start { tokens = { env.token }, credits = 100000, rate_limit = 100000, task_delay = 0.2 }
    client = env.client(mock)
    dir = env.tmpdir()
  end)
  teardown(function()
    client:close()
    mock:stop()
    os.execute("rm -rf " .. dir)
  end)
  before_each(function() mock:reset() end)

  it("returns the image's bytes, the same the server reports, sync and inside a task", function()
    local res = assert(client:generate { prompt = "x", aspectRatio = "1:1" })
    local img = assert(client:fetch(res.images[1]))
    assert.are.equal(res.imageDetails[1].filesize, #img.data)
    assert.are.equal(#img.data, img.bytes)
    assert.are.equal("image/png", img.content_type)
    local w, h = env.png_size(img.data)
    assert.are.equal(64, w)
    assert.are.equal(64, h)
    assert.are.equal(1, img.attempts)
    local again = async.run(function() return assert(client:fetch(res.images[1])) end)
    assert.are.equal(img.data, again.data)
  end)

  it("is bounded by max_response", function()
    local res = assert(client:generate { prompt = "x" })
    local small = env.client(mock, { max_response = 100 })
    local img, err = small:fetch(res.images[1])
    assert.is_nil(img)
    assert.are.equal("decode", err.kind)
    assert.matches("larger than the 100%-byte limit", err.message)
    small:close()
  end)

  it("sends the token only to the API host, and not across a redirect elsewhere", function()
    local task = assert(client:submit_async { prompt = "x" })
    mock:clear()
    local api_path = "/api/v1/images/task-status?task_id=" .. task.task_id
    assert(client:fetch(mock.url .. api_path))
    local other = mock.url:gsub("127%.0%.0%.1", "localhost")
    local body, err = client:fetch(other .. api_path)
    assert.is_nil(body)
    assert.are.equal("unauthorized", err.kind)
    mock:fault { action = "redirect", location = other .. api_path }
    body, err = client:fetch(mock.url .. api_path)
    assert.is_nil(body)
    assert.are.equal(401, err.status)
    local log = mock:requests()
    assert.are.equal(4, #log)
    assert.are.equal("Bearer <token:1>", log[1].headers.authorization)
    assert.is_nil(log[2].headers.authorization)
    assert.are.equal("Bearer <token:1>", log[3].headers.authorization)
    assert.is_nil(log[4].headers.authorization)
  end)

  it("refuses what is not an http(s) URL, sending nothing", function()
    for _, url in ipairs { "file:///etc/passwd", "", "ftp://127.0.0.1/x" } do
      local body, err = client:fetch(url)
      assert.is_nil(body)
      assert.are.equal("invalid_request", err.kind)
      assert.are.equal("url", err.field)
    end
  end)

  it("download creates missing folders with mkdir = true, and says how otherwise", function()
    local res = assert(client:generate { prompt = "x" })
    local deep = dir .. "/a/b/c/out.png"
    local file, err = client:download(res.images[1], deep)
    assert.is_nil(file)
    assert.are.equal("io", err.kind)
    assert.are.equal(deep, err.path) -- the README's error table promises it
    assert.matches("pass {mkdir = true}", err.message, 1, true)
    local _, err2 = client:download(res.images[1], dir, { mkdir = true }) -- a folder: the rename fails
    assert.are.equal("io", err2.kind)
    assert.are.equal(dir, err2.path)
    file = assert(client:download(res.images[1], deep, { mkdir = true }))
    assert.are.equal(deep, file.path)
    assert.are.equal(res.imageDetails[1].filesize, #env.read_file(deep))
  end)

  it("has a callback form", function()
    local res = assert(client:generate { prompt = "x" })
    local got
    async.run(function()
      client:fetch_cb(res.images[1], function(img) got = img end)
      async.sleep(0) -- let the spawned call start
      while not got do async.sleep(0.01) end
    end)
    assert.are.equal(res.imageDetails[1].filesize, got.bytes)
  end)
end)
