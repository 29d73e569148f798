-- Client-side checks, so that bad input fails with a message naming the
-- field and the rule before any byte is sent.  Two layers:
--   * params(): every rule api.lua states plainly (validate = true, the
--     default).  Unknown models and modes pass: the server may know them.
--   * shape() and files(): what must hold for anything to be sent safely
--     (encodable values, no CR/LF/NUL smuggled into part headers or paths,
--     files that exist, are regular, readable and within 100 MB).  These
--     run even with validate = false.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local api = require "vinano.api"
local errors = require "vinano.errors"

local M = {}

M.max_prompt_chars = api.max_prompt_chars

local invalid = errors.invalid

-- Characters of a UTF-8 string, or nil when the bytes are not UTF-8.
-- Lua 5.4's utf8.len is strict (no surrogates, nothing above U+10FFFF);
-- 5.3's accepts surrogates and 5.1/LuaJIT have none, so they take the loop.
local PUC = not rawget(_G, "jit") -- LuaJIT compiles the loop below into fast code
local strict_utf8_len = _VERSION == "Lua 5.4" and utf8 and utf8.len

---@param s string
---@return integer|nil characters, or nil when s is not valid UTF-8
function M.utf8_length(s)
  if strict_utf8_len then return (strict_utf8_len(s)) end
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

local each = api.each
local FIELDS, FIELD = api.fields, api.field
local scalar, file_part = api.scalar, api.file_part
local check_file -- one image file on disk (below)

-- The string fields of a file table (module constants: no table per call).
local FILE_KEYS = { "path", "data", "filename", "content_type" }
local HEADER_KEYS = { "filename", "content_type" }

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

local function unknown_field(k)
  return invalid(tostring(k), "unknown_field",
    "unknown field (known: prompt, image, imageUrl, model, aspectRatio, mode, hdPro, img_size, googleSearch;"
    .. " validate = false sends it anyway)")
end

local rules -- every rule but the unknown names (below)

--- Every rule of the API page.  Returns true, or nil and an invalid_request error.
---@param params vinano.GenerateParams
---@return true|nil ok
---@return vinano.Error|nil err
function M.params(params)
  for k in pairs(params) do
    if not api.field[k] then return unknown_field(k) end
  end
  return rules(params)
end

function rules(params)
  for i = 1, #STRING_FIELDS do -- numeric loops over these constant lists: no iterator call per field
    local f = STRING_FIELDS[i]
    local v = params[f]
    if v ~= nil and type(v) ~= "string" then
      return invalid(f, "type", "expected a string, got " .. type(v))
    end
  end
  for i = 1, #BOOLEAN_FIELDS do
    local f = BOOLEAN_FIELDS[i]
    local v = params[f]
    if v ~= nil and not is_bool(v) then
      return invalid(f, "type", "expected a boolean, got " .. type(v))
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
  -- the shape of image file tables is shape()'s, which always runs
  local ok, err = check_list(params, "imageUrl", check_url)
  if not ok then return nil, err end

  local model = params.model or api.default_model
  local info = api.models[model]
  if not info or info.checked == false then return true end

  local ratio = params.aspectRatio
  if ratio and not api.base_ratio_set[ratio] then
    if not (info.extended_ratios and api.extended_ratio_set[ratio]) then
      local allowed = table.concat(api.base_ratios, " ")
      if info.extended_ratios then allowed = allowed .. " " .. table.concat(api.extended_ratios, " ") end
      return invalid("aspectRatio", "allowed_values",
        ("'%s' is not supported by %s (allowed: %s)"):format(ratio, model, allowed))
    end
  end
  if params.img_size ~= nil then
    if not info.size_credits then
      return invalid("img_size", "model",
        "only supported by gemini-3.1-pro-image-preview and gemini-3-pro-image-preview, not " .. model)
    end
    if not api.img_size_set[params.img_size] then
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

--- A task id as poll sends it.
---@param id string|integer
---@return true|nil ok
---@return vinano.Error|nil err
function M.task_id(id)
  if id == "" then return invalid("task_id", "required", "must not be empty") end
  if type(id) == "string" and id:find("%z") then return invalid("task_id", "nul", "contains a NUL byte") end
  return true
end

-- Text that goes into a part's header (a name, a file name, a type): a CR,
-- LF or NUL would end the header early and let the rest forge others.
local function header_safe(s)
  return not s:find("[%z\r\n\"]")
end

local function check_scalar(v, label)
  local t = type(v)
  if t == "string" or t == "boolean" then return true end
  if t == "number" and v == v and v ~= math.huge and v ~= -math.huge then return true end
  return invalid(label, "type", "expected a string, number or boolean, got " .. (t == "number" and tostring(v) or t))
end

local function check_file_shape(spec, label)
  local t = type(spec)
  if t == "string" then
    if spec == "" then return invalid(label, "file", "empty file path") end
    if spec:find("%z") then return invalid(label, "nul", "the file path contains a NUL byte") end
    return true
  end
  if t ~= "table" then
    return invalid(label, "file", "expected a file path or a {path=...} / {data=...} table, got " .. t)
  end
  if (spec.path == nil) == (spec.data == nil) then
    return invalid(label, "file", "a file table needs exactly one of path= or data= (a string)")
  end
  for i = 1, #FILE_KEYS do
    local k = FILE_KEYS[i]
    if spec[k] ~= nil and type(spec[k]) ~= "string" then
      return invalid(label, "file", k .. " must be a string, got " .. type(spec[k]))
    end
  end
  if spec.path and spec.path:find("%z") then return invalid(label, "nul", "the file path contains a NUL byte") end
  if spec.path == "" then return invalid(label, "file", "empty file path") end
  for i = 1, #HEADER_KEYS do
    local k = HEADER_KEYS[i]
    if spec[k] and not header_safe(spec[k]) then
      return invalid(label, "header", k .. " must not contain CR, LF, NUL or a double quote")
    end
  end
  if spec.data and #spec.data > api.max_file_bytes then
    return invalid(label, "max_size", "data is over the 100 MB (104857600 bytes) limit")
  end
  return true
end

-- One file of image on disk (after its shape passed).
function check_file(spec, label, fs)
  local path = type(spec) == "string" and spec or spec.path
  if not path then return true end
  local st, why = fs.stat(path)
  local function reason(msg) -- the system's reason, without the path it may repeat
    msg = tostring(msg)
    return msg:sub(1, #path + 2) == path .. ": " and msg:sub(#path + 3) or msg
  end
  if not st then return invalid(label, "file", ("cannot open file '%s' (%s)"):format(path, reason(why))) end
  if st.type ~= "file" then return invalid(label, "file", ("'%s' is not a regular file"):format(path)) end
  if st.size > api.max_file_bytes then
    return invalid(label, "max_size", ("'%s' is %d bytes; the limit is 100 MB (104857600 bytes)")
      :format(path, st.size))
  end
  local ok, rwhy = fs.readable(path)
  if not ok then return invalid(label, "file", ("cannot open file '%s' (%s)"):format(path, reason(rwhy))) end
  return true
end

--- What must hold for params to be sent at all, validation on or off.
---@param params table
---@return true|nil ok
---@return vinano.Error|nil err
function M.shape(params)
  for k, v in pairs(params) do
    local f = api.field[k] -- the API's own names are safe: only unknown ones are scanned
    if not f and (type(k) ~= "string" or not header_safe(k)) then
      return invalid(tostring(k), "name", "field names must be strings without CR, LF, NUL or a double quote")
    end
    local kind = f and f.type
    local ok, err
    if kind == "files" then
      ok, err = check_list(params, k, check_file_shape)
    elseif kind == "urls" then
      ok, err = check_list(params, k, function(u, label)
        if type(u) ~= "string" then return invalid(label, "type", "expected a URL string, got " .. type(u)) end
        return true
      end)
    else
      ok, err = check_scalar(v, k)
    end
    if not ok then return nil, err end
  end
  return true
end

--- The files of params, on disk: each exists, is a regular file (a FIFO or
--- a device is refused without opening it, so nothing blocks), is readable,
--- and is at most 100 MB.  `fs` is the core (stat, readable).
---@param params table
---@param fs {stat: fun(path: string): table|nil, string|nil, readable: fun(path: string): boolean|nil, string|nil}
---@return true|nil ok
---@return vinano.Error|nil err
function M.files(params, fs)
  local v = params.image
  if v == nil then return true end
  local list = each(v)
  for i, spec in ipairs(list) do
    local ok, err = check_file(spec, #list > 1 and ("image[" .. i .. "]") or "image", fs)
    if not ok then return nil, err end
  end
  return true
end

--- What generate and submit_async send, in one pass over api.fields: the
--- API's rules (with_rules: validate = true), what must hold for anything
--- to be sent (shape's checks, always), the multipart parts in wire order
--- (known fields in the page's order, lists as the field repeated, booleans
--- as true/false, then unknown fields sorted by name; a text part is two
--- entries, name then value, a file part a table), and with fs the files
--- on disk (files' checks).  Nothing is kept between calls: the user may
--- change params.  Returns the parts, or nil and an invalid_request error.
---@param params table
---@param with_rules boolean
---@param fs? {stat: function, readable: function} the core (nil: no disk checks)
---@return (string|vinano.Part)[]|nil parts text parts as name, value entries; file parts as tables
---@return vinano.Error|nil err
function M.prepare(params, with_rules, fs)
  local extra, nextra = nil, 0
  for k, v in pairs(params) do
    if not FIELD[k] then
      if with_rules then return unknown_field(k) end
      if type(k) ~= "string" or not header_safe(k) then
        return invalid(tostring(k), "name", "field names must be strings without CR, LF, NUL or a double quote")
      end
      local ok, err = check_scalar(v, k)
      if not ok then return nil, err end
      nextra = nextra + 1
      extra = extra or {}
      extra[nextra] = k
    end
  end
  if with_rules then
    local ok, err = rules(params)
    if not ok then return nil, err end
  end
  -- made with room for ten entries (five text parts), so that filling it
  -- does not grow it four times; the unused ones are cleared below
  local parts, n = { false, false, false, false, false, false, false, false, false, false }, 0
  for i = 1, #FIELDS do -- a numeric loop: no iterator call per field
    local f = FIELDS[i]
    local name = f.name
    local v = params[name]
    if v ~= nil then
      local kind = f.type
      if kind == "files" or kind == "urls" then
        local many = type(v) == "table" and v[1] ~= nil
        local count = many and #v or 1
        for j = 1, many and count or 1 do
          local item = many and v[j] or v
          if item == nil then break end -- as ipairs: up to the first hole
          local label = count > 1 and (name .. "[" .. j .. "]") or name
          local ok, err
          if kind == "files" then
            ok, err = check_file_shape(item, label)
            if ok and fs then ok, err = check_file(item, label, fs) end
          elseif type(item) ~= "string" then
            ok, err = invalid(label, "type", "expected a URL string, got " .. type(item))
          else
            ok = true
          end
          if not ok then return nil, err end
          if kind == "files" then
            n = n + 1
            parts[n] = file_part(item)
          else -- a text part: its name and value as two entries (no table per part)
            parts[n + 1], parts[n + 2] = name, item
            n = n + 2
          end
        end
      else
        -- a string is sent as it is (the rules made sure a string field holds one)
        if (kind ~= "string" or not with_rules) and type(v) ~= "string" then
          local ok, err = check_scalar(v, name)
          if not ok then return nil, err end
          v = scalar(v)
        end
        parts[n + 1], parts[n + 2] = name, v
        n = n + 2
      end
    end
  end
  if extra then
    table.sort(extra)
    for i = 1, nextra do
      parts[n + 1], parts[n + 2] = extra[i], scalar(params[extra[i]])
      n = n + 2
    end
  end
  for i = n + 1, 10 do parts[i] = nil end
  return parts
end

return M
