-- File sinks: temp file beside the path, renamed when complete; modes;
-- mkdir; a non-2xx body in memory; nothing left behind on failure; ENOSPC.
local S = require "spec.core.support"
local core = S.core

local function leftovers(dir)
  return S.sh("ls -A '" .. dir .. "' | grep -c '\\.vinano-' || true"):gsub("%s+$", "")
end

describe("file sinks", function()
  local mock, dir, image_url
  setup(function()
    mock = S.mock { rate_limit = 1000 }
    dir = S.tmpdir()
    -- an image the mock serves
    local c = core.new { token = S.token }
    local r = S.run(c, c:start { method = "POST", url = mock.url .. "/api/v2/images/generate", auth = true,
      parts = S.parts() })
    image_url = assert(r.body:match('"images":%s*%[%s*"([^"]+)"'))
    c:close()
  end)
  teardown(function()
    mock:stop()
    os.execute("umount '" .. dir .. "/full' 2>/dev/null; rm -rf '" .. dir .. "'")
  end)

  it("writes a new file with the umask's mode and replaces keeping the old mode", function()
    local c = core.new {}
    local path = dir .. "/new.png"
    local old = S.sh("umask")
    local r = S.run(c, c:start { url = image_url, sink = path })
    assert.are.equal(0, r.code)
    assert.are.equal(200, r.status)
    assert.are.equal(path, r.path)
    assert.is_nil(r.body)
    local bytes = S.read_file(path)
    assert.are.equal("\137PNG", bytes:sub(1, 4))
    assert.are.equal(#bytes, r.bytes)
    assert.matches("^image/png", r.content_type)
    if old:match("0022") then assert.are.equal("644", S.mode(path)) end
    os.execute("chmod 600 '" .. path .. "'")
    r = S.run(c, c:start { url = image_url, sink = path })
    assert.are.equal(path, r.path)
    assert.are.equal("600", S.mode(path))
    assert.are.equal("0", leftovers(dir))
    c:close()
  end)

  it("gives the mode 0666 & ~umask under umask 022 (a child process)", function()
    local path = dir .. "/umask.png"
    local script = ([[package.cpath = %q; local core = require "vinano.core"
      local c = core.new {} local t = c:start { url = %q, sink = %q }
      while not t:done() do c:step(50) end io.write(tostring(t:result().path))]]):format(
      package.cpath, image_url, path)
    local file = dir .. "/child.lua"
    S.write_file(file, script)
    local run = S.lua() .. " '" .. file .. "'"
    S.sh("umask 022; " .. run)
    assert.are.equal("644", S.mode(path))
    S.sh("rm -f '" .. path .. "'; umask 077; " .. run)
    assert.are.equal("600", S.mode(path))
  end)

  it("creates parent folders with mkdir = true, else fails naming the path", function()
    local c = core.new {}
    local path = dir .. "/a/b/c/img.png"
    local t = c:start { url = image_url, sink = path }
    assert.are.equal("done", t:state())
    local r = t:result()
    assert.are.equal(23, r.code)
    assert.are.equal("creating a file beside '" .. path .. "': No such file or directory", r.file_error)
    assert.is_false(r.request_sent)
    r = S.run(c, c:start { url = image_url, sink = path, mkdir = true })
    assert.are.equal(path, r.path)
    assert.is_truthy(S.read_file(path))
    S.write_file(dir .. "/plainfile", "x")
    r = c:start({ url = image_url, sink = dir .. "/plainfile/sub/x.png", mkdir = true }):result()
    assert.matches("Not a directory", r.file_error)
    c:close()
  end)

  it("keeps a non-2xx body in memory and leaves no file", function()
    local c = core.new {}
    local path = dir .. "/missing.png"
    local r = S.run(c, c:start { url = mock.url .. "/images/nope.png", sink = path })
    assert.are.equal(404, r.status)
    assert.are.equal(0, r.code)
    assert.is_string(r.body)
    assert.is_true(#r.body > 0)
    assert.is_nil(r.path)
    assert.is_nil(r.file_error)
    assert.is_false(S.exists(path))
    assert.are.equal("0", leftovers(dir))
    c:close()
  end)

  it("removes the temporary file on failure and on cancel", function()
    local c = core.new {}
    mock:fault { action = "drop_mid_body", path = "/images/*" }
    local path = dir .. "/dropped.png"
    local r = S.run(c, c:start { url = image_url, sink = path })
    assert.are_not.equal(0, r.code)
    assert.is_false(S.exists(path))
    mock:fault { action = "delay", seconds = 2, path = "/images/*" }
    local t = c:start { url = image_url, sink = path }
    c:step(50)
    t:cancel()
    assert.is_false(S.exists(path))
    assert.are.equal("0", leftovers(dir))
    c:close()
  end)

  it("sets file_error on a full disk (ENOSPC), leaving nothing behind", function()
    local full = dir .. "/full"
    os.execute("mkdir -p '" .. full .. "'")
    local mounted = os.execute("mount -t tmpfs -o size=64k tmpfs '" .. full .. "' 2>/dev/null")
    if mounted ~= true and mounted ~= 0 then
      pending("cannot mount a small tmpfs here (needs root)")
      return
    end
    S.write_file(full .. "/filler", ("x"):rep(40 * 1024))
    local c = core.new {}
    local path = full .. "/big.bin"
    -- the mock's endless body: more than the disk holds
    mock:clear_faults()
    mock:fault { action = "endless_body", path = "/images/*", bytes = 16384, interval = 0.01 }
    local r = S.run(c, c:start { url = image_url, sink = path })
    assert.are.equal(23, r.code, require("cjson").encode(r))
    assert.are.equal("writing '" .. path .. "': No space left on device", r.file_error)
    assert.is_nil(r.too_large)
    assert.is_false(S.exists(path))
    assert.are.equal("0", leftovers(full))
    c:close()
    os.execute("umount '" .. full .. "'")
  end)
end)
