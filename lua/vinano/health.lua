-- :checkhealth vinano (Neovim): does the core load (and which build), which
-- libcurl with which TLS backend and HTTP/2 or not, is a token set (never its
-- value), which driver vinano.async runs on, and for anything wrong one line
-- of advice.  `health.facts()` gathers the same report as plain data, so
-- that it can be read outside Neovim too.
local M = {}

local LUAJIT_BUILD = "luarocks --lua-version 5.1 make --deps-mode=none vinano-scm-1.rockspec"
  .. " (or `make LUA=luajit`), then put its folder on package.cpath"

-- The first file path would resolve name to (package.searchpath, also on 5.1).
local function search(name, path)
  name = name:gsub("%.", "/")
  for template in path:gmatch("[^;]+") do
    local file = template:gsub("%?", name)
    local f = io.open(file, "rb")
    if f then
      f:close()
      return file
    end
  end
  return nil
end

local function getenv(name)
  local vim = rawget(_G, "vim")
  local v = vim and vim.env and vim.env[name]
  if v == nil or v == vim.NIL then v = os.getenv(name) end
  if v == "" then return nil end
  return v
end

-- "8.5.0" -> 0x080500
local function version_num(s)
  local a, b, c = tostring(s or ""):match("(%d+)%.(%d+)%.?(%d*)")
  if not a then return nil end
  return tonumber(a) * 65536 + tonumber(b) * 256 + (tonumber(c) or 0)
end

-- libcurl's facts: core.curl() from curl_version_info (the new core), or
-- parsed from the core.curl_version string (the current one).
local function curl_info(core)
  if type(core.curl) == "function" then
    local ok, info = pcall(core.curl)
    if ok and type(info) == "table" then
      return {
        version = info.version, ssl = info.ssl, http2 = info.http2 == true, http3 = info.http3 == true,
        version_num = info.version_num or version_num(info.version),
      }
    end
  end
  local s = type(core.curl_version) == "string" and core.curl_version
    or (type(core.curl_version) == "function" and select(2, pcall(core.curl_version)))
  if type(s) ~= "string" then return nil end
  local version = s:match("libcurl/([%w%.%-]+)")
  local ssl
  for _, tls in ipairs { "OpenSSL", "BoringSSL", "LibreSSL", "GnuTLS", "NSS", "mbedTLS", "wolfSSL",
    "Schannel", "SecureTransport", "rustls", "BearSSL", "AWS%-LC", "quictls" } do
    local v = s:match("(" .. tls .. "/[%w%.%-]+)") or (s:find(tls, 1, false) and tls:gsub("%%", ""))
    if v then
      ssl = v
      break
    end
  end
  return {
    version = version, ssl = ssl, http2 = s:find("nghttp2/", 1, true) ~= nil,
    http3 = s:find("ngtcp2/", 1, true) ~= nil or s:find("quiche/", 1, true) ~= nil,
    version_num = version_num(version),
  }
end

-- The driver vinano.async runs on: async.driver() (a name or a table with
-- .name) where that exists, else what the module shows, else unknown.
local function driver_name(async)
  local d = rawget(async, "driver")
  if d == nil then return nil end -- this vinano.async cannot say
  if type(d) == "function" then
    local ok, v = pcall(d)
    if not ok then return nil end
    d = v
  end
  if type(d) == "table" then d = d.name end
  if d == nil or d == false then return false end
  return tostring(d)
end

---@alias vinano.HealthLevel "ok"|"info"|"warn"|"error"

---@class vinano.HealthItem
---@field level vinano.HealthLevel
---@field message string
---@field advice string? one line: what to do about it

---@class vinano.HealthSection
---@field name string
---@field items vinano.HealthItem[]

--- The report as data: a list of sections, each a list of items.  Never
--- includes the token, only whether one is set.
---@return vinano.HealthSection[]
function M.facts()
  local sections = {}
  local items
  local function section(name)
    items = {}
    sections[#sections + 1] = { name = name, items = items }
  end
  local function add(level, message, advice)
    items[#items + 1] = { level = level, message = message, advice = advice }
  end

  section("vinano: the C core")
  local jit = rawget(_G, "jit")
  add("info", "Lua: " .. _VERSION .. (jit and (" (" .. jit.version .. ")") or ""))
  local ok, core = pcall(require, "vinano.core")
  if not ok then
    local msg = tostring(core)
    local advice = "build the core for this Lua: " .. LUAJIT_BUILD
    if msg:find("undefined symbol: lua_", 1, true) then
      advice = "this core.so was built for another Lua (5.4?): Neovim runs LuaJIT, build it with "
        .. LUAJIT_BUILD
    elseif msg:find("libcurl", 1, true) then
      advice = "libcurl is missing: apt-get install libcurl4 (or your system's libcurl)"
    end
    add("error", "the core (vinano.core) does not load: " .. msg:gsub("\n.*", ""), advice)
    core = nil
  else
    local where = search("vinano.core", package.cpath) or "(preloaded)"
    local build = rawget(core, "build")
    add("ok", ("core %s loaded from %s%s"):format(tostring(core.version), where,
      type(build) == "string" and (" (build " .. build .. ")") or ""))
  end
  local cjson_ok = pcall(require, "cjson")
  if cjson_ok then
    add("ok", "lua-cjson loads")
  else
    add("error", "lua-cjson does not load for this Lua",
      "apt-get install lua-cjson, or luarocks --lua-version 5.1 install lua-cjson")
  end

  section("vinano: libcurl")
  local curl = core and curl_info(core)
  if not core then
    add("warn", "unknown: the core does not load", "fix the core first (above)")
  elseif not curl then
    add("warn", "the core reports no libcurl version", "update vinano")
  else
    add("ok", "libcurl " .. tostring(curl.version))
    if curl.ssl then
      add("ok", "TLS backend: " .. tostring(curl.ssl))
    else
      add("error", "libcurl has no TLS backend: https (the API) cannot work",
        "use a libcurl built with TLS (Debian: libcurl4, libcurl4-openssl-dev to build)")
    end
    if curl.http2 then
      add("ok", "HTTP/2: yes (concurrent requests share one connection)")
    else
      add("warn", "HTTP/2: no (HTTP/1.1 only: concurrent requests open one connection each)",
        "use a libcurl built with nghttp2 (Debian's is)")
    end
    if curl.version_num and curl.version_num < 0x080100 then
      add("info", "libcurl older than 8.1: each call takes a fresh easy handle (curl/curl#11101)")
    end
  end

  section("vinano: configuration")
  if getenv("VINANO_API_TOKEN") then
    add("ok", "VINANO_API_TOKEN is set")
  else
    add("warn", "VINANO_API_TOKEN is not set",
      "export VINANO_API_TOKEN=... before starting Neovim, or pass token= to vinano.new")
  end
  local base = getenv("VINANO_BASE_URL")
  if base then
    -- a URL may carry user:password@: never shown
    add("info", "VINANO_BASE_URL: " .. base:gsub("^(%a[%w+.-]*://)[^/@]*@", "%1<credentials>@"))
  end

  section("vinano: vinano.async driver")
  local aok, async = pcall(require, "vinano.async")
  if not aok then
    add("error", "vinano.async does not load: " .. tostring(async):gsub("\n.*", ""), "fix the core first (above)")
  else
    local name = driver_name(async)
    if name then
      add("ok", "driver: " .. name)
    elseif name == false then
      add("warn", "no driver installed: tasks started with spawn or the _cb methods will not move",
        "call require('vinano.async').luv(vim.uv or vim.loop) once, e.g. in your plugin's setup()")
    else
      add("info", "driver: this vinano.async does not say which (no async.driver())")
    end
  end
  return sections
end

-- The reporting functions of this Neovim: vim.health.* (0.9+) or the older
-- require("health").report_*.
local function reporter()
  local vim = rawget(_G, "vim")
  local h = vim and vim.health
  if not (h and (h.start or h.report_start)) then h = require "health" end
  return {
    start = h.start or h.report_start,
    ok = h.ok or h.report_ok,
    info = h.info or h.report_info,
    warn = h.warn or h.report_warn,
    error = h.error or h.report_error,
  }
end

--- Runs the report for `:checkhealth vinano`.
---@return nil
function M.check()
  local r = reporter()
  for _, s in ipairs(M.facts()) do
    r.start(s.name)
    for _, item in ipairs(s.items) do
      if item.advice and (item.level == "warn" or item.level == "error") then
        r[item.level](item.message, { item.advice })
      elseif item.advice then
        r[item.level](item.message .. " (" .. item.advice .. ")")
      else
        r[item.level](item.message)
      end
    end
  end
end

return M
