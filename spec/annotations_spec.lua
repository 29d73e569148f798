-- Every public function of the Lua layer carries LuaCATS annotations: a
-- `---@param` for each parameter, in order, and a `---@return` (`---@return
-- nil` when it returns nothing), in the `---` block right above it.  The
-- files are found (lua/vinano.lua, lua/vinano/**.lua, the mock excepted), so
-- a new module is checked as soon as it lands.  And the type definitions
-- (lua/vinano/types.lua) say what the code and the API page say: every
-- option vinano.new reads, every parameter and allowed value of the page,
-- every error kind.  Structural: no lua-language-server needed.
local env = require "spec.support.env"
local cats = require "spec.support.luacats"

local function set(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

local function missing_from(expected, actual_set)
  local m = {}
  for _, v in ipairs(expected) do
    if not actual_set[v] then m[#m + 1] = v end
  end
  table.sort(m)
  return m
end

-- Rows of the markdown table that follows `heading` in text: first cells.
local function table_keys(text, heading)
  local at = assert(text:find(heading, 1, true), "no '" .. heading .. "' in the document")
  local keys, started = {}, false
  for line in text:sub(at):gmatch("[^\n]*") do
    if line:match("^|") then
      started = true
      local cell = line:match("^|%s*([^|]-)%s*|")
      if cell and not cell:match("^%-+$") then keys[#keys + 1] = cell end
    elseif started and line ~= "" then
      break
    end
  end
  table.remove(keys, 1) -- the header row
  return keys
end

describe("LuaCATS annotations #nocore", function()
  local mods = cats.scan()

  it("the scan finds the Lua layer's modules and their public functions", function()
    local names = {}
    for _, m in ipairs(mods) do names[m.name] = #m.functions end
    assert.is_truthy(names["vinano"], "lua/vinano.lua was not scanned")
    assert.is_true((names["vinano.client"] or 0) >= 8, "client.lua's methods were not found")
    assert.is_nil(names["vinano.mock"], "the mock is its own program: not scanned")
  end)

  it("every public function has a ---@param per parameter, in order, and a ---@return", function()
    local problems = {}
    for _, m in ipairs(mods) do
      for _, fn in ipairs(m.functions) do
        local where = ("%s:%d %s"):format(m.file, fn.line, cats.display(fn))
        if table.concat(fn.params, ",") ~= table.concat(fn.doc_params, ",") then
          problems[#problems + 1] = ("%s(%s): ---@param for (%s)"):format(where, table.concat(fn.params, ", "),
            table.concat(fn.doc_params, ", "))
        end
        if not fn.has_return then
          problems[#problems + 1] = where .. ": no ---@return (write ---@return nil when it returns nothing)"
        end
      end
    end
    assert(#problems == 0, "unannotated public functions:\n  " .. table.concat(problems, "\n  "))
  end)

  it("types.lua defines every public shape", function()
    local classes, aliases = cats.types(mods)
    for _, c in ipairs { "vinano.Options", "vinano.GenerateParams", "vinano.Result", "vinano.TaskStatus",
      "vinano.Info", "vinano.Error", "vinano.Task", "vinano.AsyncTask", "vinano.BatchJob", "vinano.BatchEvent",
      "vinano.Client", "vinano.CallOptions", "vinano.WaitOptions" } do
      assert(classes[c], "no ---@class " .. c)
      assert.is_true(#classes[c].fields > 0, c .. " has no ---@field")
    end
    for _, a in ipairs { "vinano.ErrorKind", "vinano.Model", "vinano.AspectRatio", "vinano.ImgSize" } do
      assert(aliases[a], "no ---@alias " .. a)
      assert.is_true(#aliases[a].values > 0, a .. " lists no value")
    end
  end)

  it("vinano.Options names every option vinano.new reads", function()
    local text = assert(env.read_file("lua/vinano/client.lua"))
    local body = assert(text:match("\nfunction Client%.new%(opts%)(.-)\nend\n"), "no Client.new in client.lua")
    local read = {}
    for k in body:gmatch("opts%.([%a_][%w_]*)") do read[#read + 1] = k end
    -- the table of every option with its type (OPTIONS; once OPTION_TYPES)
    local types_block = text:match("\nlocal OPTIONS%s*=%s*(%b{})") or text:match("OPTION_TYPES%s*=%s*(%b{})")
    -- its keys: each names a rule table ({ "type", ... }) or a shared one (POSITIVE)
    for k in (types_block or ""):gmatch("([%a_][%w_]*)%s*=%s*[{%u]") do read[#read + 1] = k end
    assert.is_true(#read > 10, "could not read the options vinano.new reads")
    local classes = cats.types(mods)
    local m = missing_from(read, set(classes["vinano.Options"].fields))
    assert(#m == 0, "vinano.Options lacks: " .. table.concat(m, ", "))
  end)

  it("vinano.GenerateParams and the aliases hold every field and value of the API page", function()
    local notes = assert(env.read_file("docs/api-notes.md"), "docs/api-notes.md is missing")
    local classes, aliases = cats.types(mods)
    local fields = table_keys(notes, "## Parameters")
    assert.is_true(#fields >= 9)
    local m = missing_from(fields, set(classes["vinano.GenerateParams"].fields))
    assert(#m == 0, "vinano.GenerateParams lacks: " .. table.concat(m, ", "))
    local models = {}
    for _, cell in ipairs(table_keys(notes, "## Models")) do models[#models + 1] = cell:match("^(%S+)") end
    m = missing_from(models, set(aliases["vinano.Model"].values))
    assert(#m == 0, "vinano.Model lacks: " .. table.concat(m, ", "))
    local ratio_line = assert(notes:match("\n| aspectRatio |[^\n]*"), "no aspectRatio row")
    local ratios = {}
    for r in ratio_line:gmatch("%f[%w]([%w]+:[%w]+)") do ratios[#ratios + 1] = r end
    for r in ratio_line:gmatch("`(auto)") do ratios[#ratios + 1] = r end
    assert.is_true(#ratios >= 12, "read only " .. #ratios .. " ratios from the page")
    m = missing_from(ratios, set(aliases["vinano.AspectRatio"].values))
    assert(#m == 0, "vinano.AspectRatio lacks: " .. table.concat(m, ", "))
    assert.are.same({ "1k", "2k", "4k" }, aliases["vinano.ImgSize"].values)
  end)

  it("vinano.ErrorKind lists exactly the kinds of the README's table (and of errors.lua, once it exists)", function()
    local _, aliases = cats.types(mods)
    local readme = assert(env.read_file("README.md"))
    local kinds = {}
    for _, cell in ipairs(table_keys(readme, "| kind | when |")) do kinds[#kinds + 1] = cell:match("^`(.-)`$") end
    assert.is_true(#kinds >= 15, "read only " .. #kinds .. " kinds from the README")
    local declared = aliases["vinano.ErrorKind"].values
    table.sort(kinds)
    local sorted = {}
    for i, v in ipairs(declared) do sorted[i] = v end
    table.sort(sorted)
    assert.are.same(kinds, sorted)
    if env.read_file("lua/vinano/errors.lua") then
      local ok, errors = pcall(require, "vinano.errors")
      assert(ok, "lua/vinano/errors.lua does not load: " .. tostring(errors))
      local list = {}
      for k in pairs(type(errors.kinds) == "table" and errors.kinds or {}) do
        list[#list + 1] = type(k) == "string" and k or errors.kinds[k]
      end
      table.sort(list)
      assert.are.same(sorted, list)
    end
  end)
end)
