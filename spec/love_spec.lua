-- The LÖVE example (examples/love) as a person would see it: the real game
-- under Xvfb (Mesa's llvmpipe renders), against the mock.  The game writes a
-- JSON report once the image (or an error) has been on screen for a frame
-- (VINANO_LOVE_REPORT) and a screenshot (VINANO_LOVE_SCREENSHOT), then quits.
-- Needs Debian's love, xvfb, xauth and libgl1-mesa-dri, and the LuaJIT build
-- of the core (make LUA=luajit): LÖVE runs LuaJIT whatever Lua runs busted.
local cjson = require "cjson"
local env = require "spec.support.env"
local mock_process = require "spec.support.mock_process"

local quote = mock_process.quote
local GENERATE = "/api/v2/images/generate"
local APT = "apt-get install -y love xvfb xauth libgl1 libgl1-mesa-dri"

local function have(cmd)
  return env.sh("command -v " .. cmd .. " 2>/dev/null") ~= ""
end

local function root()
  return (env.sh("pwd"):gsub("%s+$", ""))
end

-- One X server for the whole spec, started here rather than by xvfb-run:
-- xvfb-run's own clean-up fails now and then (exit status 5, "problem while
-- cleaning up temporary directory"), which would hide the game's status.
local xvfb = {}
function xvfb.start()
  for n = 90, 120 do
    if not env.read_file(("/tmp/.X%d-lock"):format(n)) then
      local pid = env.sh(("Xvfb :%d -screen 0 1024x768x24 -nolisten tcp >/dev/null 2>&1 & echo $!"):format(n))
      for _ = 1, 100 do
        if env.sh(("ls /tmp/.X11-unix/X%d 2>/dev/null"):format(n)) ~= "" then
          xvfb.display, xvfb.pid = ":" .. n, pid:match("%d+")
          return
        end
        env.sh("sleep 0.05")
      end
      os.execute("kill " .. pid:match("%d+") .. " 2>/dev/null")
    end
  end
  error("could not start Xvfb on any display :90-:120")
end
function xvfb.stop()
  if xvfb.pid then os.execute("kill " .. xvfb.pid .. " 2>/dev/null") end
end

-- Runs the game once; returns the decoded report (or nil), the exit status
-- and everything it printed.
local function run_game(mock, dir, vars)
  local report, log = dir .. "/report.json", dir .. "/love.log"
  os.remove(report)
  local assignments = {
    "VINANO_API_TOKEN=" .. quote(env.token),
    "VINANO_BASE_URL=" .. quote(mock.url),
    "VINANO_LOVE_REPORT=" .. quote(report),
    "VINANO_LOVE_TIMEOUT=40",
    "XDG_DATA_HOME=" .. quote(dir .. "/data"), -- the save directory goes there
    "SDL_AUDIODRIVER=dummy",
    "LIBGL_ALWAYS_SOFTWARE=1",
  }
  for k, v in pairs(vars or {}) do assignments[#assignments + 1] = k .. "=" .. quote(v) end
  -- busted's LUA_PATH/LUA_CPATH name this Lua's build: the game finds its
  -- own way to the LuaJIT one
  local cmd = ("cd %s && env -u LUA_PATH -u LUA_CPATH -u LUA_INIT DISPLAY=%s %s timeout 60 "
    .. "love examples/love > %s 2>&1; echo $?")
    :format(quote(root()), xvfb.display, table.concat(assignments, " "), quote(log))
  local status = tonumber((env.sh(cmd):match("(%d+)%s*$")))
  local output = env.read_file(log) or ""
  local text = env.read_file(report)
  local ok, decoded = pcall(cjson.decode, text or "")
  return ok and decoded or nil, status, output
end

describe("the LÖVE example #host", function()
  local mock, dir

  setup(function()
    local missing = {}
    for _, cmd in ipairs { "love", "Xvfb" } do
      if not have(cmd) then missing[#missing + 1] = cmd end
    end
    assert(#missing == 0, table.concat(missing, ", ") .. " not installed: the LÖVE spec needs `" .. APT .. "`")
    assert(env.read_file("build/luajit/vinano/core.so"),
      "build/luajit/vinano/core.so is missing: the LÖVE spec needs `make LUA=luajit`")
    mock = mock_process.start { tokens = { env.token }, credits = 100000, rate_limit = 1000 }
    dir = env.tmpdir()
    xvfb.start()
  end)

  teardown(function()
    xvfb.stop()
    if mock then mock:stop() end
    if dir then os.execute("rm -rf " .. quote(dir)) end
  end)

  before_each(function() mock:reset() end)

  it("keeps drawing while a slow generation runs, then draws the image", function()
    mock:fault { action = "delay", seconds = 2, path = GENERATE }
    local shot = dir .. "/shot.png"
    local report, status, output = run_game(mock, dir, { VINANO_LOVE_ASPECT = "16:9", VINANO_LOVE_SCREENSHOT = shot })
    assert(report, "no report; the game printed:\n" .. output)
    assert(report.ok, "the game failed: " .. tostring(report.error) .. "\n" .. output)
    assert.are.equal(0, status)
    assert.are.equal(cjson.null, report.error)
    -- the image arrived, as the mock made it for 16:9
    assert.are.equal(64, report.width)
    assert.are.equal(36, report.height)
    assert.are.equal(64, report.api_width)
    assert.are.equal(36, report.api_height)
    -- the delay was real, and the frame loop went on through it
    assert.is_true(report.wait_ms >= 1900, "waited only " .. report.wait_ms .. " ms")
    assert.is_true(report.frames_waiting >= 30,
      report.frames_waiting .. " frames in " .. report.wait_ms .. " ms of waiting")
    assert.is_true(report.max_frame_gap_ms < 250, "a frame took " .. report.max_frame_gap_ms .. " ms")
    -- downloaded into the save directory, the bytes the game decoded
    assert.are.equal(dir .. "/data/love/vinano-love/images/latest.png", report.image_path)
    local bytes = assert(env.read_file(report.image_path))
    assert.are.equal(report.image_bytes, #bytes)
    assert.are.same({ 64, 36 }, { env.png_size(bytes) })
    -- the screenshot: the window, with the image's own pixels on it
    assert.are.equal("saved", report.screenshot)
    assert.are.same({ 640, 400 }, { env.png_size(assert(env.read_file(shot))) })
    assert.are.equal(3, report.pixels_checked)
    assert.are.equal(0, report.pixel_mismatches, report.pixel_samples)
    -- one API request (the download is no API request): the game's prompt
    -- and aspect ratio, with the token
    local log = mock:requests()
    assert.are.equal(1, #log)
    assert.are.equal(GENERATE, log[1].path)
    assert.are.equal("Bearer <token:1>", log[1].headers.authorization)
    local fields = {}
    for _, part in ipairs(log[1].parts) do fields[part.name] = part.value end
    assert.are.equal("16:9", fields.aspectRatio)
    assert.are.equal("a pixel-art castle on a hill at dawn", fields.prompt)
  end)

  it("draws a square image for 1:1", function()
    local report, status, output = run_game(mock, dir, { VINANO_LOVE_ASPECT = "1:1" })
    assert(report, "no report; the game printed:\n" .. output)
    assert(report.ok, "the game failed: " .. tostring(report.error) .. "\n" .. output)
    assert.are.equal(0, status)
    assert.are.equal(64, report.width)
    assert.are.equal(64, report.height)
    assert.are.equal(64, report.api_width)
    assert.are.equal(64, report.api_height)
    assert.are.equal(cjson.null, report.screenshot)
  end)

  it("shows an API error and quits with status 1", function()
    local report, status, output = run_game(mock, dir, { VINANO_API_TOKEN = "not-the-token" })
    assert(report, "no report; the game printed:\n" .. output)
    assert.is_false(report.ok)
    assert.are.equal(1, status)
    assert.matches("401", report.error)
    assert.matches("invalid API token", report.error)
    assert.are.equal(cjson.null, report.width)
    assert.is_true(report.frames_waiting >= 1)
  end)

  it("runs the README's LÖVE snippet as written: the image is drawn, an error is shown", function()
    local readme = assert(env.read_file(root() .. "/README.md"))
    local marker = "<!%-%- spec/love_spec%.lua runs this block as written, under LÖVE %-%->"
    local snippet = readme:match(marker .. "\n```lua\n(.-)```")
    assert(snippet, "README.md has no marked LÖVE snippet")
    local game = dir .. "/snippet"
    assert(os.execute("mkdir -p " .. quote(game)))
    -- the snippet as written, between where vinano lives and a harness that
    -- watches what it draws (newImage, print) and quits with a status
    env.write_file(game .. "/main.lua", table.concat({
      ("package.path = %q .. package.path"):format(root() .. "/lua/?.lua;"),
      ("package.cpath = %q .. package.cpath"):format(root() .. "/build/luajit/?.so;"
        .. "/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;"),
      "do",
      snippet,
      "end",
      [[
local drew_image, printed = false, nil
local draw_image, print_text = love.graphics.draw, love.graphics.print
love.graphics.draw = function(d, ...) if d and d.typeOf and d:typeOf("Image") then drew_image = true end
  return draw_image(d, ...) end
love.graphics.print = function(text, ...) printed = tostring(text) return print_text(text, ...) end
local update, t0 = love.update, os.time()
love.update = function(dt)
  update(dt)
  if drew_image then io.stdout:write("IMAGE\n") love.event.quit(0)
  elseif printed and printed ~= "generating..." then io.stdout:write("ERROR ", printed, "\n") love.event.quit(1)
  elseif os.time() - t0 > 30 then io.stdout:write("TIMEOUT\n") love.event.quit(2) end
end]],
    }, "\n"))
    local function play(token)
      local out = dir .. "/snippet.log"
      local status = tonumber(env.sh(("cd %s && env -u LUA_PATH -u LUA_CPATH DISPLAY=%s VINANO_API_TOKEN=%s "
        .. "VINANO_BASE_URL=%s XDG_DATA_HOME=%s SDL_AUDIODRIVER=dummy LIBGL_ALWAYS_SOFTWARE=1 timeout 60 love %s "
        .. "> %s 2>&1; echo $?"):format(quote(dir), xvfb.display, quote(token), quote(mock.url), quote(dir .. "/data"),
        quote(game), quote(out))):match("(%d+)%s*$"))
      return status, env.read_file(out) or ""
    end
    local status, out = play(env.token)
    assert.are.equal(0, status, out)
    assert.matches("IMAGE", out)
    status, out = play("not-the-token")
    assert.are.equal(1, status, out)
    assert.matches("ERROR vinano: unauthorized %(HTTP 401%)", out)
  end)
end)
