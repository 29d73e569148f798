-- :checkhealth vinano in a real headless Neovim (lua/vinano/health.lua): the
-- report says which core loaded, libcurl's version, TLS backend and HTTP/2,
-- whether a token is set without ever showing it, the driver, and gives a line
-- of advice for what is wrong.  Needs `nvim` and the LuaJIT build of the core
-- (make LUA=luajit); Neovim runs its own LuaJIT whatever Lua runs busted.
local env = require "spec.support.env"
local q = require("spec.support.mock_process").quote

local SECRET = "hc-SECRET-token-51d0e2"

local function root()
  return (env.sh("pwd"):gsub("%s+$", ""))
end

-- Runs :checkhealth vinano with the given core folder and environment, and
-- returns the health buffer's text and everything Neovim printed.
local function checkhealth(dir, cpath_dir, vars)
  local r = root()
  local out = dir .. "/health.txt"
  os.remove(out)
  local setup = ("package.path = %q .. package.path; package.cpath = %q .. package.cpath"):format(
    r .. "/lua/?.lua;" .. r .. "/lua/?/init.lua;", cpath_dir .. "/?.so;")
  local cmd = table.concat({
    "cd", q(dir), "&&",
    "env -u LUA_PATH -u LUA_CPATH -u LUA_INIT -u VINANO_API_TOKEN -u VINANO_BASE_URL", vars or "",
    "timeout 60 nvim --headless -u NONE -i NONE",
    "--cmd", q("set rtp+=" .. r),
    "-c", q("lua " .. setup),
    "-c", q("checkhealth vinano"),
    "-c", q("w! " .. out),
    "-c", q("qa!"),
    "</dev/null 2>&1",
  }, " ")
  local printed = env.sh(cmd)
  return env.read_file(out), printed
end

describe(":checkhealth vinano #host", function()
  local dir
  setup(function()
    local found = os.execute("command -v nvim >/dev/null 2>&1")
    assert(found == true or found == 0, "nvim is not installed: this spec needs Neovim (apt-get install neovim)")
    assert(env.read_file("build/luajit/vinano/core.so"),
      "build/luajit/vinano/core.so is missing: run `make LUA=luajit` first")
    dir = env.tmpdir()
  end)
  teardown(function()
    if dir then os.execute("rm -rf " .. q(dir)) end
  end)

  it("reports the core, libcurl, TLS, HTTP/2, a set token (never its value) and the driver", function()
    local text, printed = checkhealth(dir, root() .. "/build/luajit",
      "VINANO_API_TOKEN=" .. q(SECRET) .. " VINANO_BASE_URL=" .. q("https://user:pw-secret@example.test/"))
    assert(text, "Neovim wrote no health report; it printed:\n" .. printed)
    local diag = "\nreport:\n" .. text
    assert.matches("## vinano: the C core", text, 1, true)
    local so = (root() .. "/build/luajit/vinano/core.so"):gsub("%p", "%%%0")
    assert.matches("OK: core %d+%.%d+%.%d+ loaded from " .. so, text, nil, false, diag)
    assert.matches("Lua 5%.1 %(LuaJIT", text, nil, false, diag)
    assert.matches("OK: lua%-cjson loads", text, nil, false, diag)
    assert.matches("OK: libcurl %d+%.%d+", text, nil, false, diag)
    assert.matches("TLS backend: %S+", text, nil, false, diag)
    assert.matches("HTTP/2: [yn]", text, nil, false, diag)
    assert.matches("OK: VINANO_API_TOKEN is set", text, nil, false, diag)
    assert.matches("## vinano: vinano.async driver", text, nil, false, diag)
    assert.matches("driver", text, nil, false, diag)
    -- no error, and the secrets nowhere
    assert.is_nil(text:find("ERROR", 1, true), diag)
    assert.is_nil(text:find(SECRET, 1, true), "the token appears in the report" .. diag)
    assert.is_nil(printed:find(SECRET, 1, true), "the token appears in Neovim's output")
    assert.is_nil(text:find("pw-secret", 1, true), "the base URL's password appears" .. diag)
    assert.matches("VINANO_BASE_URL: https://<credentials>@example%.test/", text, nil, false, diag)
  end)

  it("warns with advice when no token is set", function()
    local text, printed = checkhealth(dir, root() .. "/build/luajit")
    assert(text, "Neovim wrote no health report; it printed:\n" .. printed)
    assert.matches("WARNING: VINANO_API_TOKEN is not set", text, nil, false, text)
    assert.matches("ADVICE:%s+%- export VINANO_API_TOKEN=", text, nil, false, text)
  end)

  it("says the core does not load, and how to build it for LuaJIT, when it is missing", function()
    local empty = dir .. "/nocore"
    os.execute("mkdir -p " .. q(empty))
    -- no core on the path at all: Neovim's own cpath has none either
    local text, printed = checkhealth(dir, empty)
    assert(text, "Neovim wrote no health report; it printed:\n" .. printed)
    if text:find("OK: core", 1, true) then
      pending("a vinano core is installed system-wide for LuaJIT: cannot hide it")
      return
    end
    assert.matches("ERROR: the core %(vinano%.core%) does not load", text, nil, false, text)
    assert.matches("ADVICE:%s+%- build the core for this Lua: luarocks %-%-lua%-version 5%.1 make", text, nil, false,
      text)
  end)
end)
