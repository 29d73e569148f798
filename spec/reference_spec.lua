-- docs/reference.md cannot drift from the code: every function the
-- annotation scan finds (public and internal modules, the mock excepted) has
-- its `### name(params)` heading in its module's section with the parameters
-- the code has, and every heading names a function that exists.
-- `lua5.4 scripts/reference.lua > docs/reference.md` regenerates the page.
local env = require "spec.support.env"
local cats = require "spec.support.luacats"

local FIX = "\n(regenerate: lua5.4 scripts/reference.lua > docs/reference.md)"

describe("docs/reference.md #nocore", function()
  local text = assert(env.read_file("docs/reference.md"), "docs/reference.md is missing" .. FIX)
  local mods = cats.scan()

  -- module -> { ["display(params)"] = true }
  local sections, current = {}, nil
  for line in text:gmatch("[^\n]+") do
    local mod = line:match("^## `([^`]+)`%s*$")
    local head = line:match("^### `([^`]+)`%s*$")
    if mod then
      current = mod
      sections[mod] = sections[mod] or {}
    elseif head then
      assert(current, "a function heading before any module heading: " .. head)
      sections[current][head] = true
    end
  end

  it("has a section for every module with functions", function()
    local missing = {}
    for _, m in ipairs(mods) do
      if #m.functions > 0 and not sections[m.name] then missing[#missing + 1] = m.name end
    end
    assert(#missing == 0, "no section for: " .. table.concat(missing, ", ") .. FIX)
  end)

  it("names every function with the parameters the code has", function()
    local missing = {}
    for _, m in ipairs(mods) do
      for _, fn in ipairs(m.functions) do
        local sig = ("%s(%s)"):format(cats.display(fn), table.concat(fn.params, ", "))
        if not (sections[m.name] and sections[m.name][sig]) then missing[#missing + 1] = m.name .. ": " .. sig end
      end
    end
    assert(#missing == 0, "not in docs/reference.md:\n  " .. table.concat(missing, "\n  ") .. FIX)
  end)

  it("names nothing that is gone", function()
    local exists = {}
    for _, m in ipairs(mods) do
      exists[m.name] = {}
      for _, fn in ipairs(m.functions) do
        exists[m.name][("%s(%s)"):format(cats.display(fn), table.concat(fn.params, ", "))] = true
      end
    end
    local gone = {}
    for mod, heads in pairs(sections) do
      for sig in pairs(heads) do
        if not (exists[mod] and exists[mod][sig]) then gone[#gone + 1] = mod .. ": " .. sig end
      end
    end
    table.sort(gone)
    assert(#gone == 0, "docs/reference.md names what the code no longer has:\n  " .. table.concat(gone, "\n  ") .. FIX)
  end)
end)
