-- A structural reader of the Lua layer's LuaCATS annotations, for the specs
-- that hold the annotations, the vimdoc and the API reference to the code (no
-- lua-language-server needed).  It scans lua/vinano.lua and lua/vinano/**.lua
-- (the mock excepted: it is its own program) and finds:
--   * modules: name, file, whether internal (a `-- vinano: internal` line in
--     the file's leading comment), the table the file returns;
--   * public functions: `function T.name(` / `function T:name(` at the start
--     of a line, name not starting with "_", with the `---` comment block
--     right above (its @param names in order, whether it has @return);
--   * classes (`---@class`) with their fields, aliases (`---@alias`) with
--     their quoted values.
local M = {}

local function sh_lines(cmd)
  local p = assert(io.popen(cmd, "r"))
  local t = {}
  for l in p:lines() do t[#t + 1] = l end
  p:close()
  return t
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- The files scanned, found (not listed): new modules are included as they land.
function M.files()
  local files = {}
  for _, f in ipairs(sh_lines("find lua -name '*.lua' | LC_ALL=C sort")) do
    if not (f:match("^lua/vinano/mock/") or f == "lua/vinano/mock.lua") then files[#files + 1] = f end
  end
  return files
end

function M.module_name(file)
  return (file:gsub("^lua/", ""):gsub("/init%.lua$", ""):gsub("%.lua$", ""):gsub("/", "."))
end

local function split_lines(text)
  local lines = {}
  for l in (text .. "\n"):gmatch("(.-)\r?\n") do lines[#lines + 1] = l end
  return lines
end

-- The parameter names of a signature "(a, b, ...)".
local function params_of(sig)
  local t = {}
  for p in sig:gmatch("[^,%s]+") do t[#t + 1] = p end
  return t
end

function M.scan_file(file)
  local text = read(file)
  local lines = split_lines(text)
  local mod = { file = file, name = M.module_name(file), functions = {}, meta = text:match("^%-%-%-@meta") ~= nil }
  -- the leading comment block: markers
  for _, l in ipairs(lines) do
    if not l:match("^%-%-") then break end
    if l:match("^%-%-%s*vinano:%s*internal") then mod.internal = true end
  end
  -- the returned table: the last top-level `return X` or `return setmetatable(X, ...)`
  for i = #lines, 1, -1 do
    local r = lines[i]:match("^return%s+setmetatable%(%s*([%w_]+)") or lines[i]:match("^return%s+([%w_]+)%s*$")
    if r then
      mod.returns = r
      break
    end
  end
  for i, l in ipairs(lines) do
    local tbl, sep, name, sig = l:match("^function%s+([%w_]+)([.:])([%w_]+)%s*%(([^)]*)%)")
    if tbl and name:sub(1, 1) ~= "_" then
      local fn = { module = mod.name, table = tbl, method = sep == ":", name = name, line = i,
        params = params_of(sig), doc_params = {}, has_return = false, doc = {},
        param_lines = {}, return_lines = {} }
      -- the contiguous `---` block right above, and the `--` comment above it
      local j = i - 1
      local block = {}
      while j >= 1 and lines[j]:match("^%-%-%-") do
        table.insert(block, 1, lines[j])
        j = j - 1
      end
      local k = j
      while k >= 1 and lines[k]:match("^%-%-") and not lines[k]:match("^%-%-%-") do
        table.insert(fn.doc, 1, (lines[k]:gsub("^%-%-%s?", "")))
        k = k - 1
      end
      for _, b in ipairs(block) do
        local p, ptype = b:match("^%-%-%-@param%s+([%w_%.]+%??)%s*(.*)$")
        if p then
          fn.doc_params[#fn.doc_params + 1] = (p:gsub("%?$", ""))
          fn.param_lines[#fn.param_lines + 1] = { name = p, text = ptype }
        end
        local r = b:match("^%-%-%-@return%s*(.*)$")
        if r then
          fn.has_return = true
          fn.return_lines[#fn.return_lines + 1] = r
        end
        local d = b:match("^%-%-%-%s?([^@].*)$")
        if d then fn.doc[#fn.doc + 1] = d end
      end
      fn.public_table = tbl == mod.returns
      mod.functions[#mod.functions + 1] = fn
    end
  end
  -- classes and aliases
  mod.classes, mod.aliases = {}, {}
  local current_class, current_alias
  for _, l in ipairs(lines) do
    local cls = l:match("^%-%-%-@class%s+([%w_%.]+)")
    local alias, rest = l:match("^%-%-%-@alias%s+([%w_%.]+)%s*(.*)$")
    if cls then
      current_class, current_alias = { name = cls, fields = {} }, nil
      mod.classes[cls] = current_class
    elseif alias then
      current_alias, current_class = { name = alias, values = {} }, nil
      mod.aliases[alias] = current_alias
      for v in rest:gmatch('"([^"]+)"') do current_alias.values[#current_alias.values + 1] = v end
    elseif current_class and l:match("^%-%-%-@field") then
      local f = l:match("^%-%-%-@field%s+([%w_]+)")
      if f then current_class.fields[#current_class.fields + 1] = f end
    elseif current_alias and l:match("^%-%-%-|") then
      local v = l:match('^%-%-%-|%s*"([^"]+)"')
      if v then current_alias.values[#current_alias.values + 1] = v end
      for extra in l:gmatch('|%s*"([^"]+)"') do
        if extra ~= v then current_alias.values[#current_alias.values + 1] = extra end
      end
    elseif not l:match("^%-%-%-") then
      current_class, current_alias = nil, nil
    end
  end
  return mod
end

function M.scan()
  local mods = {}
  for _, f in ipairs(M.files()) do mods[#mods + 1] = M.scan_file(f) end
  return mods
end

-- How the docs name a function: `vinano.async.run`, `client:generate`
-- (methods of a module's returned table go by the module's last name part),
-- `vinano.progress-Watch:check` (other tables).
function M.display(fn)
  local last = fn.module:match("([%w_]+)$")
  if fn.public_table then
    if fn.method then return last .. ":" .. fn.name end
    return fn.module .. "." .. fn.name
  end
  return fn.module .. "-" .. fn.table .. (fn.method and ":" or ".") .. fn.name
end

-- The vimdoc tag of a function: `vinano.async.run()`, `vinano-client:generate()`.
function M.tag(fn)
  local d = M.display(fn)
  if fn.public_table and fn.method then d = "vinano-" .. d end
  return d .. "()"
end

-- Every class and alias over all scanned files (types.lua and the others).
function M.types(mods)
  local classes, aliases = {}, {}
  for _, m in ipairs(mods or M.scan()) do
    for k, v in pairs(m.classes) do classes[k] = v end
    for k, v in pairs(m.aliases) do aliases[k] = v end
  end
  return classes, aliases
end

return M
