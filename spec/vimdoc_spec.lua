-- doc/vinano.txt is valid vimdoc (`:helptags` in a real headless Neovim, on a
-- copy, reports nothing) with no duplicate tag, its links resolve, and it has
-- a tag for every public function of the Lua layer (found by the annotation
-- scan), every option of vinano.Options and every error kind of
-- vinano.ErrorKind, so that the help cannot fall behind the code.
local env = require "spec.support.env"
local cats = require "spec.support.luacats"
local q = require("spec.support.mock_process").quote

-- Tags the help may link to that Neovim itself defines.
local NEOVIM_TAGS = { ["vim.schedule()"] = true }

local function expected_tags()
  local mods = cats.scan()
  local classes, aliases = cats.types(mods)
  local tags = { "vinano", "vinano.new()", "vinano.null", "vinano-client:fetch()", "vinano.batch", "vinano-health",
    "vinano-async", "vinano-options", "vinano-errors", "vinano-install" }
  for _, m in ipairs(mods) do
    if not m.internal then
      for _, fn in ipairs(m.functions) do tags[#tags + 1] = cats.tag(fn) end
    end
  end
  for _, f in ipairs(classes["vinano.Client"].fields) do
    if f:match("_cb$") then tags[#tags + 1] = "vinano-client:" .. f .. "()" end
  end
  for _, f in ipairs(classes["vinano.Options"].fields) do tags[#tags + 1] = "vinano-option-" .. f end
  for _, k in ipairs(aliases["vinano.ErrorKind"].values) do tags[#tags + 1] = "vinano-error-" .. k end
  return tags
end

describe("doc/vinano.txt #nocore #external", function()
  local text = assert(env.read_file("doc/vinano.txt"), "doc/vinano.txt is missing")
  local dir, tags_file, nvim_out

  setup(function()
    local found = os.execute("command -v nvim >/dev/null 2>&1")
    assert(found == true or found == 0, "nvim is not installed: this spec needs Neovim (apt-get install neovim)")
    dir = env.tmpdir()
    os.execute("mkdir -p " .. q(dir .. "/doc") .. " && cp doc/vinano.txt " .. q(dir .. "/doc/"))
    nvim_out = env.sh(("cd %s && timeout 60 nvim --headless -u NONE -i NONE -c %s -c 'qa!' </dev/null 2>&1")
      :format(q(dir), q("helptags " .. dir .. "/doc")))
    tags_file = env.read_file(dir .. "/doc/tags")
  end)
  teardown(function()
    if dir then os.execute("rm -rf " .. q(dir)) end
  end)

  it(":helptags accepts it (no error, no duplicate tag) and writes the tags file", function()
    assert(tags_file, ":helptags wrote no tags file; Neovim printed:\n" .. tostring(nvim_out))
    assert.is_nil(nvim_out:find("E%d+"), "Neovim reported:\n" .. nvim_out)
    local seen, dups = {}, {}
    for tag in text:gmatch("%*([^%s*|]+)%*") do
      if seen[tag] then dups[#dups + 1] = tag end
      seen[tag] = true
    end
    assert(#dups == 0, "duplicate tags: " .. table.concat(dups, ", "))
    assert.matches("^%*vinano%.txt%*", text)
    assert.matches("vim:tw=78:ts=8:ft=help:norl:", text, 1, true)
  end)

  it("doc/tags, which the rock and make install ship, is what :helptags writes now (make doc/tags)", function()
    assert(tags_file, ":helptags wrote no tags file")
    assert.are.equal(tags_file, env.read_file("doc/tags"), "doc/tags is stale: run make doc/tags")
  end)

  it("has a tag for every public function, option and error kind", function()
    local have = {}
    for line in tags_file:gmatch("[^\n]+") do have[line:match("^([^\t]+)")] = true end
    local missing = {}
    for _, t in ipairs(expected_tags()) do
      if not have[t] then missing[#missing + 1] = t end
    end
    assert(#missing == 0, "doc/vinano.txt lacks the tags: " .. table.concat(missing, ", "))
  end)

  it("every |link| names a tag of this file or of Neovim's own help", function()
    local have = {}
    for line in tags_file:gmatch("[^\n]+") do have[line:match("^([^\t]+)")] = true end
    local broken = {}
    for link in text:gmatch("|([^%s|]+)|") do
      if not have[link] and not NEOVIM_TAGS[link] then broken[#broken + 1] = link end
    end
    assert(#broken == 0, "links to no tag: " .. table.concat(broken, ", "))
  end)

  it("no line is longer than 78 columns", function()
    local n = 0
    for line in (text .. "\n"):gmatch("(.-)\n") do
      n = n + 1
      -- UTF-8 continuation bytes are not columns
      local cols = #line:gsub("[\128-\191]", "")
      assert(cols <= 78, ("line %d has %d columns: %s"):format(n, cols, line))
    end
  end)
end)
