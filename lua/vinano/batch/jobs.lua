-- The jobs of a batch: normalising the caller's tables, reading a JSON Lines
-- manifest, checking every job before anything is sent, and the canonical
-- form of a job's parameters that tells the journal whether a job changed.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local cjson = require("cjson").new()
local fs = require "vinano.batch.fs"

local M = {}

-- Sorted keys and one spelling per value, so that the same parameters give
-- the same string in any run, on any Lua (pairs order is not stable).
local function canonical(v, out)
  local t = type(v)
  if t == "table" then
    local n = #v
    local count = 0
    for _ in pairs(v) do count = count + 1 end
    if count == n and n > 0 then
      out[#out + 1] = "["
      for i = 1, n do
        if i > 1 then out[#out + 1] = "," end
        canonical(v[i], out)
      end
      out[#out + 1] = "]"
      return
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    out[#out + 1] = "{"
    for i, k in ipairs(keys) do
      if i > 1 then out[#out + 1] = "," end
      out[#out + 1] = cjson.encode(k)
      out[#out + 1] = ":"
      local value = v[k]
      if value == nil then value = v[tonumber(k)] end
      canonical(value, out)
    end
    out[#out + 1] = "}"
  elseif t == "number" then
    if v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then
      out[#out + 1] = string.format("%d", v)
    else
      out[#out + 1] = string.format("%.17g", v)
    end
  elseif t == "string" then
    out[#out + 1] = cjson.encode(v)
  elseif t == "boolean" then
    out[#out + 1] = tostring(v)
  else
    out[#out + 1] = "null"
  end
end

--- The canonical JSON of a value: sorted keys, one spelling per number.
---@param v any
---@return string
function M.canonical(v)
  local out = {}
  canonical(v, out)
  return table.concat(out)
end

---A job as the caller writes it: generate fields plus `out` and `id`.
---@class vinano.BatchJobSpec: vinano.GenerateParams
---@field out string the file to write (relative: to opts.out_dir)
---@field id? string|number a stable id (default: `out` as written)

---A job as vinano.batch works on it (normalize, load).
---@class vinano.BatchJob
---@field index integer position in the input list
---@field id string
---@field out string the path written
---@field params vinano.GenerateParams the generate fields
---@field canon string their canonical JSON (tells the journal whether the job changed)
---@field model string params.model, or "default"
---@field line? integer the manifest's line (batch.load)
---@field action? "skip"|"uncertain"|"download"|"poll"|"submit" what this run does with it (set by batch.run)

local RESERVED = { out = true, id = true }

local function bad(message, index, field)
  return nil, { index = index, field = field, message = message }
end

-- normalize(list, opts) -> jobs, or nil and a list of problems
-- ({index=, field=, message=}).  A job: {index, id, out (the path written),
-- params (the generate fields), canon (their canonical JSON), model}.
-- opts.out_dir: base of relative `out` paths; opts.canon: per-job canonical
-- strings computed before paths were resolved (image paths are resolved by
-- load, not here).
---@param list vinano.BatchJobSpec[]
---@param opts? {out_dir?: string, canon?: string[]}
---@return vinano.BatchJob[]|nil jobs
---@return {index: integer, field: string?, message: string}[]|nil problems
function M.normalize(list, opts)
  opts = opts or {}
  local jobs, problems, ids, outs = {}, {}, {}, {}
  for i, spec in ipairs(list) do
    local job, why
    if type(spec) ~= "table" then
      job, why = bad("a job must be a table of generate fields with `out`", i)
    elseif type(spec.out) ~= "string" or spec.out == "" then
      job, why = bad("out: the output path is required (a string)", i, "out")
    elseif spec.id ~= nil and type(spec.id) ~= "string" and type(spec.id) ~= "number" then
      job, why = bad("id: must be a string", i, "id")
    else
      local params = {}
      for k, v in pairs(spec) do
        if not RESERVED[k] then params[k] = v end
      end
      local id = spec.id ~= nil and tostring(spec.id) or spec.out
      local out = fs.join(opts.out_dir, spec.out)
      job = { index = i, id = id, out = out, params = params,
        canon = opts.canon and opts.canon[i] or M.canonical(params),
        model = type(params.model) == "string" and params.model or "default" }
      if ids[id] then
        job, why = bad(("id: %q is also job %d's"):format(id, ids[id]), i, "id")
      elseif outs[out] then
        job, why = bad(("out: %s is also job %d's output"):format(out, outs[out]), i, "out")
      else
        ids[id], outs[out] = i, i
      end
    end
    if job then jobs[#jobs + 1] = job else problems[#problems + 1] = why end
  end
  if #problems > 0 then return nil, problems end
  return jobs
end

local function resolve_images(v, dir)
  if type(v) == "string" then return fs.join(dir, v) end
  if type(v) == "table" then
    if v.path then
      local copy = {}
      for k, x in pairs(v) do copy[k] = x end
      copy.path = fs.join(dir, v.path)
      return copy
    end
    local list = {}
    for i, x in ipairs(v) do list[i] = resolve_images(x, dir) end
    return list
  end
  return v
end

-- load(path, opts) -> jobs, or nil and problems: every problem of the file
-- at once (lines that are not JSON objects, jobs without `out`, repeated ids
-- or outputs, and what opts.check(job) -> true|nil, message refuses), in
-- line order.  One JSON object per line (blank lines and lines starting
-- with # are skipped).  `out` is relative
-- to opts.out_dir (default: the manifest's folder); relative image paths to
-- the manifest's folder, so a manifest and its inputs move together.  The
-- canonical form is taken before paths are resolved, so moving the folder
-- does not make every job new.
---@param path string
---@param opts? {out_dir?: string, check?: fun(job: vinano.BatchJob): true|nil, string?}
---@return vinano.BatchJob[]|nil jobs
---@return {line: integer?, index: integer?, message: string}[]|nil problems
function M.load(path, opts)
  opts = opts or {}
  local f, err = io.open(path, "rb")
  if not f then return nil, { { message = tostring(err) } } end
  local dir = fs.dirname(path)
  local list, canon, problems, lineno = {}, {}, {}, 0
  for line in f:lines() do
    lineno = lineno + 1
    line = line:gsub("\r$", "")
    if line:find("%S") and not line:find("^%s*#") then
      local ok, v = pcall(cjson.decode, line)
      if not ok or type(v) ~= "table" then
        problems[#problems + 1] = { line = lineno,
          message = ("%s:%d: not a JSON object (%s)"):format(path, lineno, ok and type(v) or tostring(v)) }
      else
        for k, x in pairs(v) do
          if x == cjson.null then v[k] = nil end
        end
        local params = {}
        for k, x in pairs(v) do
          if not RESERVED[k] then params[k] = x end
        end
        canon[#list + 1] = M.canonical(params)
        if v.image ~= nil then v.image = resolve_images(v.image, dir) end
        list[#list + 1] = v
        list[#list].__line = lineno
      end
    end
  end
  f:close()
  local lines = {}
  for i, v in ipairs(list) do
    lines[i] = v.__line
    v.__line = nil
  end
  -- the lines that parsed are checked too, so that one run shows everything
  local jobs, why = M.normalize(list, { out_dir = opts.out_dir or dir, canon = canon })
  for _, p in ipairs(why or {}) do
    p.line = lines[p.index]
    p.message = ("%s:%d: %s"):format(path, p.line or 0, p.message)
    problems[#problems + 1] = p
  end
  local refused = {}
  for _, p in ipairs(why or {}) do refused[p.index] = true end
  if opts.check then
    -- normalize gives no list when a job fails: check the others one by one
    local checked = jobs or {}
    if not jobs then
      for i, v in ipairs(list) do
        if not refused[i] then
          local one = M.normalize({ v }, { out_dir = opts.out_dir or dir, canon = { canon[i] } })
          if one then
            one[1].index = i
            checked[#checked + 1] = one[1]
          end
        end
      end
    end
    for _, job in ipairs(checked) do
      local ok, message = opts.check(job)
      if not ok then
        problems[#problems + 1] = { index = job.index, line = lines[job.index],
          message = ("%s:%d: %s"):format(path, lines[job.index] or 0, tostring(message)) }
      end
    end
  end
  if #problems > 0 then
    table.sort(problems, function(a, b) return (a.line or 0) < (b.line or 0) end)
    return nil, problems
  end
  for _, job in ipairs(jobs) do job.line = lines[job.index] end
  return jobs
end

-- check(client, job) -> true, or nil and a vinano error: everything the
-- client would refuse before sending (its rules, the files on disk), sent
-- nowhere.
---@param client vinano.Client
---@param job {params: vinano.GenerateParams}
---@return true|nil ok
---@return vinano.Error|nil err
function M.check(client, job)
  return client:check(job.params)
end

return M
