-- bench/luv_wait.lua: wake-ups of a luv host while one request waits 10 s
-- on the server, and while idle afterwards.  Runs under LuaJIT with luv
-- (`luajit bench/luv_wait.lua`) and inside Neovim (`nvim --headless -u NONE
-- -c "luafile bench/luv_wait.lua"`, vim.loop).  bench/run.sh passes:
--   BENCH_BASE   the server's base URL for this run: BASE/hold10/<tag>, where
--                nginx lets one request through, then holds the next 10 s
--   BENCH_CA     the certificate to verify
--   BENCH_LP, BENCH_LC   package.path / package.cpath to prepend (Neovim)
--   BENCH_REPORT the file the one result line is written to
-- The line: wakeups poll timer held_ms cpu_ms idle_wakeups idle_ms idle_cpu_ms
-- (wake-ups = calls of the driver's poll and timer callbacks; cpu = the
-- process's CPU time, os.clock, over the same span).
local vim = rawget(_G, "vim")
if os.getenv("BENCH_LP") then package.path = os.getenv("BENCH_LP") .. ";" .. package.path end
if os.getenv("BENCH_LC") then package.cpath = os.getenv("BENCH_LC") .. ";" .. package.cpath end
local uv = vim and vim.loop or require "luv"
local base, ca = assert(os.getenv("BENCH_BASE")), assert(os.getenv("BENCH_CA"))
local report = assert(os.getenv("BENCH_REPORT"))
local IDLE_MS = 2000

local function finish(line)
  local f = assert(io.open(report, "w"))
  f:write(line, "\n")
  f:close()
  if vim then vim.schedule(function() vim.cmd("qa!") end) end
end

local ok, err = pcall(function()
  local vinano = require "vinano"
  local async = require "vinano.async"
  local driver = async.luv(uv, { notify = false })
  local client = vinano.new { token = "bench-token", base_url = base, ca_file = ca }
  local params = { prompt = "a beautiful sunset over the ocean", model = "gemini-2.5-flash-image-preview",
    aspectRatio = "16:9", googleSearch = false, mode = "txt2img" }
  local function total() return driver.stats.poll + driver.stats.timer end
  local guard = uv.new_timer()
  guard:start(40000, 0, function() finish("FAILED timed out") end)
  async.spawn(function()
    -- the first request passes at once (and opens the connection); the
    -- second is held by nginx's limit_req for 10 s
    local res, e = client:generate(params)
    if not res then return finish("FAILED first request: " .. tostring(e)) end
    local w0, p0, t0, c0, h0 = total(), driver.stats.poll, driver.stats.timer, os.clock(), uv.hrtime()
    res, e = client:generate(params)
    local held_ms, cpu_ms = (uv.hrtime() - h0) / 1e6, (os.clock() - c0) * 1000
    if not res then return finish("FAILED held request: " .. tostring(e)) end
    local w1, p1, t1 = total(), driver.stats.poll, driver.stats.timer
    -- idle: nothing in flight, the connection kept alive in the pool
    local c1, h1 = os.clock(), uv.hrtime()
    local idle = uv.new_timer()
    idle:start(IDLE_MS, 0, function()
      idle:close()
      guard:stop()
      guard:close()
      local line = ("%d %d %d %.0f %.2f %d %.0f %.2f"):format(w1 - w0, p1 - p0, t1 - t0, held_ms, cpu_ms,
        total() - w1, (uv.hrtime() - h1) / 1e6, (os.clock() - c1) * 1000)
      driver.stop()
      client:close()
      finish(line)
    end)
  end)
  if not vim then uv.run() end
end)
if not ok then finish("FAILED " .. tostring(err)) end
