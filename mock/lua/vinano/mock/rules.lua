-- The ViNano parameter rules, prices and the mock's image sizes, as written
-- in /work/shared/api-notes.md. Pure functions of the submitted form fields.
local text = require "vinano.mock.text"

local M = {}

M.DEFAULT_MODEL = "gemini-2.5-flash-image-preview"
M.MAX_PROMPT_CHARS = 2000

local BASE_RATIOS = { "auto", "1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3" }
local EXTRA_RATIOS = { "4:1", "1:4", "8:1", "1:8" }

local function set(...)
  local s = {}
  for _, list in ipairs({ ... }) do
    for _, v in ipairs(list) do s[v] = true end
  end
  return s
end

-- What each known model allows. `any` marks what the page leaves ambiguous
-- (Seedance: "2K/3K only", "with web search"): accepted unchecked, as the
-- client does. Unknown models are passed through unchecked too, except that
-- their aspect ratio must be one the API knows at all.
local MODELS = {
  ["gemini-2.5-flash-image-preview"] = { ratios = set(BASE_RATIOS), image = true },
  ["gemini-3.1-pro-image-preview"] = { ratios = set(BASE_RATIOS, EXTRA_RATIOS), image = true,
    img_size = true, google_search = true },
  ["gemini-3-pro-image-preview"] = { ratios = set(BASE_RATIOS), image = true, img_size = true },
  ["sora_image"] = { ratios = set(BASE_RATIOS), image = true },
  ["Seedance-5.0"] = { ratios = set(BASE_RATIOS), image = true, img_size = "any", google_search = true },
  ["Z-Image"] = { ratios = set(BASE_RATIOS), image = false },
}
-- Exposed read-only, for the spec that checks them against the client's own
-- table (spec/api_mock_agreement_spec.lua): the two are written apart on
-- purpose, each from the page, so that one cannot hide the other's mistake.
M.MODELS, M.BASE_RATIOS, M.EXTRA_RATIOS = MODELS, BASE_RATIOS, EXTRA_RATIOS
local UNKNOWN_MODEL = { ratios = set(BASE_RATIOS, EXTRA_RATIOS), image = true, img_size = "any",
  google_search = true }
M.SIZE_LIST = { "1k", "2k", "4k" }
local SIZES = set(M.SIZE_LIST)

-- Fields that take one value; image and imageUrl may repeat.
local SINGLE = { "prompt", "model", "aspectRatio", "mode", "hdPro", "img_size", "googleSearch" }

-- Width x height of the served PNG per aspect ratio: small, exact ratios.
local DIMENSIONS = {
  ["1:1"] = { 64, 64 }, ["16:9"] = { 64, 36 }, ["9:16"] = { 36, 64 }, ["4:3"] = { 64, 48 },
  ["3:4"] = { 48, 64 }, ["3:2"] = { 63, 42 }, ["2:3"] = { 42, 63 }, ["4:1"] = { 128, 32 },
  ["1:4"] = { 32, 128 }, ["8:1"] = { 128, 16 }, ["1:8"] = { 16, 128 }, ["auto"] = { 64, 64 },
}

function M.dimensions(ratio)
  local d = DIMENSIONS[ratio or "auto"] or DIMENSIONS.auto
  return d[1], d[2]
end

-- Groups multipart parts by name: fields[name] = list of parts.
function M.group(parts)
  local fields = {}
  for _, p in ipairs(parts) do
    local list = fields[p.name]
    if not list then list = {}; fields[p.name] = list end
    list[#list + 1] = p
  end
  return fields
end

local function fail(field, rule) return nil, field .. ": " .. rule end

-- validate(parts) -> params table, or nil and "<field>: <rule>".
-- params: { prompt, model, aspectRatio, mode, hdPro (bool), img_size,
-- googleSearch (bool), images (count of files), imageUrls (count) }.
function M.validate(parts)
  local fields = M.group(parts)
  for _, name in ipairs(SINGLE) do
    if fields[name] and #fields[name] > 1 then return fail(name, "must be given at most once") end
  end
  local function value(name)
    local list = fields[name]
    if not list then return nil end
    if list[1].filename then return false end -- a file where text was expected
    return list[1].data
  end
  for _, name in ipairs(SINGLE) do
    if value(name) == false then return fail(name, "must be a text field, not a file") end
  end

  local p = { prompt = value("prompt"), model = value("model") or M.DEFAULT_MODEL,
    aspectRatio = value("aspectRatio"), mode = value("mode"), img_size = value("img_size") }
  if p.prompt == "" then p.prompt = nil end

  if p.prompt then
    local chars = text.utf8_length(p.prompt)
    if not chars then return fail("prompt", "must be valid UTF-8") end
    if chars > M.MAX_PROMPT_CHARS then
      return fail("prompt", "must be at most " .. M.MAX_PROMPT_CHARS .. " characters (got " .. chars .. ")")
    end
  end
  p.images, p.imageUrls = 0, 0
  for _, part in ipairs(fields.image or {}) do
    if not part.filename then return fail("image", "must be a file upload") end
    p.images = p.images + 1
  end
  for _, part in ipairs(fields.imageUrl or {}) do
    if part.filename then return fail("imageUrl", "must be a text field, not a file") end
    if part.data == "" then return fail("imageUrl", "must not be empty") end
    p.imageUrls = p.imageUrls + 1
  end
  if not p.prompt and p.images == 0 and p.imageUrls == 0 then
    return fail("prompt", "one of prompt, image or imageUrl is required")
  end

  local model = MODELS[p.model] or UNKNOWN_MODEL
  if not model.image and (p.images > 0 or p.imageUrls > 0) then
    return fail(p.images > 0 and "image" or "imageUrl", p.model .. " is text-to-image only")
  end
  if p.aspectRatio and not model.ratios[p.aspectRatio] then
    return fail("aspectRatio", "not supported by " .. p.model)
  end
  for _, name in ipairs({ "hdPro", "googleSearch" }) do
    local v = value(name)
    if v ~= nil and v ~= "true" and v ~= "false" then return fail(name, 'must be "true" or "false"') end
    p[name] = (v == "true")
  end
  if p.img_size then
    if not model.img_size then
      return fail("img_size", "only for gemini-3.1-pro-image-preview and gemini-3-pro-image-preview")
    end
    if model.img_size ~= "any" and not SIZES[p.img_size] then
      return fail("img_size", "must be one of 1k, 2k, 4k")
    end
  end
  if p.googleSearch and not model.google_search then
    return fail("googleSearch", "only for gemini-3.1-pro-image-preview")
  end
  return p
end

-- Credits per request. For the two models priced by img_size, a request
-- without img_size is charged the 1k price (the page names no default size;
-- 1k is the cheapest and the natural default), and hdPro does not change
-- their price (the page prices them by size only). Every other model:
-- hdPro 30, else 10.
local SIZE_PRICES = {
  ["gemini-3.1-pro-image-preview"] = { ["1k"] = 25, ["2k"] = 35, ["4k"] = 60 },
  ["gemini-3-pro-image-preview"] = { ["1k"] = 30, ["2k"] = 50, ["4k"] = 80 },
}

function M.cost(p)
  local prices = SIZE_PRICES[p.model]
  if prices then return prices[p.img_size or "1k"] end
  return p.hdPro and 30 or 10
end

return M
