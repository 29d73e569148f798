-- The Neovim example plugin (examples/neovim) in a real headless Neovim:
-- :VinanoGenerate against the mock with the generate delayed 2 s, while a
-- 10 ms timer in the editor keeps ticking.  Proves the luv adapter never
-- blocks the editor, delivers the image, wakes the editor only a handful of
-- times while the server holds the request, and does no work once idle.
-- Needs `nvim` (apt-get install neovim) and the LuaJIT build of the core
-- (make LUA=luajit); runs the same under every interpreter busted runs on.
local cjson = require "cjson"
local env = require "spec.support.env"
local mock_process = require "spec.support.mock_process"

local q = mock_process.quote

local function have_nvim()
  return os.execute("command -v nvim >/dev/null 2>&1")
end

describe("the Neovim plugin #host", function()
  it("generates through the luv adapter while the editor's timers keep ticking", function()
    local found = have_nvim()
    assert(found == true or found == 0,
      "nvim is not installed: this spec needs Neovim (apt-get install neovim)")
    local root = env.sh("pwd"):gsub("%s+$", "")
    assert(io.open(root .. "/build/luajit/vinano/core.so", "rb"),
      "build/luajit/vinano/core.so is missing: run `make LUA=luajit` first")

    local mock = mock_process.start { tokens = { env.token } }
    local dir = env.tmpdir()
    local ok, err = pcall(function()
      mock:fault { action = "delay", seconds = 2, path = "/api/v2/images/generate" }
      local report_path = dir .. "/report.json"
      local log = dir .. "/nvim.log"
      -- the interpreter's LUA_PATH/LUA_CPATH (maybe Lua 5.4's) must not reach
      -- Neovim's LuaJIT
      local cmd = table.concat({
        "cd", q(root), "&&",
        "env -u LUA_PATH -u LUA_CPATH -u LUA_INIT -u VINANO_BASE_URL",
        "VINANO_ROOT=" .. q(root),
        "VINANO_NVIM_REPORT=" .. q(report_path),
        "VINANO_NVIM_BASE_URL=" .. q(mock.url),
        "VINANO_NVIM_OUT=" .. q(dir .. "/out"),
        "VINANO_API_TOKEN=" .. q(env.token),
        "timeout 30 nvim --headless -u NONE -i NONE",
        "--cmd", q("set rtp+=" .. root .. "/examples/neovim"),
        "-c", q("luafile " .. root .. "/spec/nvim/timer_during_generate.lua"),
        ">" .. q(log), "2>&1", "</dev/null",
      }, " ")
      os.execute(cmd)
      local text = env.read_file(report_path)
      assert(text, "nvim wrote no report; its output:\n" .. (env.read_file(log) or ""))
      local r = cjson.decode(text)
      local diag = "report: " .. text .. "\nnvim output:\n" .. (env.read_file(log) or "")

      -- the result arrived
      assert(r.error == nil, "generation failed: " .. tostring(r.error) .. "\n" .. diag)
      assert.is_string(r.path, diag)
      assert.are.equal(dir .. "/out/", r.path:sub(1, #dir + 5))
      local bytes = assert(env.read_file(r.path), "no file at " .. r.path)
      assert.are.equal(r.bytes, #bytes)
      assert.are.equal(r.filesize, #bytes)
      assert.are.equal(64, (env.png_size(bytes)))
      assert.is_true(r.elapsed_ms >= 1900, "the generate was not delayed: " .. diag)

      -- the editor never blocked: ~200 ticks of 10 ms over the 2 s wait
      assert.is_true(r.ticks >= 150, "the 10 ms timer ticked only " .. r.ticks .. " times; " .. diag)
      assert.is_true(r.max_gap_ms < 200, "the editor blocked for " .. r.max_gap_ms .. " ms; " .. diag)

      -- the adapter works while something is in flight, and not after
      assert.is_true(r.timer_active_during, diag)
      assert.is_true(r.adapter_ticks > 0, diag)
      -- the driver watches libcurl's sockets: a handful of wake-ups for a
      -- request the server holds 2 s (the old 5 ms ticker: about 400)
      assert.is_true(r.adapter_ticks <= 30, "the luv driver woke " .. r.adapter_ticks .. " times; " .. diag)
      assert.is_false(r.timer_active_after, diag)
      assert.is_false(r.timer_active_idle, diag)
      assert.are.equal(0, r.idle_adapter_ticks, diag)

      -- one API call (image downloads are not logged), with the token from
      -- $VINANO_API_TOKEN and the command's argument as the prompt
      local log_entries = mock:requests()
      assert.are.equal(1, #log_entries)
      local e = log_entries[1]
      assert.are.equal("/api/v2/images/generate", e.path)
      assert.are.equal("Bearer <token:1>", e.headers.authorization)
      local prompt
      for _, p in ipairs(e.parts) do if p.name == "prompt" then prompt = p.value end end
      assert.are.equal("a lighthouse in the fog", prompt)
    end)
    mock:stop()
    os.execute("rm -rf " .. q(dir))
    if not ok then error(err, 0) end
  end)
end)
