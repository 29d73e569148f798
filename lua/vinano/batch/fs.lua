-- The few path operations a batch needs that plain Lua lacks (folders are
-- made by the core, through download's mkdir).  On Windows both slashes
-- separate, and a path with a drive ("C:\x", "C:x"), a rooted one ("\x")
-- or a UNC one ("\\server\share") is not relative to anything.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local M = {}

--- Whether paths are Windows' (from package.config; a spec may set it).
M.windows = package.config:sub(1, 1) == "\\"

local function absolute(path)
  if path:sub(1, 1) == "/" then return true end
  return M.windows and (path:find("^\\") or path:find("^%a:")) ~= nil
end

--- The folder part of a path ("." when none).
---@param path string
---@return string
function M.dirname(path)
  if not M.windows then
    local dir = path:match("^(.*)/[^/]*$")
    if dir == nil then return "." end
    if dir == "" then return "/" end
    return dir
  end
  local dir, sep = path:match("^(.*)([/\\])[^/\\]*$")
  if dir == nil then return path:match("^%a:") or "." end
  if dir == "" or dir:find("^%a:$") then return dir .. sep end -- a root: "\", "C:\"
  return dir
end

--- base joined with a relative path; absolute paths (and no base) stay.
---@param base string|nil
---@param path string
---@return string
function M.join(base, path)
  if not base or base == "" or base == "." or absolute(path) then return path end
  if not M.windows then return (base:gsub("/+$", "")) .. "/" .. path end
  if base:find("^%a:$") then return base .. path end -- "C:" + "x": the drive's current folder
  return (base:gsub("[/\\]+$", "")) .. "\\" .. path
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

return M
