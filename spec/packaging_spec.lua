-- The rockspecs are valid and list exactly what the tree has; a source rock
-- packed from this checkout (not from a remote clone) installs into a fresh
-- tree for Lua 5.4 and for 5.1 (LuaJIT's ABI) and loads from outside the
-- checkout; `make install` does the same for the Lua running the specs.
-- Everything is built in temporary folders: the checkout is left as found.
-- Needs luarocks, a C compiler, make, lua5.1 headers (Debian: luarocks,
-- liblua5.1-0-dev) and git (to list the files of the checkout).
local env = require "spec.support.env"
local q = require("spec.support.mock_process").quote

local lua = env.lua

local function run(cmd)
  local out = env.sh("(" .. cmd .. ") 2>&1; echo \"exit=$?\"")
  local code = tonumber(out:match("exit=(%d+)%s*$"))
  return code, out
end


local function lines(cmd)
  local t = {}
  for l in env.sh(cmd):gmatch("[^\n]+") do t[#t + 1] = l end
  table.sort(t)
  return t
end

-- A rockspec's variables, evaluated as LuaRocks does (a sandboxed chunk).
local function load_rockspec(path)
  local text = assert(env.read_file(path), "cannot read " .. path)
  local spec = {}
  local chunk
  if setfenv then
    chunk = assert(loadstring(text, path))
    setfenv(chunk, spec)
  else
    chunk = assert(load(text, path, "t", spec))
  end
  chunk()
  return spec, text
end

local function rockspecs()
  return lines("ls *.rockspec mock/*.rockspec 2>/dev/null")
end

local function has_dependency(spec, name)
  for _, d in ipairs(spec.dependencies or {}) do
    if d == name or d:match("^" .. name:gsub("%p", "%%%0") .. "[%s<>=~]") then return true end
  end
  return false
end

-- The files of this checkout a clone would have, plus new ones not ignored.
local function checkout_files()
  local files = {}
  for _, f in ipairs(lines("git ls-files --cached --others --exclude-standard")) do
    if env.read_file(f) then files[#files + 1] = f end
  end
  return files
end

-- Runs the Lua snippet with interp in a directory outside the checkout, with
-- the paths `luarocks path` gives for tree (and nothing from the checkout).
local CHECK = [[
local tree = assert(os.getenv("ROCK_TREE"))
local function search(name, path)
  name = name:gsub("%.", "/")
  for t in path:gmatch("[^;]+") do
    local f = t:gsub("%?", name)
    local h = io.open(f, "rb")
    if h then h:close(); return f end
  end
end
local vinano = require "vinano"
local lua_file, so_file = search("vinano", package.path), search("vinano.core", package.cpath)
assert(lua_file and lua_file:sub(1, #tree) == tree, "vinano.lua from " .. tostring(lua_file))
assert(so_file and so_file:sub(1, #tree) == tree, "vinano/core.so from " .. tostring(so_file))
local client = vinano.new { token = "x", base_url = "https://127.0.0.1:9" }
assert(package.loaded["vinano.core"], "the core did not load")
require "vinano.async"
client:close()
print("loaded " .. _VERSION .. (rawget(_G, "jit") and " (" .. jit.version .. ")" or "")
  .. " core " .. require("vinano.core").version .. " from " .. so_file)
]]

local function require_outside(dir, abi, tree, interp)
  env.write_file(dir .. "/check.lua", CHECK)
  return run(("cd %s && env -u LUA_PATH -u LUA_CPATH -u LUA_INIT -u LUA_PATH_5_4 -u LUA_CPATH_5_4 ROCK_TREE=%s sh -c "
    .. "%s"):format(q(dir), q(tree),
    q(("eval \"$(luarocks --lua-version %s --tree %s path)\" && %s check.lua"):format(abi, q(tree), interp))))
end

describe("packaging #external #nocore", function()
  local status_before

  setup(function()
    status_before = env.sh("git status --porcelain --ignored --untracked-files=all 2>&1")
  end)

  it("every rockspec passes luarocks lint", function()
    local specs = rockspecs()
    assert.is_true(#specs >= 2, "expected vinano-scm-1 and a versioned rockspec, found: " .. table.concat(specs, " "))
    for _, path in ipairs(specs) do
      local code, out = run("luarocks lint " .. q(path))
      assert.are.equal(0, code, path .. ": " .. out)
    end
  end)

  it("there is an scm rockspec and a versioned one with a source tag, for the core's version", function()
    local scm = load_rockspec("vinano-scm-1.rockspec")
    assert.are.equal("scm-1", scm.version)
    local versioned
    for _, path in ipairs(rockspecs()) do
      local s = load_rockspec(path)
      if s.package == "vinano" and s.version ~= "scm-1" then
        assert.are.equal(("vinano-%s.rockspec"):format(s.version), path)
        versioned = s
      end
    end
    assert(versioned, "no versioned vinano rockspec (vinano-X.Y.Z-N.rockspec)")
    assert.is_string(versioned.source.tag, "the versioned rockspec needs source.tag")
    local core_version = env.read_file("src/core.c"):match('#define%s+VN_VERSION%s+"([^"]+)"')
    if core_version then
      assert.are.equal(versioned.version:match("^(.-)%-%d+$"), core_version,
        "the versioned rockspec and the core (VN_VERSION) disagree")
    end
    -- one build, one list of dependencies: the two differ in version and source only
    assert.are.same(scm.build, versioned.build)
    assert.are.same(scm.dependencies, versioned.dependencies)
    assert.are.same(scm.test, versioned.test)
  end)

  for _, path in ipairs(rockspecs()) do
    it(path .. " lists every Lua module and C source of the tree, and only files that exist", function()
      local spec = load_rockspec(path)
      local base = path:match("^(.*/)") or ""
      local listed_lua, listed_c = {}, {}
      for name, m in pairs(spec.build.modules) do
        if type(m) == "string" then
          listed_lua[#listed_lua + 1] = base .. m
          assert.are.equal("lua/" .. name:gsub("%.", "/") .. ".lua", m)
        else
          for _, src in ipairs(m.sources) do listed_c[#listed_c + 1] = base .. src end
        end
      end
      for _, f in ipairs(listed_lua) do assert(env.read_file(f), path .. " lists " .. f .. ", which does not exist") end
      for _, f in ipairs(listed_c) do assert(env.read_file(f), path .. " lists " .. f .. ", which does not exist") end
      for _, f in pairs(spec.build.install and spec.build.install.bin or {}) do
        assert(env.read_file(base .. f), path .. " installs " .. f .. ", which does not exist")
      end
      table.sort(listed_lua)
      table.sort(listed_c)
      assert.are.same(lines(("find %slua -name '*.lua'"):format(base)), listed_lua)
      assert.are.same(lines(("ls %ssrc/*.c 2>/dev/null"):format(base)), listed_c)
      if spec.package == "vinano" then
        assert.is_true(has_dependency(spec, "lua"), "vinano depends on lua")
        assert.is_true(has_dependency(spec, "lua-cjson"), "vinano needs lua-cjson at run time")
        assert.is_table(spec.external_dependencies.CURL)
        assert.is_table(spec.test, "no test section: `luarocks test` would say there is no test suite")
      elseif spec.package == "vinano-mock" then
        assert.is_true(has_dependency(spec, "luasocket"), "the mock needs luasocket at run time")
      end
    end)
  end

  it("luarocks pack (from this checkout) makes a source rock that installs for Lua 5.4 and 5.1 and loads outside",
    function()
      local dir = env.tmpdir()
      local ok, err = pcall(function()
        local versioned
        for _, path in ipairs(rockspecs()) do
          local s = load_rockspec(path)
          if s.package == "vinano" and s.version ~= "scm-1" then versioned = path end
        end
        local spec, text = load_rockspec(versioned)
        local stem = "vinano-" .. spec.version:match("^(.-)%-%d+$")
        -- the source: this checkout's files (tracked, and new ones not ignored)
        local list = dir .. "/files"
        env.write_file(list, table.concat(checkout_files(), "\n") .. "\n")
        local code, out = run(("mkdir -p %s/%s && tar cf - -T %s | tar xf - -C %s/%s && cd %s && tar czf %s.tar.gz %s")
          :format(q(dir), stem, q(list), q(dir), stem, q(dir), stem, stem))
        assert.are.equal(0, code, out)
        -- the same rockspec with its source pointing there
        local local_text, n = text:gsub("\nsource%s*=%s*%b{}", ("\nsource = { url = %q, dir = %q }")
          :format("file://" .. dir .. "/" .. stem .. ".tar.gz", stem))
        assert.are.equal(1, n, "no source table in " .. versioned)
        env.write_file(dir .. "/" .. versioned, local_text)
        code, out = run(("cd %s && luarocks pack %s"):format(q(dir), q(versioned)))
        assert.are.equal(0, code, out)
        local rock = ("%s/vinano-%s.src.rock"):format(dir, spec.version)
        assert(env.read_file(rock), "no " .. rock .. ":\n" .. out)

        local interps = { ["5.4"] = { "lua5.4" }, ["5.1"] = { "luajit", "lua5.1" } }
        for _, abi in ipairs { "5.4", "5.1" } do
          local tree = dir .. "/tree-" .. abi
          -- lua-cjson comes from Debian's package here: no rock of it to resolve
          code, out = run(("cd %s && luarocks --lua-version %s install --tree %s --deps-mode=none %s"):format(
            q(dir), abi, q(tree), q(rock)))
          assert.are.equal(0, code, out)
          assert(env.read_file(tree .. "/lib/lua/" .. abi .. "/vinano/core.so"), "no core.so in the " .. abi .. " tree")
          for _, interp in ipairs(interps[abi]) do
            if env.sh("command -v " .. interp) ~= "" then
              local code2, out2 = require_outside(dir, abi, tree, interp)
              assert.are.equal(0, code2, interp .. ": " .. out2)
              assert.matches("loaded Lua 5%.%d.- core %d+%.%d+%.%d+ from " .. tree:gsub("%p", "%%%0"), out2)
            end
          end
        end
      end)
      os.execute("rm -rf " .. q(dir))
      if not ok then error(err, 0) end
    end)

  it("make install puts the module where LUA_LIBDIR and LUA_SHAREDIR say, building in a temporary folder", function()
    local dest = env.tmpdir()
    local ok, err = pcall(function()
      local code, out = run(("make -s install LUA=%s BUILD=%s/build LUA_LIBDIR=%s/lib LUA_SHAREDIR=%s/share"
        .. " BINDIR=%s/bin PREFIX=%s/prefix"):format(lua, q(dest), q(dest), q(dest), q(dest), q(dest)))
      assert.are.equal(0, code, out)
      -- the command's man page and completions under PREFIX
      assert.are.equal(env.read_file("doc/vinano.1"), env.read_file(dest .. "/prefix/share/man/man1/vinano.1"))
      assert.are.equal(env.read_file("completions/vinano.bash"),
        env.read_file(dest .. "/prefix/share/bash-completion/completions/vinano"))
      assert.are.equal(env.read_file("completions/_vinano"),
        env.read_file(dest .. "/prefix/share/zsh/site-functions/_vinano"))
      assert.is_truthy(env.read_file(dest .. "/lib/vinano/core.so"))
      assert.is_truthy(env.read_file(dest .. "/share/vinano/client.lua"))
      assert.is_truthy(env.read_file(dest .. "/share/vinano/host/luv.lua"))
      assert.matches("^#!/usr/bin/env " .. lua .. "\n", env.read_file(dest .. "/bin/vinano"))
      -- the mock is its own product (mock/, make install-mock)
      assert.is_nil(env.read_file(dest .. "/share/vinano/mock.lua"))
      assert.is_nil(env.read_file(dest .. "/bin/vinano-mock"))
      local abi = lua == "luajit" and "5.1" or lua:match("^lua(%d%.%d)$")
      env.write_file(dest .. "/check.lua", CHECK)
      local code2, out2 = run(("cd %s && env -u LUA_INIT ROCK_TREE=%s LUA_PATH=%s LUA_CPATH=%s %s check.lua")
        :format(q(dest), q(dest), q(dest .. "/share/?.lua;;"), q(dest .. "/lib/?.so;;"), lua))
      assert.are.equal(0, code2, out2)
      assert.is_string(abi)
    end)
    os.execute("rm -rf " .. q(dest))
    if not ok then error(err, 0) end
  end)

  it("leaves the checkout as it found it (git status, ignored files included)", function()
    assert.are.equal(status_before, env.sh("git status --porcelain --ignored --untracked-files=all 2>&1"))
  end)
end)
