-- `luarocks test` (the rockspecs' test section) runs this with the Lua
-- LuaRocks was asked for (--lua-version): it builds the core for that Lua
-- with make, then runs the specs `make check-core` runs, on that Lua only.
--   luarocks --lua-version 5.4 test vinano-scm-1.rockspec
--   luarocks --lua-version 5.1 test vinano-scm-1.rockspec   (LuaJIT's ABI: runs under luajit when present)
local lua = rawget(_G, "jit") and "luajit" or "lua" .. _VERSION:match("%d+%.%d+")
if lua == "lua5.1" and os.execute("command -v luajit >/dev/null 2>&1") == 0 then lua = "luajit" end
local function sh(cmd)
  print("luarocks test: " .. cmd)
  local r = os.execute(cmd)
  return r == true or r == 0
end
-- extra arguments (luarocks test ... -- ARGS) go to make: e.g. LUAS="lua5.4 luajit"
local extra = {}
for i = 1, #arg do extra[#extra + 1] = "'" .. arg[i]:gsub("'", "'\\''") .. "'" end
os.exit(sh("make --no-print-directory check-core LUAS=" .. lua .. " " .. table.concat(extra, " ")) and 0 or 1)
