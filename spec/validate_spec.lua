-- Every rule api-notes.md states plainly is checked before any byte is sent:
-- the client points at a closed port, so a request that got out would fail
-- as "network", never as "invalid_request".
local vinano = require "vinano"

local client = vinano.new { token = "t0k3n-secret", base_url = "http://127.0.0.1:9", max_retries = 0 }

local function rejects(params, field, rule, pattern)
  local res, err = client:generate(params)
  assert.is_nil(res)
  assert.are.equal("invalid_request", err.kind, tostring(err))
  assert.are.equal(field, err.field)
  assert.are.equal(rule, err.rule)
  assert.matches("^" .. field:gsub("%p", "%%%0") .. ": ", err.message)
  if pattern then assert.matches(pattern, err.message) end
  -- and the same through the async submit
  local task, err2 = client:submit_async(params)
  assert.is_nil(task)
  assert.are.equal(err.message, err2.message)
  return err
end

local function passes_validation(params)
  -- gets past validation: the only possible failure is the closed port
  local res, err = client:generate(params)
  assert.is_nil(res)
  assert.are.equal("network", err.kind, tostring(err))
end

-- (decimal escapes: PUC Lua 5.1 has no \x escapes)
describe("validation", function()
  it("needs one of prompt, image or imageUrl", function()
    rejects({}, "prompt", "required", "at least one of prompt, image or imageUrl")
    rejects({ prompt = "" }, "prompt", "required")
    rejects({ model = "sora_image", image = {} }, "prompt", "required")
  end)

  it("counts the prompt in UTF-8 characters, not bytes", function()
    local e = "\195\169" -- é, two bytes
    passes_validation { prompt = e:rep(2000) } -- 4000 bytes, 2000 characters
    passes_validation { prompt = ("a"):rep(2000) }
    rejects({ prompt = ("a"):rep(2001) }, "prompt", "max_length", "at most 2000 characters, got 2001")
    rejects({ prompt = ("\240\159\140\133"):rep(2001) }, "prompt", "max_length", "got 2001")
  end)

  it("rejects a prompt that is not UTF-8", function()
    rejects({ prompt = "abc\255" }, "prompt", "utf8", "not valid UTF%-8")
    rejects({ prompt = "\195" }, "prompt", "utf8")
    rejects({ prompt = "\237\160\128" }, "prompt", "utf8") -- a UTF-16 surrogate
  end)

  it("checks aspect ratios per model", function()
    for _, r in ipairs { "auto", "1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3" } do
      passes_validation { prompt = "x", aspectRatio = r }
    end
    for _, r in ipairs { "4:1", "1:4", "8:1", "1:8" } do
      passes_validation { prompt = "x", model = "gemini-3.1-pro-image-preview", aspectRatio = r }
      rejects({ prompt = "x", aspectRatio = r }, "aspectRatio", "allowed_values",
        "not supported by gemini%-2%.5%-flash%-image%-preview")
      rejects({ prompt = "x", model = "gemini-3-pro-image-preview", aspectRatio = r }, "aspectRatio", "allowed_values")
    end
    rejects({ prompt = "x", aspectRatio = "5:4" }, "aspectRatio", "allowed_values", "allowed: auto 1:1")
  end)

  it("allows img_size only on the two sized models, and only 1k/2k/4k", function()
    passes_validation { prompt = "x", model = "gemini-3.1-pro-image-preview", img_size = "4k" }
    passes_validation { prompt = "x", model = "gemini-3-pro-image-preview", img_size = "1k" }
    rejects({ prompt = "x", img_size = "2k" }, "img_size", "model", "only supported by")
    rejects({ prompt = "x", model = "sora_image", img_size = "2k" }, "img_size", "model")
    rejects({ prompt = "x", model = "gemini-3.1-pro-image-preview", img_size = "8k" }, "img_size",
      "allowed_values", "'8k' is not one of 1k, 2k, 4k")
  end)

  it("allows googleSearch = true only on gemini-3.1-pro-image-preview", function()
    passes_validation { prompt = "x", model = "gemini-3.1-pro-image-preview", googleSearch = true }
    passes_validation { prompt = "x", googleSearch = false }
    rejects({ prompt = "x", googleSearch = true }, "googleSearch", "model", "only supported by gemini%-3%.1")
    rejects({ prompt = "x", googleSearch = "yes" }, "googleSearch", "type", "expected a boolean")
  end)

  it("refuses image input for Z-Image", function()
    passes_validation { prompt = "x", model = "Z-Image" }
    rejects({ prompt = "x", model = "Z-Image", imageUrl = "https://example.com/a.png" }, "imageUrl", "model",
      "text%-to%-image only")
    rejects({ prompt = "x", model = "Z-Image", image = { data = "abc" } }, "image", "model")
  end)

  it("passes unknown models and modes through unchecked", function()
    passes_validation { prompt = "x", model = "future-model-9", aspectRatio = "21:9", img_size = "8k" }
    passes_validation { prompt = "x", mode = "photo_restoration" }
    passes_validation { prompt = "x", model = "Seedance-5.0", img_size = "3k", googleSearch = true }
  end)

  it("checks types and unknown fields", function()
    rejects({ prompt = 42 }, "prompt", "type", "expected a string, got number")
    rejects({ prompt = "x", hdPro = 1 }, "hdPro", "type")
    rejects({ prompt = "x", aspect_ratio = "16:9" }, "aspect_ratio", "unknown_field", "validate = false")
    rejects({ imageUrl = { "https://a", 7 } }, "imageUrl[2]", "type")
    rejects({ image = { { filename = "x.png" } } }, "image", "file", "exactly one of path= or data=")
    rejects({ image = true }, "image", "file")
  end)

  it("is switched off by validate = false (the server judges)", function()
    local loose = vinano.new { token = "t", base_url = "http://127.0.0.1:9", validate = false, max_retries = 0 }
    local res, err = loose:generate { prompt = ("a"):rep(3000), aspectRatio = "5:4" }
    assert.is_nil(res)
    assert.are.equal("network", err.kind)
  end)

  it("checks files on disk before sending, even with validate = false", function()
    local loose = vinano.new { token = "t", base_url = "http://127.0.0.1:9", validate = false, max_retries = 0 }
    local res, err = loose:generate { prompt = "x", image = "/nonexistent/a.png" }
    assert.is_nil(res)
    assert.are.equal("invalid_request", err.kind)
    assert.matches("^image: cannot open file '/nonexistent/a.png' %(No such file or directory%)", err.message)
    res, err = loose:generate { prompt = "x", image = { "spec", "/nonexistent/b.png" } }
    assert.is_nil(res)
    assert.are.equal("invalid_request", err.kind)
    assert.matches("^image%[1%]: 'spec' is not a regular file", err.message)
    res, err = loose:generate { prompt = { "not", "a", "string" } }
    assert.is_nil(res)
    assert.are.equal("invalid_request", err.kind)
    assert.matches("^prompt: expected a string, number or boolean, got table", err.message)
  end)

  it("refuses a file over 100 MB before sending", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:seek("set", 100 * 1024 * 1024) -- sparse: 100 MB + 1 byte without writing them
    f:write("x")
    f:close()
    local res, err = client:generate { prompt = "x", image = path }
    os.remove(path)
    assert.is_nil(res)
    assert.are.equal("invalid_request", err.kind)
    assert.matches("is 104857601 bytes; the limit is 100 MB", err.message)
  end)

  it("refuses an unreadable file", function()
    local path = os.tmpname()
    os.execute("chmod 000 " .. path)
    local f = io.open(path, "rb")
    local message
    if f then
      -- root reads anything: the same call, in a child process that runs as
      -- the unprivileged user nobody (setpriv, from util-linux)
      f:close()
      local env = require "spec.support.env"
      local q = require("spec.support.mock_process").quote
      local code = ([[
        local c = require("vinano").new { token = "t", base_url = "http://127.0.0.1:9", max_retries = 0 }
        local _, err = c:generate { prompt = "x", image = %q }
        io.write(err.kind, ": ", err.message)]]):format(path)
      message = env.sh("setpriv --reuid=65534 --regid=65534 --clear-groups env " .. env.child_lua() .. " -e "
        .. q(code) .. " 2>&1")
      assert.matches("^invalid_request: ", message)
    else
      local _, err = client:generate { prompt = "x", image = path }
      message = err.message
    end
    os.remove(path)
    assert.matches("^image: cannot open file '.*' %(Permission denied%)", (message:gsub("^invalid_request: ", "")))
  end)
end)

describe("a missing token", function()
  it("is an error at the first call, not at new()", function()
    local old = os.getenv("VINANO_API_TOKEN")
    assert.is_nil(old) -- specs never run with a real token in the environment
    local c = vinano.new { base_url = "http://127.0.0.1:9" }
    local res, err = c:generate { prompt = "x" }
    assert.is_nil(res)
    assert.are.equal("invalid_request", err.kind)
    assert.matches("token: missing", err.message)
  end)
end)

describe("wrong argument types", function()
  it("raise, as the standard library does", function()
    assert.has_error(function() client:generate("prompt") end,
      "bad argument #1 to 'generate' (table expected, got string)")
    assert.has_error(function() client:poll({}) end)
    assert.has_error(function() client:wait("id", 5) end)
    assert.has_error(function() vinano.new { timeout = "soon" } end)
    assert.has_error(function() vinano.estimate_credits() end)
  end)
end)

describe("estimate_credits", function()
  it("follows the page's table", function()
    assert.are.equal(10, vinano.estimate_credits {})
    assert.are.equal(30, vinano.estimate_credits { hdPro = true })
    assert.are.equal(60, vinano.estimate_credits { model = "gemini-3.1-pro-image-preview", img_size = "4k" })
    assert.are.equal(25, vinano.estimate_credits { model = "gemini-3.1-pro-image-preview", img_size = "1k" })
    assert.are.equal(35, vinano.estimate_credits { model = "gemini-3.1-pro-image-preview", img_size = "2k" })
    assert.are.equal(30, vinano.estimate_credits { model = "gemini-3-pro-image-preview", img_size = "1k" })
    assert.are.equal(50, vinano.estimate_credits { model = "gemini-3-pro-image-preview", img_size = "2k" })
    assert.are.equal(80, vinano.estimate_credits { model = "gemini-3-pro-image-preview", img_size = "4k" })
    assert.are.equal(10, vinano.estimate_credits { model = "sora_image" })
  end)
end)
