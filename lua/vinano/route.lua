-- Where the token may go.  Every decision is made on libcurl's own parse of
-- the URL (core.parse_url, libcurl's CURLU), never on a pattern, so that
-- what is checked is what libcurl will connect to:
--   * base_url has an explicit http:// or https:// scheme and no user:password@;
--   * plain http carries the token only to loopback, and only directly or
--     through a loopback proxy (allow_http = true lifts both);
--   * a download or fetch carries the token only to base_url's own origin;
--   * the proxy is decided here, from the option or from the environment
--     variables libcurl would read, and handed to libcurl explicitly, so the
--     environment cannot change the route behind this check.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local M = {}

local DEFAULT_PORT = { http = 80, https = 443 }

--- Whether a host name is this machine.
---@param host string lower-case, without brackets
---@return boolean
function M.is_loopback(host)
  return host == "localhost" or host == "::1" or host == "[::1]" or host:match("^127%.%d+%.%d+%.%d+$") ~= nil
end

--- base_url checked and split, or nil and why it is unusable.
---@param parse_url fun(url: string): table|nil, string|nil
---@param url string
---@return {url: string, scheme: string, host: string, port: integer, path: string}|nil
---@return string|nil why
function M.base(parse_url, url)
  if url == "" then return nil, "empty" end
  if url:find("[%z\r\n%s]") then return nil, "contains a space, a line break or NUL" end
  if not url:lower():find("^https?://") then return nil, "needs an explicit https:// or http:// scheme" end
  local u, why = parse_url(url)
  if not u then return nil, why or "not a URL" end
  if u.scheme ~= "http" and u.scheme ~= "https" then return nil, "needs an explicit https:// or http:// scheme" end
  if u.user or u.password then return nil, "must not contain user:password@ (the token is the credential)" end
  if not u.host or u.host == "" then return nil, "has no host" end
  if u.query or u.fragment then return nil, "must not contain a query or a fragment" end
  local path = (u.path or "/"):gsub("/+$", "")
  local port = u.port or DEFAULT_PORT[u.scheme]
  local authority = u.host:find(":", 1, true) and ("[" .. u.host .. "]") or u.host
  if u.port and u.port ~= DEFAULT_PORT[u.scheme] then authority = authority .. ":" .. u.port end
  return { url = u.scheme .. "://" .. authority .. path, scheme = u.scheme, host = u.host, port = port, path = path }
end


-- An IPv4 address as inet_pton(AF_INET) reads it: four decimal parts of
-- 0..255, no leading zero; its 32 bits, or nil.
local function ipv4(s)
  local a, b, c, d = s:match("^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$")
  if not a then return nil end
  local n = 0
  for _, part in ipairs { a, b, c, d } do
    if #part > 1 and part:sub(1, 1) == "0" then return nil end
    local v = tonumber(part)
    if v > 255 then return nil end
    n = n * 256 + v
  end
  return n
end

-- C's atoi on what follows a "/": optional sign, then digits (0 without).
local function atoi(s)
  local sign, digits = s:match("^([+-]?)(%d*)")
  local v = tonumber(digits) or 0
  return sign == "-" and -v or v
end

-- One NO_PROXY entry against an IPv4 host: the address, or a CIDR range.
local function ipv4_entry(addr, entry)
  if #entry >= 128 then return false end
  local net, bits = entry, 0
  local slash = entry:find("/", 1, true)
  if slash then net, bits = entry:sub(1, slash - 1), atoi(entry:sub(slash + 1)) end
  if bits < 0 or bits > 32 then return false end -- atoi's negatives are huge unsigned
  local check = ipv4(net)
  if not check then return false end
  if bits == 0 or bits == 32 then return addr == check end
  local size = 2 ^ (32 - bits)
  return math.floor(addr / size) == math.floor(check / size)
end

-- One NO_PROXY entry against a host name: the name, or a domain it ends in.
local function host_entry(name, entry)
  entry = entry:gsub("%.$", ""):gsub("^%.", "")
  if #entry == #name then return entry == name end
  return #entry < #name and name:sub(-#entry - 1) == "." .. entry
end

--- Whether NO_PROXY exempts host from the proxy, exactly as libcurl 7.88
--- decides it (lib/noproxy.c, Curl_check_noproxy): "*" only as the whole
--- value; entries separated by commas (or blanks, which libcurl still
--- takes); an IPv4 host only by its address or a CIDR range, never by a
--- suffix; any other host (an IPv6 literal too: libcurl checks it without
--- its brackets) by its name or a domain it ends in, a leading or trailing
--- dot ignored, letters in any case.
---@param no_proxy string|nil
---@param host string as core.parse_url gives it
---@return boolean
function M.no_proxy_exempts(no_proxy, host)
  if not no_proxy or no_proxy == "" or host == "" then return false end
  if no_proxy == "*" then return true end
  local name = host:lower():gsub("^%[(.*)%]$", "%1")
  local addr = ipv4(name)
  if not addr then name = name:gsub("%.$", "") end
  for entry in no_proxy:gmatch("[^, \t]+") do
    entry = entry:lower()
    if addr then
      if ipv4_entry(addr, entry) then return true end
    elseif host_entry(name, entry) then
      return true
    end
  end
  return false
end

-- An environment variable as libcurl's curl_getenv reads it: empty is unset.
local function env(getenv, name)
  local v = getenv(name)
  if v == "" then return nil end
  return v
end

local function env_proxy(getenv, scheme)
  -- libcurl reads http_proxy in lower case only (HTTP_PROXY is a CGI hazard)
  local names = scheme == "https" and { "https_proxy", "HTTPS_PROXY" } or { "http_proxy" }
  names[#names + 1] = "all_proxy"
  names[#names + 1] = "ALL_PROXY"
  for _, n in ipairs(names) do
    local v = env(getenv, n)
    if v then return v, n end
  end
  return nil
end

--- The proxy to use for the base URL and the NO_PROXY list, from the
--- option or the environment; and an error message when a plain-http
--- request with the token would pass through a proxy off this machine.
---@param parse_url fun(url: string): table|nil, string|nil
---@param opts {proxy?: string, allow_http?: boolean}
---@param base table from M.base
---@param getenv fun(name: string): string|nil
---@return string|nil proxy
---@return string|nil no_proxy
---@return string|nil refusal why plain http would leave the machine
function M.proxy(parse_url, opts, base, getenv)
  local proxy, source = opts.proxy, "proxy"
  local no_proxy = env(getenv, "no_proxy") or env(getenv, "NO_PROXY")
  if proxy == nil then
    proxy, source = env_proxy(getenv, base.scheme)
  elseif proxy == "" then
    proxy = nil
  end
  if not proxy then return nil, no_proxy, nil end
  if base.scheme ~= "http" or opts.allow_http or (source ~= "proxy" and M.no_proxy_exempts(no_proxy, base.host)) then
    return proxy, no_proxy, nil
  end
  local p = parse_url(proxy:find("://", 1, true) and proxy or ("http://" .. proxy))
  if p and p.host and M.is_loopback(p.host) then return proxy, no_proxy, nil end
  return proxy, no_proxy, ("base_url: plain http would carry the token through the proxy %s (from %s), off this"
    .. " machine; use https, a loopback proxy, or allow_http = true"):format(p and p.host or "?", source)
end

--- Whether the token may go with a request to url: the same scheme, host
--- and port as base_url, under its path.
---@param parse_url fun(url: string): table|nil, string|nil
---@param base table from M.base
---@param url string
---@return boolean
function M.same_origin(parse_url, base, url)
  local u = parse_url(url)
  if not u or u.user or u.password then return false end
  if u.scheme ~= base.scheme or u.host ~= base.host then return false end
  if (u.port or DEFAULT_PORT[u.scheme]) ~= base.port then return false end
  local path = u.path or "/"
  return base.path == "" or path == base.path or path:sub(1, #base.path + 1) == base.path .. "/"
end

--- A URL a download or fetch may use: http or https, parsed by libcurl.
--- Returns true, or nil and a message.
---@param parse_url fun(url: string): table|nil, string|nil
---@param url string
---@return true|nil ok
---@return string|nil why
function M.check_url(parse_url, url)
  if url == "" then return nil, "empty URL" end
  if url:find("[%z\r\n]") then return nil, "the URL contains a line break or NUL" end
  local u, why = parse_url(url)
  if not u then return nil, ("not a URL libcurl can use (%s)"):format(why or "malformed") end
  if u.scheme ~= "http" and u.scheme ~= "https" then
    return nil, ("only http and https URLs are fetched, not %s"):format(tostring(u.scheme))
  end
  if not u.host or u.host == "" then return nil, "the URL has no host" end
  return true
end

return M
