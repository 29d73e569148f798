-- The client's rockspec and `make install` ship every client module (and not
-- the mock, which is its own rock: mock/spec/mock_packaging_spec.lua), and
-- what they install loads.  Runs for the Lua the specs run under (VINANO_LUA).
local env = require "spec.support.env"

local lua = env.lua
local abi = lua == "luajit" and "5.1" or lua:match("^lua(%d%.%d)$")

local function run(cmd)
  local out = env.sh("(" .. cmd .. ") 2>&1; echo \"exit=$?\"")
  local code = tonumber(out:match("exit=(%d+)%s*$"))
  return code, out
end

local function load_rockspec()
  local f = assert(io.open("vinano-scm-1.rockspec"))
  local text = f:read("*a")
  f:close()
  local spec = {}
  local chunk
  if setfenv then
    chunk = assert(loadstring(text))
    setfenv(chunk, spec)
  else
    chunk = assert(load(text, "rockspec", "t", spec))
  end
  chunk()
  return spec
end

local function lines(cmd)
  local t = {}
  for l in env.sh(cmd):gmatch("[^\n]+") do t[#t + 1] = l end
  table.sort(t)
  return t
end

local function loads_from(tree_share, tree_lib)
  return run(("LUA_PATH='%s/?.lua;;' LUA_CPATH='%s/?.so;;' %s -e "
    .. "'local v = require \"vinano\"; assert(package.searchpath and "
    .. "package.searchpath(\"vinano.core\", package.cpath):find(\"%s\", 1, true) or true); "
    .. "print(\"version=\" .. v.version); require \"vinano.async\"'"):format(
    tree_share, tree_lib, lua, tree_lib))
end

describe("packaging", function()
  it("the rockspec lists every Lua module and C source", function()
    local spec = load_rockspec()
    local listed_lua, listed_c = {}, {}
    for name, m in pairs(spec.build.modules) do
      if type(m) == "string" then
        listed_lua[#listed_lua + 1] = m
        assert.are.equal("lua/" .. name:gsub("%.", "/") .. ".lua", m)
      else
        assert.are.equal("vinano.core", name)
        for _, src in ipairs(m.sources) do listed_c[#listed_c + 1] = src end
      end
    end
    table.sort(listed_lua)
    table.sort(listed_c)
    assert.are.same(lines("find lua -name '*.lua'"), listed_lua)
    assert.are.same(lines("ls src/*.c"), listed_c)
    assert.are.same({ "lua-cjson" }, { spec.dependencies[2] })
    assert.is_table(spec.external_dependencies.CURL)
  end)

  it("luarocks make builds and installs a tree that loads", function()
    local tree = env.tmpdir()
    local code, out = run(("luarocks --lua-version=%s make --deps-mode=none --tree=%s vinano-scm-1.rockspec"):format(
      abi, tree))
    assert.are.equal(0, code, out)
    local code2, out2 = loads_from(tree .. "/share/lua/" .. abi, tree .. "/lib/lua/" .. abi)
    assert.are.equal(0, code2, out2)
    assert.matches("version=%d+%.%d+%.%d+", out2)
    assert.is_nil(env.read_file(tree .. "/share/lua/" .. abi .. "/vinano/mock.lua"))
    assert.is_nil(env.read_file(tree .. "/bin/vinano-mock"))
    os.execute("rm -rf " .. tree .. " build/luarocks")
  end)

  it("make install puts the module where LUA_LIBDIR and LUA_SHAREDIR say", function()
    local dest = env.tmpdir()
    local code, out = run(("make -s install LUA=%s LUA_LIBDIR=%s/lib LUA_SHAREDIR=%s/share"):format(lua, dest, dest))
    assert.are.equal(0, code, out)
    assert.is_truthy(env.read_file(dest .. "/lib/vinano/core.so"))
    assert.is_truthy(env.read_file(dest .. "/share/vinano/ratelimit.lua"))
    assert.is_nil(env.read_file(dest .. "/share/vinano/mock.lua"))
    assert.is_nil(env.read_file(dest .. "/share/vinano/mock/http.lua"))
    local code2, out2 = loads_from(dest .. "/share", dest .. "/lib")
    assert.are.equal(0, code2, out2)
    os.execute("rm -rf " .. dest)
  end)
end)
