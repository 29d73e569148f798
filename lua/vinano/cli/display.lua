-- Progress on stderr: one line rewritten in place on a terminal; on a pipe
-- or a file, a plain line only when the phase changes, so logs stay short.
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

local drawn = false -- a partial line is on the terminal

--- Rewrites the terminal line with text.
---@param text string
---@return nil
function M.draw(text)
  io.stderr:write("\r\27[K", text)
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
---@return table line with :set(phase, detail) and :clear()
function M.line()
  return setmetatable({ phase = nil, last = 0 }, Line)
end

--- Shows the phase: rewritten in place on a terminal, a new line per phase otherwise.
---@param phase string
---@param detail string|nil
---@return nil
function Line:set(phase, detail)
  if M.is_tty() then
    M.draw(phase .. (detail and (": " .. detail) or ""))
  elseif phase ~= self.phase then
    io.stderr:write("vinano: ", phase, detail and (": " .. detail) or "", "\n")
  end
  self.phase = phase
end

--- Clears the line (a terminal).
---@return nil
function Line:clear() -- luacheck: no unused args
  M.reset()
end

return M
