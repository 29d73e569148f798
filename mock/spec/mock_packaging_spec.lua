-- The vinano-mock rock and `make install-mock` ship every module of the
-- mock and its command, and an installed vinano-mock starts (LuaSocket and
-- lua-cjson are its only dependencies; it never loads the client).
-- (Self-contained: no helper that loads the client.)
local env = {}
function env.sh(cmd)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("*a")
  p:close()
  return out
end
function env.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end
function env.tmpdir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
  return dir
end

local lua = os.getenv("VINANO_LUA") or "lua5.4"
local abi = lua == "luajit" and "5.1" or lua:match("^lua(%d%.%d)$")

local function run(cmd)
  local out = env.sh("(" .. cmd .. ") 2>&1; echo \"exit=$?\"")
  local code = tonumber(out:match("exit=(%d+)%s*$"))
  return code, out
end

local function load_rockspec(path)
  local f = assert(io.open(path))
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

-- Starts the installed command with only the install tree (and the stock
-- paths, for LuaSocket and cjson) on the path; returns its first line.
local function starts(bin, share)
  return run(("LUA_PATH='%s/?.lua;;' LUA_CPATH=';;' timeout 10 %s --port 0 --lifetime 0.5 --quiet"):format(share, bin))
end

describe("the vinano-mock rock", function()
  it("lists every module of mock/lua, its command and its dependencies", function()
    local spec = load_rockspec("mock/vinano-mock-scm-1.rockspec")
    assert.are.equal("vinano-mock", spec.package)
    local listed = {}
    for name, m in pairs(spec.build.modules) do
      assert.are.equal("lua/" .. name:gsub("%.", "/") .. ".lua", m)
      listed[#listed + 1] = "mock/" .. m
    end
    table.sort(listed)
    assert.are.same(lines("find mock/lua -name '*.lua'"), listed)
    assert.are.same({ ["vinano-mock"] = "bin/vinano-mock" }, spec.build.install.bin)
    local deps = {}
    for _, d in ipairs(spec.dependencies) do deps[#deps + 1] = d:match("^(%S+)") end
    assert.are.same({ "lua", "luasocket", "lua-cjson" }, deps)
  end)

  it("uses nothing but LuaSocket, cjson and its own modules", function()
    local required = lines("grep -rhoE 'require[ (]*\"[^\"]+\"' mock/lua mock/bin | grep -oE '\"[^\"]+\"' | sort -u")
    for _, r in ipairs(required) do
      local name = r:sub(2, -2)
      assert.is_truthy(name == "socket" or name == "cjson" or name == "vinano.mock"
        or name:match("^vinano%.mock%."), "the mock requires " .. name)
    end
  end)

  it("luarocks make installs a tree whose vinano-mock starts", function()
    local tree = env.tmpdir()
    local code, out = run(("cd mock && luarocks --lua-version=%s make --deps-mode=none --tree=%s "
      .. "vinano-mock-scm-1.rockspec"):format(abi, tree))
    assert.are.equal(0, code, out)
    local share = tree .. "/share/lua/" .. abi
    assert.is_truthy(env.read_file(share .. "/vinano/mock/http.lua"))
    local code2, out2 = starts(tree .. "/bin/vinano-mock", share)
    assert.are.equal(0, code2, out2)
    assert.matches("vinano%-mock listening on http://127%.0%.0%.1:%d+ pid=%d+", out2)
    os.execute("rm -rf " .. tree)
  end)

  it("make install-mock installs the modules and a vinano-mock that starts", function()
    local dest = env.tmpdir()
    local code, out = run(("make -s install-mock LUA=%s LUA_SHAREDIR=%s/share BINDIR=%s/bin"):format(lua, dest, dest))
    assert.are.equal(0, code, out)
    assert.is_truthy(env.read_file(dest .. "/share/vinano/mock/requestlog.lua"))
    assert.is_nil(env.read_file(dest .. "/share/vinano/client.lua"))
    assert.are.equal("#!/usr/bin/env " .. lua, env.read_file(dest .. "/bin/vinano-mock"):match("^[^\n]*"))
    local code2, out2 = starts(dest .. "/bin/vinano-mock", dest .. "/share")
    assert.are.equal(0, code2, out2)
    assert.matches("vinano%-mock listening on http://127%.0%.0%.1:%d+ pid=%d+", out2)
    os.execute("rm -rf " .. dest)
  end)
end)
