-- core.json_decode (src/json.c), differential against lua-cjson followed by
-- the integer walk the Lua layer did before the core decoded: the same value
-- on random documents, and every text the core accepts cjson accepts with
-- the same value.  Errors say where; nesting is bounded; null is vinano.null.
local S = require "spec.core.support"
local core = S.core
local cjson = require("cjson.safe").new()

local tointeger = math.tointeger
local mtype = math.type

-- What response.lua did before: cjson, then whole floats up to 2^53 to integers.
local function integers(t, depth)
  for k, v in next, t do
    if type(v) == "number" then
      local i = tointeger(v)
      if i and i >= -2 ^ 53 and i <= 2 ^ 53 then t[k] = i end
    elseif type(v) == "table" then
      integers(v, depth + 1)
    end
  end
end

local function oracle(s)
  local v = cjson.decode(s)
  if v == nil then return nil end
  if tointeger and type(v) == "table" then integers(v, 0) end
  if tointeger and type(v) == "number" then
    local i = tointeger(v)
    if i and i >= -2 ^ 53 and i <= 2 ^ 53 then v = i end
  end
  return v
end

-- Deep equality that also tells integers from floats (5.3+), -0 from 0, and
-- NaN from anything.
local function same(a, b, path)
  path = path or "$"
  if type(a) ~= type(b) then return false, path .. ": " .. type(a) .. " vs " .. type(b) end
  if type(a) == "number" then
    if mtype and mtype(a) ~= mtype(b) then return false, path .. ": " .. mtype(a) .. " vs " .. mtype(b) end
    if a ~= a and b ~= b then return true end
    if a ~= b or 1 / a ~= 1 / b then return false, path .. ": " .. tostring(a) .. " vs " .. tostring(b) end
    return true
  end
  if type(a) ~= "table" then
    if a ~= b then return false, path .. ": " .. tostring(a) .. " vs " .. tostring(b) end
    return true
  end
  for k, v in pairs(a) do
    local ok, why = same(v, b[k], path .. "." .. tostring(k))
    if not ok then return false, why end
  end
  for k in pairs(b) do
    if a[k] == nil then return false, path .. "." .. tostring(k) .. ": missing" end
  end
  return true
end

-- A random document as text, in varied spellings: whitespace, escapes,
-- exponents, big and small numbers, deep and wide nesting.
local function gen(rnd, depth)
  local r = depth > 5 and rnd(3) or rnd(9)
  local function ws()
    local w = { "", "", "", " ", "\n", "\t", "\r\n  " }
    return w[rnd(#w)]
  end
  if r == 1 then
    local forms = { "0", "-0", "1", "-1", "42", "2.5", "-0.0", "1e2", "1E+2", "1e-2", "0.1", "123456789012345",
      "1234567890123456", "9007199254740992", "9007199254740993", "-9007199254740993", "1e300", "1e400", "-1e400",
      "123456789012345678901234567890", "3.0", "1.5e3", "0e0", "2E-400", "9223372036854775807",
      "9223372036854775808", "-9223372036854775809", "0.30000000000000004", "1.7976931348623157e308" }
    if rnd(3) == 1 then return forms[rnd(#forms)] end
    local n = tostring(rnd(2000000) - 1000000)
    if rnd(3) == 1 then n = n .. "." .. tostring(rnd(100000)) end
    if rnd(4) == 1 then n = n .. "e" .. (rnd(2) == 1 and "-" or "") .. tostring(rnd(30)) end
    return n
  elseif r == 2 then
    local pieces = { "a", "é", "\\\"", "\\\\", "\\/", "\\n", "\\t", "\\b", "\\f", "\\r", "\\u0041", "\\u00e9",
      "\\u20AC", "\\ud83d\\ude00", "\\u0000", "x y", "\1", "\31", "\127", "\255", "{", "]", ":", "," }
    local t = {}
    for i = 1, rnd(6) - 1 do t[i] = pieces[rnd(#pieces)] end
    return '"' .. table.concat(t) .. '"'
  elseif r == 3 then
    local lits = { "true", "false", "null" }
    return lits[rnd(3)]
  elseif r <= 6 then
    local t = {}
    for i = 1, rnd(5) - 1 do
      local key = '"k' .. rnd(4) .. (rnd(5) == 1 and "\\u00e9" or "") .. '"'
      t[i] = ws() .. key .. ws() .. ":" .. ws() .. gen(rnd, depth + 1) .. ws()
    end
    return "{" .. ws() .. table.concat(t, ",") .. ws() .. "}"
  else
    local t = {}
    for i = 1, rnd(6) - 1 do t[i] = ws() .. gen(rnd, depth + 1) .. ws() end
    return "[" .. table.concat(t, ",") .. "]"
  end
end

local function rng(seed)
  local x = seed
  return function(n)
    x = (x * 1103515245 + 12345) % 2147483648
    return x % n + 1
  end
end

describe("core.json_decode", function()
  it("gives what lua-cjson and the integer walk gave, on 20,000 random documents", function()
    local rnd = rng(20261127)
    for i = 1, 20000 do
      local s = gen(rnd, 0)
      if i % 2 == 0 then s = "{\"d\":" .. s .. "}" end
      local want = oracle(s)
      assert(want ~= nil, "cjson refused a generated document: " .. s)
      local got, err = core.json_decode(s)
      assert(got ~= nil, ("refused %q: %s"):format(s, tostring(err)))
      local ok, why = same(got, want)
      assert(ok, ("%q: %s"):format(s, tostring(why)))
    end
  end)

  it("accepts nothing cjson refuses, and says where on 20,000 broken ones", function()
    local rnd = rng(7)
    local bytes = { "{", "}", "[", "]", ",", ":", '"', "\\", "0", "1", "-", ".", "e", "+", "x", " ", "\0", "n", "t",
      "u" }
    local refused = 0
    for _ = 1, 20000 do
      local s = gen(rnd, 0)
      for _ = 1, rnd(3) do -- replace, insert or cut a byte
        local at, how = rnd(#s + 1), rnd(3)
        local b = bytes[rnd(#bytes)]
        if how == 1 then s = s:sub(1, at - 1) .. b .. s:sub(at + 1)
        elseif how == 2 then s = s:sub(1, at - 1) .. b .. s:sub(at)
        else s = s:sub(1, at - 1) .. s:sub(at + 1) end
      end
      local got, err = core.json_decode(s)
      if got ~= nil then
        local want = oracle(s)
        assert(want ~= nil, ("accepted %q, which cjson refuses"):format(s))
        local ok, why = same(got, want)
        assert(ok, ("%q: %s"):format(s, tostring(why)))
      else
        refused = refused + 1
        local at = tonumber(err:match("^invalid JSON at byte (%d+): %S"))
        assert(at and at >= 1 and at <= #s + 1, ("%q: %s"):format(s, tostring(err)))
      end
    end
    assert.is_true(refused > 5000) -- the mutations broke most of them
  end)

  it("keeps integers integers and null vinano.null", function()
    local t = assert(core.json_decode('{"status":200,"credits":{"cost":10},"w":1344.0,"f":2.5,"big":1e300,'
      .. '"x":null,"list":[null,1]}'))
    assert.are.equal(200, t.status)
    assert.are.equal(10, t.credits.cost)
    assert.are.equal(require("vinano").null, t.x)
    assert.are.equal(require("cjson").null, t.list[1])
    assert.are.equal(2, #t.list)
    if mtype then
      assert.are.equal("integer", mtype(t.status))
      assert.are.equal("integer", mtype(t.w))
      assert.are.equal("float", mtype(t.f))
      assert.are.equal("float", mtype(t.big))
    end
    assert.is_nil(getmetatable(t))
  end)

  it("says where the text went wrong", function()
    local rows = {
      { '{"a":}', 6, "expected a value" },
      { '{"a" 1}', 6, "expected ':'" },
      { '{"a":1,}', 8, "expected a string key" },
      { '{"a":1 "b":2}', 8, "expected ',' or '}'" },
      { '[1 2]', 4, "expected ',' or ']'" },
      { '{"a":"x', 8, "unterminated string" },
      { '{"a":"\\q"}', 7, "invalid escape" },
      { '{"a":"\\ud800"}', 7, "surrogate" },
      { '{"a":01}', 6, "leading zero" },
      { '{"a":1.}', 8, "no digit after" },
      { '{"a":tru}', 6, "expected a value" },
      { '{"a":1} x', 9, "text after the end" },
      { '{"a":"\0"}', 7, "NUL" },
      { "", 1, "found the end" },
    }
    for _, row in ipairs(rows) do
      local v, err = core.json_decode(row[1])
      assert.is_nil(v)
      assert.matches("^invalid JSON at byte " .. row[2] .. ": ", err)
      assert.truthy(err:find(row[3], 1, true), err)
    end
  end)

  it("bounds nesting at 1000 levels, as lua-cjson does", function()
    local ok = assert(core.json_decode(("["):rep(1000) .. ("]"):rep(1000)))
    assert.is_table(ok)
    local v, err = core.json_decode(("["):rep(1001) .. ("]"):rep(1001))
    assert.is_nil(v)
    assert.matches("at byte 1001: nested deeper than 1000 levels", err, 1, true)
    v, err = core.json_decode(('{"a":'):rep(5000) .. "1" .. ("}"):rep(5000))
    assert.is_nil(v)
    assert.matches("nested deeper", err)
  end)

  it("decodes long strings and numbers whole", function()
    local long = ("x"):rep(100000)
    local t = assert(core.json_decode('{"s":"' .. long .. '\\n","n":' .. ("1"):rep(300) .. '}'))
    assert.are.equal(long .. "\n", t.s)
    assert.are.equal(tonumber(("1"):rep(300)), t.n)
  end)

  it("raises on a non-string argument", function()
    assert.has_error(function() core.json_decode({}) end)
  end)
end)
