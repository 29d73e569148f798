-- The examples run as a user would run them, against the mock.
local env = require "spec.support.env"
local mock_process = require "spec.support.mock_process"

describe("examples #nocore", function()
  local mock, dir
  setup(function()
    mock = mock_process.start { tokens = { env.token }, task_delay = 0.3 }
    dir = env.tmpdir()
  end)
  teardown(function()
    mock:stop()
    os.execute("rm -rf " .. dir)
  end)

  local function run(script, out)
    return env.sh(("VINANO_BASE_URL=%s VINANO_API_TOKEN=%s VINANO_POLL_INTERVAL=0.1 LUA_PATH='./lua/?.lua;;' "
      .. "LUA_CPATH='./build/%s/?.so;;' %s %s 'a test prompt' %s 2>&1; echo \"exit=$?\""):format(
      mock.url, env.token, env.lua, env.lua, script, out))
  end

  it("generate.lua saves the image", function()
    local out = run("examples/generate.lua", dir .. "/g.png")
    assert.matches("exit=0", out)
    assert.matches("generated http://127%.0%.0%.1:%d+/images/.+%.png %(64x36, %d+ bytes, 10 credits%)", out)
    assert.matches("saved " .. dir:gsub("%p", "%%%0") .. "/g%.png", out)
    assert.are.same({ 64, 36 }, { env.png_size(env.read_file(dir .. "/g.png")) })
  end)

  it("async.lua submits, prints progress lines and saves the image", function()
    local out = run("examples/async.lua", dir .. "/a.png")
    assert.matches("exit=0", out)
    assert.matches("submitted task %S+ %(10 credits%)", out)
    assert.matches("pending", out)
    assert.matches("done", out)
    assert.are.same({ 64, 64 }, { env.png_size(env.read_file(dir .. "/a.png")) })
  end)

  it("a bad token ends with the error on stderr and exit 1", function()
    local out = env.sh(("VINANO_BASE_URL=%s VINANO_API_TOKEN=wrong LUA_PATH='./lua/?.lua;;' "
      .. "LUA_CPATH='./build/%s/?.so;;' %s examples/generate.lua x %s/x.png 2>&1; echo \"exit=$?\""):format(
      mock.url, env.lua, env.lua, dir))
    assert.matches("vinano: unauthorized %(HTTP 401%)", out)
    assert.matches("exit=1", out)
  end)
end)
