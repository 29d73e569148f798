-- What the API page states about each model, in one table: validation and
-- credit estimates both read it, so they cannot disagree.
-- vinano: internal (not part of the public API; see docs/reference.md)
local M = {}

M.default_model = "gemini-2.5-flash-image-preview"

M.base_ratios = { "auto", "1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3" }
M.extended_ratios = { "4:1", "1:4", "8:1", "1:8" }
M.img_sizes = { "1k", "2k", "4k" }

-- checked = false: the page is ambiguous about this model (Seedance), so the
-- client does not block anything the server might accept.
M.models = {
  ["gemini-2.5-flash-image-preview"] = { name = "Nano Banana", image_input = true },
  ["gemini-3.1-pro-image-preview"] = {
    name = "Nano Banana 2", extended_ratios = true, google_search = true, image_input = true,
    size_credits = { ["1k"] = 25, ["2k"] = 35, ["4k"] = 60 },
  },
  ["gemini-3-pro-image-preview"] = {
    name = "Nano Banana Pro", image_input = true,
    size_credits = { ["1k"] = 30, ["2k"] = 50, ["4k"] = 80 },
  },
  ["sora_image"] = { name = "GPT-Image 2", image_input = true },
  ["Seedance-5.0"] = { name = "Seedance 5.0", image_input = true, checked = false },
  ["Z-Image"] = { name = "ViNano Basic", image_input = false },
}

M.credits = { normal = 10, hd = 30 }

local function set(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

M.base_ratio_set = set(M.base_ratios)
M.extended_ratio_set = set(M.extended_ratios)
M.img_size_set = set(M.img_sizes)

-- Credits a request will cost, from the page's table.  img_size absent on a
-- sized model is priced as 1k, the smallest size (the page names no default).
---@param params vinano.GenerateParams
---@return integer credits
function M.estimate_credits(params)
  local info = M.models[params.model or M.default_model]
  if info and info.size_credits then
    return info.size_credits[params.img_size or "1k"] or info.size_credits["1k"]
  end
  if params.hdPro == true or params.hdPro == "true" then return M.credits.hd end
  return M.credits.normal
end

return M
