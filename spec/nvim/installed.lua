-- Run by spec/nvim_installed_spec.lua in headless Neovim, after the
-- runtimepath line of doc/vinano.txt's install section: :checkhealth vinano
-- and :help vinano as a user of the installed vinano sees them, and one
-- generate_cb through the luv driver against a refused port whose callback
-- calls vim.notify.  Writes what it saw to $VINANO_NVIM_REPORT (JSON).
local report = { }
local out = os.getenv("VINANO_NVIM_REPORT")

local function finish()
  local f = assert(io.open(out, "wb"))
  f:write(vim.fn.json_encode(report))
  f:close()
  vim.cmd("qa!")
end

local ok, err = pcall(function()
  vim.cmd("checkhealth vinano")
  report.health = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
  vim.cmd("enew")
  local hok, herr = pcall(vim.cmd, "help vinano")
  report.help_error = not hok and tostring(herr) or nil
  report.help_file = hok and vim.fn.expand("%:p") or nil
  report.help_line = hok and vim.api.nvim_get_current_line() or nil
  vim.cmd("only")

  local vinano = require "vinano"
  report.vinano_from = package.searchpath("vinano", package.path)
  require("vinano.async").luv() -- Neovim's loop, the defaults
  local client = vinano.new { token = "installed-token", base_url = os.getenv("VINANO_NVIM_REFUSED"),
    max_retries = 2 }
  client:generate_cb({ prompt = "nothing listens" }, function(res, gerr)
    -- in luv's fast context vim.notify raises E5560
    local nok, nerr = pcall(vim.notify, "vinano: " .. tostring(gerr), vim.log.levels.WARN)
    report.notify_error = not nok and tostring(nerr) or nil
    report.result = res ~= nil
    report.kind = gerr and gerr.kind
    report.attempts = gerr and gerr.attempts
    finish()
  end)
end)
if not ok then
  report.error = tostring(err)
  finish()
end
