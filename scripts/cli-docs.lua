-- Writes the `vinano` command's man page (doc/vinano.1) and its bash and zsh
-- completion scripts (completions/vinano.bash, completions/_vinano) from the
-- argparse definitions in lua/vinano/cli.lua, so that they cannot disagree
-- with `vinano --help`.  `--check`: writes nothing, exits 1 when a shipped
-- file differs from what the definitions give (spec/cli_habits_spec.lua).
--   lua5.4 scripts/cli-docs.lua            (make cli-docs)
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
local cli = require "vinano.cli"
local vinano = require "vinano"

-- roff: backslashes doubled, a line's leading . or ' escaped
local function roff(text)
  return (text:gsub("\\", "\\e"):gsub("\n([.'])", "\n\\&%1"):gsub("^([.'])", "\\&%1"):gsub("%-", "\\-"))
end

local function man()
  local _, commands = cli.parser()
  local out = {
    ('.TH VINANO 1 "" "vinano %s" "User Commands"'):format(vinano.version),
    ".SH NAME", "vinano \\- generate images with the ViNano API",
    ".SH SYNOPSIS", ".B vinano", "\\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGUMENTS\\fR]",
    ".br", ".B vinano --version",
    ".SH DESCRIPTION",
    roff("Generates images with the ViNano API: one image (generate, or submit a task and wait for it), a"
      .. " resumable batch from a JSON Lines manifest, a task's status, a credit estimate, the models, the local"
      .. " mock server. Each command's options follow; `vinano COMMAND --help` prints the same."),
    ".SH COMMANDS",
  }
  for _, c in ipairs(commands) do
    out[#out + 1] = ('.SS "vinano %s"'):format(c._name)
    out[#out + 1] = ".nf"
    out[#out + 1] = roff(c:get_help():gsub("\n+$", ""))
    out[#out + 1] = ".fi"
  end
  out[#out + 1] = ".SH ENVIRONMENT"
  for _, v in ipairs {
    { "VINANO_API_TOKEN", "The API token (or --token-file FILE); never a command-line value." },
    { "VINANO_BASE_URL", "Another server, e.g. the mock's URL (vinano mock)." },
    { "VINANO_PROGRESS", "tty or plain: draw the progress line, or print none, whatever stderr is." },
    { "COLUMNS", "The terminal's width for the progress line (else stty's)." },
    { "VINANO_DEBUG", "Set: an internal error also prints its Lua traceback." },
  } do
    out[#out + 1] = ".TP"
    out[#out + 1] = ".B " .. v[1]
    out[#out + 1] = roff(v[2])
  end
  out[#out + 1] = ".SH EXIT STATUS"
  out[#out + 1] = roff(cli.EXIT_STATUS)
  out[#out + 1] = ".SH SEE ALSO"
  out[#out + 1] = roff("The README and doc/vinano.txt (in Neovim: :h vinano-command) of the vinano rock.")
  return table.concat(out, "\n") .. "\n"
end

local files = {
  ["doc/vinano.1"] = man(),
  ["completions/vinano.bash"] = cli.parser():get_bash_complete(),
  ["completions/_vinano"] = cli.parser():get_zsh_complete(),
}

local check = arg[1] == "--check"
local stale = {}
local names = {}
for name in pairs(files) do names[#names + 1] = name end
table.sort(names)
for _, name in ipairs(names) do
  local f = io.open(name, "rb")
  local have = f and f:read("*a")
  if f then f:close() end
  if have ~= files[name] then
    if check then
      stale[#stale + 1] = name
    else
      local w = assert(io.open(name, "wb"))
      w:write(files[name])
      w:close()
      print("wrote " .. name)
    end
  end
end
if #stale > 0 then
  io.stderr:write("stale (run make cli-docs): ", table.concat(stale, ", "), "\n")
  os.exit(1)
end
