-- Neovim with vinano installed, not checked out: from a fresh rock tree
-- (`luarocks --lua-version 5.1 make`, as doc/vinano.txt's install section
-- says) and from `make install LUA=luajit`, with the one runtimepath line the
-- section documents, :checkhealth vinano runs the installed health module,
-- :help vinano opens the installed doc, and a call refused by the server
-- reaches a callback that may call vim.notify, with nothing on the screen
-- but the notification (no "EBADF", no E5560).
-- Needs nvim, luarocks, lua5.1 headers (Debian: neovim, luarocks,
-- liblua5.1-0-dev) and the LuaJIT build of the core for make install.
local cjson = require "cjson"
local env = require "spec.support.env"
local q = require("spec.support.mock_process").quote

-- doc/vinano.txt's line, word for word (the spec reads it from there)
local RTP_LINE = 'vim.opt.runtimepath:append(vim.fn.fnamemodify(package.searchpath("vinano", package.path), ":h")'
  .. ' .. "/vinano/nvim")'

local function root() return (env.sh("pwd"):gsub("%s+$", "")) end

-- Runs spec/nvim/installed.lua in headless Neovim with vinano found through
-- lua_path/lua_cpath only (as `eval "$(luarocks path)"` sets them).
local function run_nvim(dir, lua_path, lua_cpath)
  local report = dir .. "/report.json"
  local cmd = table.concat({
    "cd", q(dir), "&&",
    "env -u LUA_INIT -u VINANO_BASE_URL -u VINANO_API_TOKEN",
    "LUA_PATH=" .. q(lua_path), "LUA_CPATH=" .. q(lua_cpath),
    "VINANO_NVIM_REPORT=" .. q(report),
    "VINANO_NVIM_REFUSED=" .. q(("http://127.0.0.1:%d"):format(env.free_port())),
    "timeout 60 nvim --headless -u NONE -i NONE",
    "--cmd", q("lua " .. RTP_LINE),
    "-c", q("luafile " .. root() .. "/spec/nvim/installed.lua"),
    "</dev/null 2>&1",
  }, " ")
  local printed = env.sh(cmd)
  local text = env.read_file(report)
  assert(text, "Neovim wrote no report; it printed:\n" .. printed)
  return cjson.decode(text), printed
end

local function check(r, printed, share)
  local diag = "\nNeovim printed:\n" .. printed .. "\nreport: " .. cjson.encode(r)
  assert.is_nil(r.error, diag)
  assert.are.equal(share .. "/vinano.lua", r.vinano_from, diag)
  -- :checkhealth found the installed health module and it ran
  assert.is_nil(r.health:find("No healthcheck found", 1, true), diag)
  assert.matches("## vinano: the C core", r.health, 1, true)
  assert.matches("OK: core %d+%.%d+%.%d+ loaded from ", r.health, nil, false, diag)
  assert.matches("OK: lua%-cjson loads", r.health, nil, false, diag)
  -- :help vinano opened the installed doc at its tag
  assert.is_nil(r.help_error, diag)
  assert.are.equal(share .. "/vinano/nvim/doc/vinano.txt", r.help_file, diag)
  assert.matches("%*vinano%*", r.help_line, nil, false, diag)
  -- the refused call: an error for the callback, which could notify
  assert.is_false(r.result, diag)
  assert.are.equal("network", r.kind, diag)
  assert.are.equal(3, r.attempts, diag)
  assert.is_nil(r.notify_error, diag)
  assert.is_nil(printed:find("EBADF", 1, true), diag)
  assert.is_nil(printed:find("E5560", 1, true), diag)
end

describe("Neovim with vinano installed #host #external", function()
  setup(function()
    local found = os.execute("command -v nvim >/dev/null 2>&1")
    assert(found == true or found == 0, "nvim is not installed: this spec needs Neovim (apt-get install neovim)")
  end)

  it("the install section documents the runtimepath line this spec adds", function()
    local doc = assert(env.read_file("doc/vinano.txt"))
    local flat = doc:gsub("%s+", " ")
    assert(flat:find(RTP_LINE:gsub("%s+", " "), 1, true), "doc/vinano.txt lacks the line: " .. RTP_LINE)
  end)

  it("from a fresh rock tree: :checkhealth vinano, :help vinano, a refused call notified", function()
    local dir = env.tmpdir()
    local ok, err = pcall(function()
      local tree, copy = dir .. "/tree", dir .. "/checkout"
      -- built in a copy: luarocks make compiles beside the sources
      local out = env.sh(("mkdir -p %s && cp -R lua src doc bin completions vinano-scm-1.rockspec %s && cd %s &&"
        .. " luarocks --lua-version 5.1 make --deps-mode=none --tree %s vinano-scm-1.rockspec 2>&1; echo exit=$?")
        :format(q(copy), q(copy), q(copy), q(tree)))
      assert.matches("exit=0", out)
      local share = tree .. "/share/lua/5.1"
      local r, printed = run_nvim(dir, share .. "/?.lua;" .. share .. "/?/init.lua;;", tree .. "/lib/lua/5.1/?.so;;")
      check(r, printed, share)
      assert.matches("loaded from " .. (tree .. "/lib/lua/5.1/vinano/core.so"):gsub("%p", "%%%0"), r.health)
    end)
    os.execute("rm -rf " .. q(dir))
    if not ok then error(err, 0) end
  end)

  it("from make install LUA=luajit: the same", function()
    local dir = env.tmpdir()
    local ok, err = pcall(function()
      local prefix = dir .. "/prefix"
      local out = env.sh(("make -s install LUA=luajit PREFIX=%s 2>&1; echo exit=$?"):format(q(prefix)))
      assert.matches("exit=0", out)
      local share = prefix .. "/share/lua/5.1"
      local r, printed = run_nvim(dir, share .. "/?.lua;" .. share .. "/?/init.lua;;",
        prefix .. "/lib/lua/5.1/?.so;;")
      check(r, printed, share)
      assert.matches("loaded from " .. (prefix .. "/lib/lua/5.1/vinano/core.so"):gsub("%p", "%%%0"), r.health)
    end)
    os.execute("rm -rf " .. q(dir))
    if not ok then error(err, 0) end
  end)
end)
