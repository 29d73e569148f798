-- Run by spec/nvim_spec.lua inside `nvim --headless -u NONE` with
-- examples/neovim on the runtimepath.  A 10 ms timer counts ticks and the
-- longest gap between two while :VinanoGenerate runs against the mock (whose
-- generate is delayed 2 s); when the image is saved, it watches the adapter
-- stay idle for a while, writes a JSON report and quits.
--
-- Environment: VINANO_ROOT (the repository), VINANO_NVIM_REPORT (the report
-- file), VINANO_NVIM_BASE_URL, VINANO_NVIM_OUT (output dir),
-- VINANO_API_TOKEN (read by the plugin itself).
local uv = vim.loop
local root = os.getenv("VINANO_ROOT") or vim.fn.getcwd()
local report_path = assert(os.getenv("VINANO_NVIM_REPORT"), "VINANO_NVIM_REPORT not set")

-- vinano for LuaJIT: the repository's Lua layer and core build, and
-- lua-cjson from the system's 5.1 directory.
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
package.cpath = root .. "/build/luajit/?.so;/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;" .. package.cpath

local report = { ticks = 0, max_gap_ms = 0, error = nil }
local done = false

local function ms(t) return t / 1e6 end

local function write_report()
  local f = io.open(report_path, "w")
  if f then
    f:write(vim.json.encode(report))
    f:close()
  end
end

local function quit()
  vim.schedule(function() vim.cmd("qa!") end)
end

local function fail(msg)
  if done then return end
  done = true
  report.error = (report.error and report.error .. "; " or "") .. msg
  write_report()
  quit()
end

-- a hard overall deadline
local deadline = uv.new_timer()
deadline:start(20000, 0, function() fail("timed out after 20 s in nvim") end)

-- the probe: a 10 ms repeating timer; gaps are measured only while the
-- generation is pending
local probe = uv.new_timer()
local last, pending = nil, false
probe:start(10, 10, function()
  local now = uv.hrtime()
  if pending then
    report.ticks = report.ticks + 1
    local gap = ms(now - last)
    if gap > report.max_gap_ms then report.max_gap_ms = gap end
  end
  last = now
end)

local ok, err = pcall(function()
  vim.cmd("runtime plugin/vinano.lua") -- -u NONE loads no plugins by itself
  assert(vim.fn.exists(":VinanoGenerate") == 2, ":VinanoGenerate is not defined")
  local plugin = require "vinano_nvim"
  -- the driver's wake-ups: its poll and timer callbacks (plugin.driver.stats)
  local function wakeups()
    local d = plugin.driver
    return d and (d.stats.poll + d.stats.timer) or 0
  end
  local started, cpu0
  local function cpu_ms()
    local r = uv.getrusage()
    return (r.utime.sec + r.stime.sec) * 1000 + (r.utime.usec + r.stime.usec) / 1000
  end
  plugin.setup {
    base_url = os.getenv("VINANO_NVIM_BASE_URL"),
    output_dir = os.getenv("VINANO_NVIM_OUT"),
    timeout = 15,
    notify = false,
    on_done = function(result, gerr)
      pending = false
      report.elapsed_ms = ms(uv.hrtime() - started)
      report.adapter_ticks = wakeups()
      report.cpu_ms = cpu_ms() - cpu0
      if result then
        report.path, report.bytes, report.url = result.path, result.bytes, result.url
        local d = result.response.imageDetails and result.response.imageDetails[1]
        report.filesize = d and d.filesize
      else
        report.error = tostring(gerr)
      end
      -- the task has ended: nothing is in flight, so the adapter's timer
      -- must be stopped now and stay stopped
      report.timer_active_after = plugin.driver and plugin.driver.is_active()
      local idle_from, cpu_idle0 = wakeups(), cpu_ms()
      local idle = uv.new_timer()
      idle:start(300, 0, function()
        idle:close()
        report.idle_adapter_ticks = wakeups() - idle_from
        report.idle_cpu_ms = cpu_ms() - cpu_idle0
        report.timer_active_idle = plugin.driver and plugin.driver.is_active()
        done = true
        write_report()
        quit()
      end)
    end,
  }
  -- start from the main loop, as a user typing the command would
  vim.defer_fn(function()
    local cok, cerr = pcall(function()
      started, cpu0 = uv.hrtime(), cpu_ms()
      last, pending = uv.hrtime(), true
      vim.cmd("VinanoGenerate a lighthouse in the fog")
      report.timer_active_during = plugin.driver and plugin.driver.is_active()
    end)
    if not cok then fail("VinanoGenerate raised: " .. tostring(cerr)) end
  end, 100)
end)
if not ok then fail("setup failed: " .. tostring(err)) end
