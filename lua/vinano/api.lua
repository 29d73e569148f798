-- The one definition of the ViNano API as its page states it
-- (docs/api-notes.md): endpoints, fields in wire order with their types,
-- models, prices, limits.  Validation, the multipart parts and credit
-- estimates all read these tables, so they cannot disagree.  A new
-- parameter is one entry in FIELDS (and its rule in validate.lua).
-- vinano: internal (not part of the public API; see docs/architecture.md)
local M = {}

M.base_url = "https://vinano.ai"

---@class vinano.Endpoint
---@field method "GET"|"POST"
---@field path string
---@field query? string the parameter that goes in the query string
---@field needs? string the field a 2xx body must have

---@type table<string, vinano.Endpoint>
M.endpoints = {
  generate = { method = "POST", path = "/api/v2/images/generate", needs = "images" },
  submit = { method = "POST", path = "/api/v1/images/async", needs = "task_id" },
  poll = { method = "GET", path = "/api/v1/images/task-status", query = "task_id" },
}

M.max_prompt_chars = 2000
M.max_file_bytes = 100 * 1024 * 1024
M.poll_interval = { min = 3, max = 5 } -- the page advises polling every 3 to 5 s

-- The fields in the order of the page's curl example, which is the order
-- `curl -F` puts them on the wire.  type: "string" | "boolean" | "files" | "urls".
M.fields = {
  { name = "prompt", type = "string" },
  { name = "model", type = "string" },
  { name = "aspectRatio", type = "string" },
  { name = "googleSearch", type = "boolean" },
  { name = "mode", type = "string" },
  { name = "hdPro", type = "boolean" },
  { name = "img_size", type = "string" },
  { name = "image", type = "files" },
  { name = "imageUrl", type = "urls" },
}
M.field = {}
for i, f in ipairs(M.fields) do
  f.order = i
  M.field[f.name] = f
end

M.default_model = "gemini-2.5-flash-image-preview"
M.base_ratios = { "auto", "1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3" }
M.extended_ratios = { "4:1", "1:4", "8:1", "1:8" }
M.img_sizes = { "1k", "2k", "4k" }

---Models the API page names (docs/api-notes.md).  Unknown names pass
---through unchecked: the server may know them.
---@alias vinano.Model
---| "gemini-2.5-flash-image-preview" # Nano Banana (the default): 10 credits, 30 with hdPro
---| "gemini-3.1-pro-image-preview" # Nano Banana 2: also 4:1 1:4 8:1 1:8, img_size (25/35/60), googleSearch
---| "gemini-3-pro-image-preview" # Nano Banana Pro: img_size (30/50/80)
---| "sora_image" # GPT-Image 2
---| "Seedance-5.0" # Seedance 5.0 (the page is ambiguous about it: not checked)
---| "Z-Image" # ViNano Basic: text-to-image only (no image, no imageUrl)
---| string

---Aspect ratios; the last four only on gemini-3.1-pro-image-preview.
---@alias vinano.AspectRatio
---| "auto" | "1:1" | "16:9" | "9:16" | "4:3" | "3:4" | "3:2" | "2:3"
---| "4:1" | "1:4" | "8:1" | "1:8"

---Output size, only on gemini-3.1-pro-image-preview and gemini-3-pro-image-preview.
---@alias vinano.ImgSize "1k" | "2k" | "4k"

---Free-form on the page; the known ones.
---@alias vinano.Mode "txt2img" | "photo_restoration" | "figure" | "meme" | string

---What api.lua knows of a model.
---@class vinano.ModelInfo
---@field name string the page's name for it
---@field extended_ratios? boolean also 4:1 1:4 8:1 1:8
---@field google_search? boolean takes googleSearch = true
---@field image_input boolean takes image / imageUrl
---@field size_credits? table<string, integer> takes img_size; its price per size
---@field checked? false the page is ambiguous: the client blocks nothing

-- checked = false: the page is ambiguous about Seedance, so the client does
-- not block anything the server might accept.
---@type table<string, vinano.ModelInfo>
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

-- HTTP status -> error kind (other 4xx: bad_request; 5xx and the rest: server).
M.status_kinds = {
  [400] = "bad_request", [401] = "unauthorized", [403] = "forbidden", [413] = "payload_too_large",
  [429] = "rate_limited", [495] = "insufficient_credits",
}

-- What a poll answer's `status` says (api-notes: "What the page leaves open").
M.poll_words = {
  pending = "pending", queued = "pending", processing = "pending", running = "pending",
  in_progress = "pending", ["202"] = "pending",
  failed = "failed", error = "failed", cancelled = "failed", canceled = "failed", timeout = "failed",
  ["200"] = "done", done = "done", completed = "done", succeeded = "done", success = "done",
}

-- The response headers the client reads, by lower-case name: how the core
-- collects each as it arrives ("number": as tonumber reads it; "string").
M.response_headers = {
  ["x-ratelimit-limit"] = "number", ["x-ratelimit-remaining"] = "number", ["x-ratelimit-reset"] = "number",
  ["retry-after"] = "string",
}
M.rate_limit_headers = { limit = "x-ratelimit-limit", remaining = "x-ratelimit-remaining", reset = "x-ratelimit-reset" }

-- Where a server or a proxy puts an error's text.
M.message_fields = { "message", "error", "msg", "detail" }

local function set(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end
M.base_ratio_set = set(M.base_ratios)
M.extended_ratio_set = set(M.extended_ratios)
M.img_size_set = set(M.img_sizes)

--- Credits a request will cost, from the page's table.  img_size absent on a
--- sized model is priced as 1k, the smallest size (the page names no default).
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

--- A value or a list of values, as a list.
---@param v any
---@return any[]
function M.each(v)
  if type(v) == "table" and v[1] ~= nil then return v end
  return { v }
end

local function scalar(v)
  local t = type(v)
  if t == "string" then return v end
  if t == "boolean" then return v and "true" or "false" end
  if t == "number" then
    if v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then return ("%d"):format(v) end
    return ("%.17g"):format(v)
  end
  return nil
end

-- A default file name for in-memory data, so the server sees the same
-- extension (and libcurl the same Content-Type) as for a file.
local function sniff_name(d)
  if d:sub(1, 8) == "\137PNG\r\n\26\n" then return "image.png" end
  if d:sub(1, 3) == "\255\216\255" then return "image.jpg" end
  local gif = d:sub(1, 6)
  if gif == "GIF87a" or gif == "GIF89a" then return "image.gif" end
  if d:sub(1, 4) == "RIFF" and d:sub(9, 12) == "WEBP" then return "image.webp" end
  return "image.bin"
end

---@class vinano.Part
---@field name string
---@field value? string
---@field file? string
---@field data? string
---@field filename? string
---@field type? string

local function file_part(spec)
  if type(spec) == "string" then return { name = "image", file = spec } end
  local part = { name = "image", filename = spec.filename, type = spec.content_type }
  if spec.path ~= nil then
    part.file = spec.path
  else
    part.data = spec.data
    part.filename = part.filename or sniff_name(spec.data)
  end
  return part
end

M.file_part = file_part

--- The multipart parts for params, in wire order: known fields first in the
--- page's order (lists as the field repeated, booleans as true/false), then
--- fields the API may add later (sorted by name) when validation is off.
--- Assumes validate.shape(params) passed.  (validate.prepare builds them,
--- with its checks in the same pass: one place.)  A text part is two
--- entries, its name then its value; a file part is a table.
---@param params vinano.GenerateParams
---@return (string|vinano.Part)[]
function M.parts(params)
  return (require("vinano.validate").prepare(params, false))
end

M.scalar = scalar

return M
