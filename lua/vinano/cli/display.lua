-- Progress on stderr: one line rewritten in place on a terminal, never
-- wider than the terminal (a wrapped line cannot be rewritten and fills
-- the screen); on a pipe or a file no progress at all, only the notes worth
-- keeping in a log (a task id), so logs stay short and end with the result.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local M = {}

local tty -- cached: stderr does not change while the command runs

-- Lua cannot ask isatty(); the shell's `test -t 2` inherits our stderr.
-- VINANO_PROGRESS=tty or plain overrides it.
---@return boolean
function M.is_tty()
  if tty == nil then
    if os.getenv("VINANO_PROGRESS") == "tty" then
      tty = true
    elseif os.getenv("VINANO_PROGRESS") == "plain" then
      tty = false
    else
      local ok = os.execute("test -t 2")
      tty = ok == true or ok == 0
    end
  end
  return tty
end

local columns -- cached, as read when the first line is drawn

--- The terminal's width in columns: $COLUMNS when set, else what `stty
--- size` reads from stderr's terminal, else 80.
---@return integer
function M.width()
  if columns then return columns end
  columns = tonumber(os.getenv("COLUMNS") or "")
  if not columns then
    local p = io.popen("stty size <&2 2>/dev/null")
    local out = p and p:read("*a") or ""
    if p then p:close() end
    columns = tonumber(out:match("^%s*%d+%s+(%d+)"))
  end
  if not columns or columns < 20 then columns = 80 end
  return columns
end

--- text cut to fit in the terminal's last column but one (a line that
--- fills the last column wraps on some terminals).
---@param text string
---@return string
function M.fit(text)
  local room = M.width() - 1
  if #text <= room then return text end
  return text:sub(1, room - 3) .. "..."
end

local drawn = false -- a partial line is on the terminal

--- Rewrites the terminal line with text (cut to the terminal's width).
---@param text string
---@return nil
function M.draw(text)
  io.stderr:write("\r\27[K", M.fit(text))
  io.stderr:flush()
  drawn = true
end

--- Clears the line being drawn, so that what follows starts clean.
---@return nil
function M.reset()
  if drawn then
    io.stderr:write("\r\27[K")
    io.stderr:flush()
    drawn = false
  end
end

local Line = {}
Line.__index = Line

--- A progress line (phase and detail).
---@return table line with :set(phase, detail), :note(text) and :clear()
function M.line()
  return setmetatable({ phase = nil }, Line)
end

--- Shows the phase, rewritten in place on a terminal (nothing elsewhere).
---@param phase string
---@param detail string|nil
---@return nil
function Line:set(phase, detail)
  if M.is_tty() then M.draw(phase .. (detail and (": " .. detail) or "")) end
  self.phase = phase
end

--- A line worth keeping (a task id): printed on its own line everywhere.
---@param text string
---@return nil
function Line:note(text) -- luacheck: no unused args
  M.reset()
  io.stderr:write("vinano: ", text, "\n")
end

--- Clears the line (a terminal).
---@return nil
function Line:clear() -- luacheck: no unused args
  M.reset()
end

return M
