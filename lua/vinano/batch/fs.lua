-- The few path operations a batch needs that plain Lua lacks (folders are
-- made by the core, through download's mkdir).
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
