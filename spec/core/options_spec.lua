-- core.new's options and c:start's spec: misuse raises, naming what is wrong.
local S = require "spec.core.support"
local core = S.core

local function raises(pattern, fn)
  local ok, err = pcall(fn)
  assert.is_false(ok, "expected an error matching " .. pattern)
  assert.matches(pattern, tostring(err))
end

describe("core.new options", function()
  -- a client that raised while reading its options is collected with a
  -- pool never initialised: its cleanup must close no descriptor it does
  -- not own (a zeroed pollset field is fd 0, the process's stdin)
  it("a raising core.new closes none of the process's descriptors when collected", function()
    local f = assert(io.open("/proc/self/stat"))
    local pid = f:read("*l"):match("^(%d+)")
    f:close()
    -- what each of fds 0-2 is (a closed one would be reused by the next
    -- open, so it is compared, not just looked for)
    local function targets()
      return S.sh(("readlink /proc/%s/fd/0 /proc/%s/fd/1 /proc/%s/fd/2"):format(pid, pid, pid))
    end
    local before = targets()
    for _ = 1, 3 do pcall(core.new, { timeout = "x" }) end
    collectgarbage()
    collectgarbage()
    assert.are.equal(before, targets())
  end)

  it("checks seconds: type, finite, range", function()
    for _, name in ipairs { "timeout", "connect_timeout" } do
      for _, bad in ipairs { 1e300, 0 / 0, 1 / 0, -1 / 0, -1, 0, 1e7 + 1 } do
        raises("bad option '" .. name .. "'", function() core.new { [name] = bad } end)
      end
      raises("bad option '" .. name .. "' %(number of seconds expected%)", function() core.new { [name] = "5" } end)
      core.new({ [name] = 1e7 }):close()
      core.new({ [name] = 1e-9 }):close() -- rounds up to 1 ms, never to "no timeout"
    end
  end)

  it("checks max_response: 1 .. 2^53, integer", function()
    for _, bad in ipairs { 0, -1, 0.5, 2 ^ 53 + 2, 1e300, 0 / 0, 1 / 0, "10" } do
      raises("bad option 'max_response'", function() core.new { max_response = bad } end)
    end
    core.new({ max_response = 2 ^ 53 }):close()
    core.new({ max_response = 1 }):close()
  end)

  it("refuses CR, LF and NUL in strings, and wrong types", function()
    for _, name in ipairs { "token", "ca_file", "proxy", "no_proxy", "user_agent" } do
      raises("bad option '" .. name .. "' %(contains a line break%)", function() core.new { [name] = "a\r\nX: y" } end)
      raises("bad option '" .. name .. "' %(contains a NUL byte%)", function() core.new { [name] = "a\0b" } end)
      raises("bad option '" .. name .. "' %(string expected%)", function() core.new { [name] = 42 } end)
    end
    raises("bad option 'verbose' %(boolean expected%)", function() core.new { verbose = "yes" } end)
    raises("bad option 'insecure' %(boolean expected%)", function() core.new { insecure = 1 } end)
  end)

  it("refuses unknown options", function()
    raises("bad option 'base_url' %(unknown option%)", function() core.new { base_url = "http://x" } end)
    raises("names must be strings", function() core.new { 1 } end)
  end)

  it("shows no token and no URL in tostring; close is idempotent", function()
    local c = core.new { token = S.token, proxy = "http://proxy.example:3128" }
    assert.are.equal("vinano.core.client (0 in flight)", tostring(c))
    c:close()
    c:close()
    assert.are.equal("vinano.core.client (closed)", tostring(c))
    raises("closed client", function() c:step(0) end)
    assert.are.equal("locked", getmetatable(c))
  end)
end)

describe("c:start spec", function()
  local c
  before_each(function() c = core.new { token = S.token } end)
  after_each(function() c:close() end)

  it("needs a url and knows its fields", function()
    raises("url: string expected", function() c:start {} end)
    raises("unknown field 'uri'", function() c:start { uri = "http://x/" } end)
    raises("url: contains a line break", function() c:start { url = "http://x/\r\nHost: y" } end)
    raises("method: \"GET\" or \"POST\" expected", function() c:start { url = "http://x/", method = "PUT" } end)
    raises("parts: only with method \"POST\"", function()
      c:start { url = "http://x/", method = "GET", parts = {} }
    end)
    raises("auth: boolean expected", function() c:start { url = "http://x/", auth = 1 } end)
    raises("follow: integer 0..100 expected", function() c:start { url = "http://x/", follow = 1.5 } end)
    raises("follow: integer 0..100 expected", function() c:start { url = "http://x/", follow = 1e300 } end)
    raises("timeout: NaN", function() c:start { url = "http://x/", timeout = 0 / 0 } end)
    raises("stall: must be at most", function() c:start { url = "http://x/", stall = 1e300 } end)
    raises("sink: contains a NUL byte", function() c:start { url = "http://x/", sink = "a\0b" } end)
    local anon = core.new {}
    raises("auth: the client has no token", function() anon:start { url = "http://x/", auth = true } end)
    anon:close()
  end)

  it("checks every part: names, filenames and types refuse CR, LF, NUL and quotes", function()
    local function part(p) return function() c:start { url = "http://x/", parts = { p } } end end
    raises("parts%[1%]: table expected", function() c:start { url = "http://x/", parts = { 5 } } end)
    -- a text part as two entries, name then value: both checked like a table's
    raises("parts%[1%]: a name string needs its value after it", function()
      c:start { url = "http://x/", parts = { "x" } }
    end)
    raises("parts%[2%]: string value expected, got number", function()
      c:start { url = "http://x/", parts = { "x", 5 } }
    end)
    for _, bad in ipairs { "a\rb", "a\nb", "a\0b", 'a"b' } do
      raises("parts%[1%]: a name contains CR, LF, NUL or '\"'", function()
        c:start { url = "http://x/", parts = { bad, "v" } }
      end)
    end
    raises("parts%[1%].name: string expected", part { value = "v" })
    for _, bad in ipairs { "a\rb", "a\nb", "a\0b", 'a"b' } do
      raises("parts%[1%].name: contains CR, LF, NUL or '\"'", part { name = bad, value = "v" })
      raises("parts%[1%].filename: contains", part { name = "n", data = "d", filename = bad })
      raises("parts%[1%].type: contains", part { name = "n", data = "d", type = bad })
    end
    raises("parts%[1%]: exactly one of", part { name = "n" })
    raises("parts%[1%]: exactly one of", part { name = "n", value = "v", data = "d" })
    raises("parts%[1%].file: contains NUL", part { name = "n", file = "/etc/hosts\0x" })
    raises("parts%[1%].value: string expected, got number", part { name = "n", value = 5 })
    raises("parts%[1%]: filename= and type= go with", part { name = "n", value = "v", type = "text/plain" })
    assert.are.equal(0, c:running())
  end)

  it("frees a transfer whose start raised, before or after its client closes", function()
    local bad = { { name = "ok", value = "v" }, { name = "bad\n", value = "v" } }
    for _ = 1, 20 do assert.has_error(function() c:start { url = "http://x/", parts = bad } end) end
    collectgarbage()
    local other = core.new {}
    for _ = 1, 20 do assert.has_error(function() other:start { url = "http://x/", parts = bad } end) end
    other:close() -- the idle transfers are orphaned first, then collected
    collectgarbage()
    collectgarbage()
    assert.are.equal(0, c:running())
  end)

  it("reads fields raw: __index tables and collections mid-build are safe", function()
    local proxy = setmetatable({}, { __index = function(_, k)
      collectgarbage()
      return k == "name" and ("n" .. ("x"):rep(40)) or nil
    end })
    -- a part whose fields only exist through __index has none: it is refused
    raises("parts%[1%].name: string expected", function()
      c:start { url = "http://127.0.0.1:1/", parts = { proxy } }
    end)
    for _ = 1, 50 do
      local t = c:start { url = "http://127.0.0.1:1/", parts = {
        { name = ("n"):rep(100), data = ("d"):rep(1000), filename = "f.bin", type = "application/x-y" },
        { name = "v", value = tostring(math.random()) } } }
      collectgarbage()
      t:close()
    end
  end)
end)
