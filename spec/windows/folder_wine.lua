-- The folder itself: what the interpreter loads comes from the copy of
-- build/windows/<lua>/ that runs, outside the checkout, and the libcurl in
-- it is the Schannel build.
local test, S = ...
local vinano = require "vinano"
local core = require "vinano.core"

local function search(name, path)
  name = name:gsub("%.", "\\")
  for template in path:gmatch("[^;]+") do
    local f = template:gsub("%?", name)
    local h = io.open(f, "rb")
    if h then h:close(); return f end
  end
end

local function inside(dir, path)
  local d, p = dir:lower():gsub("/", "\\"), path:lower():gsub("/", "\\")
  return p:sub(1, #d + 1) == d .. "\\"
end

test("vinano, vinano.core and cjson load from the folder, with the interpreter's own paths", function()
  S.eq(nil, os.getenv("LUA_PATH"), "LUA_PATH")
  S.eq(nil, os.getenv("LUA_CPATH"), "LUA_CPATH")
  for _, m in ipairs { { "vinano", package.path }, { "vinano.client", package.path },
    { "vinano.core", package.cpath }, { "cjson", package.cpath } } do
    local f = search(m[1], m[2])
    assert(f and inside(S.folder, f), m[1] .. " found at " .. tostring(f) .. ", not in " .. S.folder)
  end
  assert(package.loaded["vinano.core"] == core and type(vinano.new) == "function")
  local checkout = assert(os.getenv("VINANO_CHECKOUT"))
  for _, p in ipairs { package.path, package.cpath } do
    for template in p:gmatch("[^;]+") do
      assert(not inside(checkout, template), "a search path inside the checkout: " .. template)
    end
  end
end)

test("the core runs on the folder's libcurl: 7.88.1 with Schannel, http and https only, no HTTP/2", function()
  local info = core.curl()
  S.eq("7.88.1", info.version, "libcurl version")
  S.matches("^Schannel", info.ssl, "TLS backend")
  S.eq(false, info.http2, "HTTP/2")
  table.sort(info.protocols)
  S.eq("http https", table.concat(info.protocols, " "), "protocols")
end)

test("generates against the mock from a working folder outside the checkout", function()
  local p = assert(io.popen("cd"))
  local cwd = p:read("*l"):gsub("\r$", "")
  p:close()
  assert(not inside(assert(os.getenv("VINANO_CHECKOUT")), cwd .. "\\x"), "running inside the checkout: " .. cwd)
  local res, err = S.client():generate { prompt = "a windmill from the folder" }
  assert(res, tostring(err))
  S.matches("^" .. S.mock_url:gsub("%p", "%%%0") .. "/images/.+%.png$", res.images[1], "image URL")
  local log = S.api_requests()
  S.eq(1, #log, "requests")
  S.eq("a windmill from the folder", log[1].parts[1].value, "prompt on the wire")
end)
