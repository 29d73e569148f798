-- Client-side checks of every rule api-notes.md states plainly, so that bad
-- input fails with a message naming the field and the rule before any byte
-- is sent.  Unknown models and modes pass: the server may know them.
-- vinano: internal (not part of the public API; see docs/reference.md)
local core = require "vinano.core"
local models = require "vinano.models"

local M = {}

M.max_prompt_chars = 2000

local known_fields = {
  prompt = true, image = true, imageUrl = true, model = true, aspectRatio = true,
  mode = true, hdPro = true, img_size = true, googleSearch = true,
}

local function invalid(field, rule, message)
  return nil, core.error { kind = "invalid_request", field = field, rule = rule, message = field .. ": " .. message }
end

-- Characters of a UTF-8 string, or nil when the bytes are not UTF-8.
-- Works the same on 5.1/LuaJIT, which have no utf8 library.
local PUC = not rawget(_G, "jit") -- LuaJIT compiles the loop below into fast code

---@param s string
---@return integer? length nil when s is not UTF-8
function M.utf8_length(s)
  -- ASCII, the usual prompt: one scan in C instead of a Lua loop per byte
  if PUC and not s:find("[\128-\255]") then return #s end
  local i, n, len = 1, #s, 0
  while i <= n do
    local c = s:byte(i)
    local extra
    if c < 0x80 then extra = 0
    elseif c >= 0xC2 and c <= 0xDF then extra = 1
    elseif c >= 0xE0 and c <= 0xEF then extra = 2
    elseif c >= 0xF0 and c <= 0xF4 then extra = 3
    else return nil end
    if i + extra > n then return nil end
    for k = i + 1, i + extra do
      local cc = s:byte(k)
      if cc < 0x80 or cc > 0xBF then return nil end
    end
    if extra == 2 then -- overlongs and UTF-16 surrogates
      local c2 = s:byte(i + 1)
      if (c == 0xE0 and c2 < 0xA0) or (c == 0xED and c2 > 0x9F) then return nil end
    elseif extra == 3 then
      local c2 = s:byte(i + 1)
      if (c == 0xF0 and c2 < 0x90) or (c == 0xF4 and c2 > 0x8F) then return nil end
    end
    i = i + extra + 1
    len = len + 1
  end
  return len
end

local function is_bool(v) return type(v) == "boolean" or v == "true" or v == "false" end
local function truthy(v) return v == true or v == "true" end

-- A value or a list of values, as the form builder accepts them.
local function each(v)
  if type(v) == "table" and v[1] ~= nil then return v end
  return { v }
end

local function check_image(spec, label)
  local t = type(spec)
  if t == "string" then
    if spec == "" then return invalid(label, "file", "empty file path") end
    return true
  end
  if t ~= "table" then
    return invalid(label, "file", "expected a file path or a {path=...} / {data=...} table, got " .. t)
  end
  if (spec.path == nil) == (spec.data == nil) then
    return invalid(label, "file", "a file table needs exactly one of path= or data=")
  end
  for _, k in ipairs { "path", "data", "filename", "content_type" } do
    if spec[k] ~= nil and type(spec[k]) ~= "string" then
      return invalid(label, "file", k .. " must be a string, got " .. type(spec[k]))
    end
  end
  return true
end

local function check_list(params, field, checker)
  local v = params[field]
  if v == nil then return true end
  local list = each(v)
  if type(v) == "table" and v[1] == nil and field == "imageUrl" then
    return invalid(field, "type", "expected a URL string or a list of them")
  end
  for i, item in ipairs(list) do
    local label = #list > 1 and (field .. "[" .. i .. "]") or field
    local ok, err = checker(item, label)
    if not ok then return nil, err end
  end
  return true
end

local function check_url(url, label)
  if type(url) ~= "string" or url == "" then
    return invalid(label, "type", "expected a non-empty URL string, got " .. type(url))
  end
  return true
end

local function present(v)
  if v == nil or v == "" then return false end
  if type(v) == "table" and next(v) == nil then return false end
  return true
end

local STRING_FIELDS = { "prompt", "model", "aspectRatio", "mode", "img_size" }
local BOOLEAN_FIELDS = { "hdPro", "googleSearch" }

-- Returns true, or nil and an invalid_request error.
---@param params vinano.GenerateParams
---@return true? ok
---@return vinano.Error? err
function M.params(params)
  for k in pairs(params) do
    if not known_fields[k] then
      return invalid(tostring(k), "unknown_field",
        "unknown field (known: prompt, image, imageUrl, model, aspectRatio, mode, hdPro, img_size, googleSearch;"
        .. " validate = false sends it anyway)")
    end
  end
  for _, f in ipairs(STRING_FIELDS) do
    if params[f] ~= nil and type(params[f]) ~= "string" then
      return invalid(f, "type", "expected a string, got " .. type(params[f]))
    end
  end
  for _, f in ipairs(BOOLEAN_FIELDS) do
    if params[f] ~= nil and not is_bool(params[f]) then
      return invalid(f, "type", "expected a boolean, got " .. type(params[f]))
    end
  end

  if not (present(params.prompt) or present(params.image) or present(params.imageUrl)) then
    return invalid("prompt", "required", "at least one of prompt, image or imageUrl must be given")
  end
  if params.prompt then
    local n = M.utf8_length(params.prompt)
    if not n then return invalid("prompt", "utf8", "not valid UTF-8") end
    if n > M.max_prompt_chars then
      return invalid("prompt", "max_length",
        ("at most %d characters, got %d"):format(M.max_prompt_chars, n))
    end
  end
  local ok, err = check_list(params, "image", check_image)
  if not ok then return nil, err end
  ok, err = check_list(params, "imageUrl", check_url)
  if not ok then return nil, err end

  local model = params.model or models.default_model
  local info = models.models[model]
  if not info or info.checked == false then return true end

  local ratio = params.aspectRatio
  if ratio and not models.base_ratio_set[ratio] then
    if not (info.extended_ratios and models.extended_ratio_set[ratio]) then
      local allowed = table.concat(models.base_ratios, " ")
      if info.extended_ratios then allowed = allowed .. " " .. table.concat(models.extended_ratios, " ") end
      return invalid("aspectRatio", "allowed_values",
        ("'%s' is not supported by %s (allowed: %s)"):format(ratio, model, allowed))
    end
  end
  if params.img_size ~= nil then
    if not info.size_credits then
      return invalid("img_size", "model",
        "only supported by gemini-3.1-pro-image-preview and gemini-3-pro-image-preview, not " .. model)
    end
    if not models.img_size_set[params.img_size] then
      return invalid("img_size", "allowed_values", ("'%s' is not one of 1k, 2k, 4k"):format(params.img_size))
    end
  end
  if truthy(params.googleSearch) and not info.google_search then
    return invalid("googleSearch", "model", "only supported by gemini-3.1-pro-image-preview, not " .. model)
  end
  if not info.image_input and (present(params.image) or present(params.imageUrl)) then
    local field = present(params.image) and "image" or "imageUrl"
    return invalid(field, "model", model .. " is text-to-image only: it takes no image or imageUrl")
  end
  return true
end

-- A task id as poll sends it.
---@param id string|integer
---@return true? ok
---@return vinano.Error? err
function M.task_id(id)
  if id == "" then return invalid("task_id", "required", "must not be empty") end
  return true
end

return M
