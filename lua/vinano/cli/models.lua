-- `vinano models`: the models api.lua knows, with their aspect ratios,
-- sizes, Google Search and price; and the warning for a model name close
-- to a known one (unknown names are still sent: the server may know them).
-- vinano: internal (not part of the public API; see docs/architecture.md)
local cli = require "vinano.cli"
local api = require "vinano.api"

local M = {}

local function names()
  local list = {}
  for name in pairs(api.models) do list[#list + 1] = name end
  table.sort(list, function(a, b)
    -- the default first, then by name
    if a == api.default_model or b == api.default_model then return a == api.default_model end
    return a < b
  end)
  return list
end

--- Each model as a table: name, title, default, aspect_ratios, sizes,
--- search, image_input, credits (by size, or normal/hd), checked.
---@return table[]
function M.list()
  local out = {}
  for _, name in ipairs(names()) do
    local info = api.models[name]
    local ratios = {}
    for _, r in ipairs(api.base_ratios) do ratios[#ratios + 1] = r end
    if info.extended_ratios then
      for _, r in ipairs(api.extended_ratios) do ratios[#ratios + 1] = r end
    end
    local sizes = info.size_credits and api.img_sizes or nil
    local credits = {}
    if info.size_credits then
      for _, s in ipairs(api.img_sizes) do credits[s] = info.size_credits[s] end
    else
      credits.normal, credits.hd = api.credits.normal, api.credits.hd
    end
    out[#out + 1] = { name = name, title = info.name, default = name == api.default_model or nil,
      aspect_ratios = ratios, sizes = sizes, search = info.google_search == true,
      image_input = info.image_input ~= false, credits = credits, checked = info.checked ~= false }
  end
  return out
end

local function price(m)
  if m.sizes then
    local parts = {}
    for _, s in ipairs(m.sizes) do parts[#parts + 1] = ("%s %d"):format(s, m.credits[s]) end
    return table.concat(parts, ", ") .. " credits"
  end
  return ("%d credits, %d with --hd"):format(m.credits.normal, m.credits.hd)
end

--- `vinano models`.
---@param args table argparse's result
---@return integer status
function M.run(args)
  local list = M.list()
  if args.json then
    cli.json_line(list)
    return cli.OK
  end
  for _, m in ipairs(list) do
    io.stdout:write(("%s (%s)%s\n"):format(m.name, m.title, m.default and ", the default" or ""))
    io.stdout:write(("  aspect ratios: %s\n"):format(table.concat(m.aspect_ratios, " ")))
    io.stdout:write(("  sizes: %s\n"):format(m.sizes and table.concat(m.sizes, " ") or "-"))
    io.stdout:write(("  search: %s; input images: %s\n"):format(m.search and "yes (--search)" or "no",
      m.image_input and "yes" or "no (text to image only)"))
    io.stdout:write(("  price: %s%s\n"):format(price(m), m.checked and "" or
      " (the API page is ambiguous about this model: vinano checks nothing)"))
  end
  return cli.OK
end

--- Warns on stderr when model is unknown but close to a known name.
---@param model string|nil
---@return nil
function M.warn_unknown(model)
  if model == nil or api.models[model] then return end
  local hint = require("vinano.suggest").nearest(model, names())
  cli.say(("warning: unknown model '%s', sent as it is%s"):format(model,
    hint and ("; did you mean '%s'?"):format(hint) or " (vinano models lists the known ones)"))
end

return M
