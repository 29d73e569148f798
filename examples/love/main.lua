-- vinano in a LÖVE 11 game: the generation runs in a vinano.async task while
-- the frame loop keeps drawing a spinner; then the image's bytes are fetched
-- into memory (client:fetch), drawn, and a copy is kept in the save
-- directory.
--
--   make LUA=luajit                       # the core for LÖVE's LuaJIT
--   VINANO_API_TOKEN=... love examples/love
--
-- Environment:
--   VINANO_API_TOKEN, VINANO_BASE_URL  the client's own (see vinano.new)
--   VINANO_LOVE_PROMPT, VINANO_LOVE_ASPECT  what to generate (default 16:9)
--   VINANO_LOVE_OUT         where to save the image (default: the save
--                           directory, images/latest.png)
--   VINANO_ROOT             the vinano checkout (default: two levels up from
--                           this game's folder)
--   VINANO_LOVE_REPORT      a file: once the image (or an error) has been on
--                           screen for a frame, write a JSON report there and
--                           quit (exit status 0 with an image, 1 without)
--   VINANO_LOVE_SCREENSHOT  a PNG file: a screenshot of that frame
--   VINANO_LOVE_TIMEOUT     seconds before a report run gives up (default 60)
-- Keys: space generates another image, escape quits.
-- luacheck: globals love

local REPORT = os.getenv("VINANO_LOVE_REPORT")
local SCREENSHOT = os.getenv("VINANO_LOVE_SCREENSHOT")
local TIMEOUT = tonumber(os.getenv("VINANO_LOVE_TIMEOUT") or "") or (REPORT and 60 or nil)
local PROMPT = os.getenv("VINANO_LOVE_PROMPT") or "a pixel-art castle on a hill at dawn"
local ASPECT = os.getenv("VINANO_LOVE_ASPECT") or "16:9"

-- Where vinano lives: its Lua files in <root>/lua and LÖVE's LuaJIT build
-- of the core in <root>/build/luajit/vinano/core.so (a checkout after
-- `make LUA=luajit`; getSource() is the absolute path of this game's
-- folder); in a bundled or fused game, the C modules (vinano/core.so,
-- cjson.so; .dll on Windows) beside the game's executable or .love
-- (getSourceBaseDirectory()).  lua-cjson for LuaJIT is otherwise found on
-- LuaJIT's own package.cpath (Debian's lua-cjson is there).
local function dirname(p)
  return p:match("^(.*)[/\\][^/\\]*$") or "."
end
local SO = package.config:sub(1, 1) == "\\" and "dll" or "so"
local ROOT = os.getenv("VINANO_ROOT") or dirname(dirname(love.filesystem.getSource()))
package.path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. package.path
package.cpath = ROOT .. "/build/luajit/?." .. SO .. ";" .. love.filesystem.getSourceBaseDirectory() .. "/?." .. SO
  .. ";" .. package.cpath

local vinano, async, client

local state -- see reset()
local finished = false -- the report is written, quit is on its way

local function reset()
  state = {
    phase = "waiting", -- "waiting" -> "ready" | "failed"
    started = love.timer.getTime(),
    wait_start = nil, -- time of the first frame drawn while waiting
    wait_end = nil, -- time the image (or the error) arrived
    frames_waiting = 0, -- frames drawn while waiting
    max_gap = 0, -- seconds: the longest gap between two frames, waiting until the first image frame
    last_draw = nil,
    shown = false, -- the image or the error has been drawn for a frame
    image = nil,
    image_data = nil, -- the decoded pixels, to compare with the screenshot
    rect = nil, -- where the image was drawn: { x=, y=, scale= }
    image_path = nil,
    image_bytes = nil,
    detail = nil, -- imageDetails[1] of the response
    error = nil,
    screenshot = nil, -- nil, "pending", "saved" or an error message
    pixels_checked = nil, -- screenshot pixels compared with the image's
    pixel_mismatches = nil,
    pixel_samples = nil, -- "screen r,g,b / image r,g,b; ..."
  }
end

local function fail(err)
  if state.phase ~= "waiting" then return end
  state.phase = "failed"
  state.error = tostring(err)
  state.wait_end = love.timer.getTime()
  io.stderr:write("vinano love example: ", state.error, "\n")
end


-- Keeps a copy of the image: VINANO_LOVE_OUT, or the save directory
-- (love.filesystem creates it).  Returns the path, or nil and why.
local function save_copy(bytes)
  local out = os.getenv("VINANO_LOVE_OUT")
  if out and out ~= "" then
    local f, err = io.open(out, "wb")
    if not f then return nil, err end
    f:write(bytes)
    f:close()
    return out
  end
  love.filesystem.createDirectory("images")
  local ok, err = love.filesystem.write("images/latest.png", bytes)
  if not ok then return nil, err end
  return love.filesystem.getSaveDirectory() .. "/images/latest.png"
end

-- The generation, as a vinano.async task: every client call yields to the
-- frame loop until its response is in.
local function generate(my_state)
  local res, err = client:generate { prompt = PROMPT, aspectRatio = ASPECT }
  if my_state ~= state then return end -- a newer generation replaced this one
  if not res then return fail(err) end
  local url = res.images and res.images[1]
  if type(url) ~= "string" then return fail("the response has no image URL") end
  state.detail = res.imageDetails and res.imageDetails[1]
  local img, ferr = client:fetch(url) -- the bytes, in memory (bounded by max_response)
  if my_state ~= state then return end
  if not img then return fail(ferr) end
  local bytes = img.data
  local path, serr = save_copy(bytes)
  if not path then return fail("cannot save the image: " .. tostring(serr)) end
  local ok, image, image_data = pcall(function()
    local data = love.image.newImageData(love.filesystem.newFileData(bytes, "vinano.png"))
    return love.graphics.newImage(data), data
  end)
  if not ok then return fail("cannot decode the image: " .. tostring(image)) end
  image:setFilter("nearest", "nearest")
  state.image, state.image_data, state.image_path, state.image_bytes = image, image_data, path, #bytes
  state.phase = "ready"
  state.wait_end = love.timer.getTime()
end

local function start_generation()
  reset()
  if not client then return end
  async.spawn(generate, state)
end

function love.load()
  love.graphics.setBackgroundColor(0.1, 0.11, 0.14)
  reset()
  local ok, err = pcall(function()
    vinano = require "vinano"
    async = require "vinano.async"
    async.host() -- love.update drives it; async.spawn'd tasks need no other driver
    -- a task that raises (a bug, not an API error) shows up like one
    async.on_error = function(_, terr) fail(terr) end
    client = vinano.new { timeout = 60 } -- token and base URL from the environment
  end)
  if not ok then
    vinano, async, client = nil, nil, nil
    fail("cannot load vinano (is VINANO_ROOT right and `make LUA=luajit` done?): " .. tostring(err))
    return
  end
  start_generation()
end

-- A small JSON encoder for the report: flat tables of numbers, strings,
-- booleans and nil (null); it must work even when cjson did not load.
local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local named = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
    return named[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

local function write_report(path)
  local gap_ms = math.floor(state.max_gap * 1000 + 0.5)
  local wait_ms = state.wait_start and state.wait_end and math.floor((state.wait_end - state.wait_start) * 1000 + 0.5)
  local w, h
  if state.image then w, h = state.image:getDimensions() end
  local detail = type(state.detail) == "table" and state.detail or {}
  local _, version, vendor, device = love.graphics.getRendererInfo()
  local fields = {
    { "ok", state.phase == "ready" },
    { "error", state.error },
    { "frames_waiting", state.frames_waiting },
    { "max_frame_gap_ms", gap_ms },
    { "wait_ms", wait_ms },
    { "width", w },
    { "height", h },
    { "api_width", tonumber(detail.width) },
    { "api_height", tonumber(detail.height) },
    { "aspect_ratio", ASPECT },
    { "image_path", state.image_path },
    { "image_bytes", state.image_bytes },
    { "screenshot", state.screenshot },
    { "pixels_checked", state.pixels_checked },
    { "pixel_mismatches", state.pixel_mismatches },
    { "pixel_samples", state.pixel_samples },
    { "renderer", ("%s / %s / %s"):format(tostring(version), tostring(vendor), tostring(device)) },
  }
  local parts = {}
  for i, kv in ipairs(fields) do
    local v = kv[2]
    local enc
    if v == nil then
      enc = "null"
    elseif type(v) == "number" then
      enc = v == math.floor(v) and ("%d"):format(v) or ("%.17g"):format(v)
    elseif type(v) == "boolean" then
      enc = tostring(v)
    else
      enc = json_string(tostring(v))
    end
    parts[i] = json_string(kv[1]) .. ": " .. enc
  end
  local f, err = io.open(path, "wb")
  if not f then
    io.stderr:write("vinano love example: cannot write the report: ", tostring(err), "\n")
    return
  end
  f:write("{\n  ", table.concat(parts, ",\n  "), "\n}\n")
  f:close()
end

function love.update(dt) -- luacheck: no unused args
  if async then async.update(0) end -- advance transfers, resume the task: never waits
  if state.phase == "waiting" and TIMEOUT and love.timer.getTime() - state.started > TIMEOUT then
    fail(("timed out after %g s"):format(TIMEOUT))
  end
  -- In a report run: once the outcome has been on screen (and the
  -- screenshot saved), report and quit.
  if REPORT and not finished and state.shown and state.screenshot ~= "pending" then
    finished = true
    write_report(REPORT)
    love.event.quit(state.phase == "ready" and 0 or 1)
  end
end

local function draw_spinner(cx, cy, t)
  local n, radius = 12, 28
  local head = math.floor(t * 12) % n
  for i = 0, n - 1 do
    local age = (head - i) % n -- 0: the brightest dot
    local a = i / n * 2 * math.pi - math.pi / 2
    love.graphics.setColor(0.55, 0.8, 1, 1 - age / n)
    love.graphics.circle("fill", cx + math.cos(a) * radius, cy + math.sin(a) * radius, 5 - age * 0.25)
  end
  love.graphics.setColor(1, 1, 1, 1)
end

local function draw_image(w, h)
  local img = state.image
  local iw, ih = img:getDimensions()
  local scale = math.min(w * 0.85 / iw, (h - 70) * 0.9 / ih)
  local dw, dh = iw * scale, ih * scale
  local x, y = (w - dw) / 2, (h - 40 - dh) / 2
  love.graphics.setColor(1, 1, 1, 1)
  love.graphics.draw(img, x, y, 0, scale, scale)
  state.rect = { x = x, y = y, scale = scale }
  love.graphics.setColor(0.8, 0.8, 0.8, 1)
  love.graphics.rectangle("line", x - 1, y - 1, dw + 2, dh + 2)
  love.graphics.setColor(1, 1, 1, 1)
  love.graphics.printf(("%dx%d, %d bytes, after %.1f s and %d frames"):format(iw, ih, state.image_bytes,
    state.wait_end - (state.wait_start or state.wait_end), state.frames_waiting), 0, h - 52, w, "center")
  love.graphics.printf(state.image_path, 0, h - 32, w, "center")
end

local function rgb(data, x, y)
  local r, g, b = data:getPixel(x, y)
  return math.floor(r * 255 + 0.5), math.floor(g * 255 + 0.5), math.floor(b * 255 + 0.5)
end

-- Compares a few pixels of the screenshot with the image's own, at texel
-- centres along the diagonal: proof that the image is on screen, unscrambled.
local function check_pixels(s, shot)
  if not (s.image_data and s.rect) then return end
  local iw, ih = s.image_data:getDimensions()
  local sw, sh = shot:getDimensions()
  local checked, mismatches, samples = 0, 0, {}
  for _, f in ipairs { 0.15, 0.5, 0.85 } do
    local ix, iy = math.floor(f * (iw - 1)), math.floor(f * (ih - 1))
    local sx = math.floor(s.rect.x + (ix + 0.5) * s.rect.scale)
    local sy = math.floor(s.rect.y + (iy + 0.5) * s.rect.scale)
    if sx >= 0 and sy >= 0 and sx < sw and sy < sh then
      local r1, g1, b1 = rgb(shot, sx, sy)
      local r2, g2, b2 = rgb(s.image_data, ix, iy)
      checked = checked + 1
      if math.max(math.abs(r1 - r2), math.abs(g1 - g2), math.abs(b1 - b2)) > 3 then mismatches = mismatches + 1 end
      samples[#samples + 1] = ("screen %d,%d,%d / image %d,%d,%d"):format(r1, g1, b1, r2, g2, b2)
    end
  end
  s.pixels_checked, s.pixel_mismatches, s.pixel_samples = checked, mismatches, table.concat(samples, "; ")
end

function love.draw()
  local now = love.timer.getTime()
  local w, h = love.graphics.getDimensions()
  local counting = state.phase == "waiting" or not state.shown
  if counting and state.last_draw then state.max_gap = math.max(state.max_gap, now - state.last_draw) end
  state.last_draw = now

  if state.phase == "waiting" then
    state.wait_start = state.wait_start or now
    state.frames_waiting = state.frames_waiting + 1
    draw_spinner(w / 2, h / 2 - 20, now)
    love.graphics.printf(("generating \"%s\" (%s): %.1f s, frame %d"):format(PROMPT, ASPECT,
      now - state.wait_start, state.frames_waiting), 20, h / 2 + 30, w - 40, "center")
  elseif state.phase == "ready" then
    draw_image(w, h)
  else
    love.graphics.setColor(1, 0.45, 0.4, 1)
    love.graphics.printf(state.error, 20, 40, w - 40, "left")
    love.graphics.setColor(1, 1, 1, 1)
  end

  if state.phase ~= "waiting" and not state.shown then
    state.shown = true
    if SCREENSHOT and SCREENSHOT ~= "" then
      local shot = state
      shot.screenshot = "pending"
      -- taken when this frame is presented; the callback runs then
      love.graphics.captureScreenshot(function(data)
        local ok, err = pcall(function()
          check_pixels(shot, data)
          local png = data:encode("png"):getString()
          local f = assert(io.open(SCREENSHOT, "wb"))
          f:write(png)
          f:close()
        end)
        shot.screenshot = ok and "saved" or ("screenshot failed: " .. tostring(err))
      end)
    end
  end
end

function love.keypressed(key)
  if key == "escape" then
    love.event.quit()
  elseif key == "space" and state.phase ~= "waiting" then
    start_generation()
  end
end
