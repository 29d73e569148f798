-- The few file-system operations a batch needs that plain Lua lacks.
-- POSIX only, like the C core.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local M = {}

--- The folder part of a path ("." when none).
---@param path string
---@return string
function M.dirname(path)
  local dir = path:match("^(.*)/[^/]*$")
  if dir == nil then return "." end
  if dir == "" then return "/" end
  return dir
end

--- base joined with a relative path; absolute paths (and no base) stay.
---@param base string|nil
---@param path string
---@return string
function M.join(base, path)
  if not base or base == "" or base == "." or path:sub(1, 1) == "/" then return path end
  return (base:gsub("/+$", "")) .. "/" .. path
end

--- s quoted for the POSIX shell.
---@param s any
---@return string
function M.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Size in bytes of a regular file, or nil when it cannot be opened.
---@param path string
---@return integer|nil
function M.size(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local size = f:seek("end")
  f:close()
  return size
end

local function is_dir(path)
  -- fopen of "dir/." succeeds only for a folder (a file gives ENOTDIR)
  local f = io.open(path .. "/.", "rb")
  if f then f:close() end
  return f ~= nil
end

-- Creates dir and its parents.  Lua has no mkdir: mkdir -p, only when the
-- folder is missing (the common case, an existing folder, costs no process).
---@param dir string
---@return true|nil ok
---@return string|nil err
function M.mkdir_p(dir)
  if dir == "" or dir == "." or dir == "/" or is_dir(dir) then return true end
  local ok = os.execute("mkdir -p -- " .. M.quote(dir))
  if ok == true or ok == 0 then return true end
  return nil, "cannot create folder " .. dir
end

return M
