-- The `vinano` command: generate, batch, status, wait, estimate, models,
-- completion, mock.  main(args) returns the exit status: 0 when everything
-- asked was done, 2 for a usage error or parameters that fail validation
-- (nothing sent), 3 when the server has (or may have) charged for an image
-- the command did not save (stderr and the --json event say how to get it
-- back), 130 after Ctrl-C, 1 otherwise.  Errors are lines on stderr and,
-- with --json, one {"event":"error",...} object on stdout; VINANO_DEBUG=1
-- adds the Lua traceback of an unexpected one.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local argparse = require "argparse"
local cjson = require("cjson").new()
local display = require "vinano.cli.display"

if cjson.encode_escape_forward_slash then cjson.encode_escape_forward_slash(false) end
cjson.encode_sparse_array(true)

local M = {}

local USAGE_ERROR, FAILED, OK, NOT_SAVED, INTERRUPTED = 2, 1, 0, 3, 130

-- A failure the command reports, with its exit status and the fields of
-- its --json error event.
local Exit = {}
local function fail(code, message, event)
  error(setmetatable({ code = code, message = message, event = event }, Exit), 0)
end

-- One "vinano: " line per line of text.
local function say(text)
  for line in (tostring(text) .. "\n"):gmatch("(.-)\n") do io.stderr:write("vinano: ", line, "\n") end
end

local function json_line(value)
  local ok, text = pcall(cjson.encode, value)
  if not ok then text = cjson.encode { error = "not encodable as JSON: " .. tostring(text) } end
  -- lua-cjson 2.1.0 escapes every "/"; URLs read better without
  io.stdout:write((text:gsub("\\/", "/")), "\n")
  io.stdout:flush()
end

-- What the running command says when Ctrl-C stops it: set by a command
-- (a function returning the message and the --json event's fields).
local on_interrupt

--- Sets what Ctrl-C says while the command runs.
---@param fn fun(): string, table? the message and the --json event's fields
---@return nil
function M.on_interrupt(fn) on_interrupt = fn end

-- Converters for argparse: a value or nil and a message naming the option.
local function number_of(name, rule)
  return function(s)
    local n = tonumber(s)
    if not n or n ~= n then return nil, ("%s: a number expected, got '%s'"):format(name, s) end
    if n == math.huge or n == -math.huge then return nil, ("%s: must be finite, got '%s'"):format(name, s) end
    if rule == "positive" and n <= 0 then return nil, ("%s: must be more than 0, got '%s'"):format(name, s) end
    if rule == "count" and (n < 0 or n ~= math.floor(n)) then
      return nil, ("%s: a whole number >= 0 expected, got '%s'"):format(name, s)
    end
    if rule == "at_least_1" and (n < 1 or n ~= math.floor(n)) then
      return nil, ("%s: a whole number >= 1 expected, got '%s'"):format(name, s)
    end
    if rule == "non_negative" and n < 0 then return nil, ("%s: must be >= 0, got '%s'"):format(name, s) end
    return n
  end
end
M.number_of = number_of

local function generate_options(cmd)
  cmd:argument("prompt", "The prompt (at most 2000 characters); - reads it from stdin; optional with --image or"
    .. " --image-url."):args("?")
  cmd:option("--model", "Model, e.g. gemini-2.5-flash-image-preview (default), gemini-3.1-pro-image-preview"
    .. " (vinano models lists them).")
  cmd:option("--aspect-ratio", "auto, 1:1, 16:9, 9:16, 4:3, 3:4, 3:2, 2:3 (and 4:1 1:4 8:1 1:8 on Nano Banana 2).")
  cmd:option("--mode", "Generation mode, e.g. txt2img, photo_restoration, figure, meme.")
  cmd:flag("--hd", "HD mode (30 credits).")
  cmd:option("--size", "Image size on the Pro models."):choices { "1k", "2k", "4k" }
  cmd:flag("--search", "Google Search enhancement (gemini-3.1-pro-image-preview only).")
  cmd:option("--image", "An input image file; repeat for several."):count("*")
  cmd:option("--image-url", "An input image URL (http or https); repeat for several."):count("*")
end

local function connection_options(cmd)
  cmd:option("--token-file", "Read the API token from FILE (else VINANO_API_TOKEN).")
  cmd:option("--timeout", "Seconds for one API call, retries included.", nil, number_of("--timeout", "positive"))
  cmd:option("--connect-timeout", "Seconds to open a connection (default 10).", nil,
    number_of("--connect-timeout", "positive"))
  cmd:option("--stall-timeout", "Seconds without a byte before a poll or download gives up (default 30).", nil,
    number_of("--stall-timeout", "positive"))
  cmd:option("--max-retries", "Retries per API call (default 2; a generate that may have reached the server"
    .. " is never sent again).", nil,
    number_of("--max-retries", "count"))
end

local function json_flag(cmd, what)
  cmd:flag("--json", what or "Print the result (or the error) as JSON on stdout.")
end

--- The version line: this Lua layer's, the core's and libcurl's.
---@return string
function M.version_line()
  local vinano = require "vinano"
  local ok, core = pcall(require, "vinano.core")
  local curl = ok and core.curl and core.curl()
  return ("vinano %s (core %s, libcurl %s%s, %s)"):format(vinano.version, ok and tostring(core.version) or "missing",
    curl and tostring(curl.version) or "?", curl and curl.ssl and (" " .. curl.ssl) or "",
    rawget(_G, "jit") and jit.version or _VERSION)
end

M.EXIT_STATUS = "Exit status: 0 done, 2 usage error or invalid parameters (nothing sent), 3 charged (or maybe)"
  .. " but not saved (stderr says how to get it back), 130 interrupted, 1 anything else."

--- The argparse parser of the command (every subcommand but mock's own
--- options), and its subcommands in order (for the man page).
---@return table parser
---@return table[] commands
function M.parser()
  local p = argparse("vinano", "Generate images with the ViNano API.")
    :epilog("The token comes from VINANO_API_TOKEN or --token-file FILE, never from the command line.\n"
      .. "VINANO_BASE_URL selects another server (the mock: `vinano mock`).\n" .. M.EXIT_STATUS)
  p:command_target("command")
  p:help_max_width(80)
  p:flag("--version", "Print the versions of vinano, its core and libcurl, and exit."):action(function()
    io.stdout:write(M.version_line(), "\n")
    os.exit(0)
  end)

  local gen = p:command("generate", "Generate one image into a file.")
  generate_options(gen)
  gen:option("-o --output", "The image file to write (folders are created; - for stdout)."):count(1)
  gen:flag("--async", "Submit a task and wait for it, instead of one long request (a task id to come back to).")
  connection_options(gen)
  json_flag(gen)

  local b = p:command("batch", "Generate every job of a JSON Lines manifest; resumable.")
  b:argument("manifest", "One JSON object per line: generate fields plus `out` (and an optional `id`).")
  b:option("--out", "Folder the jobs' `out` paths are relative to (default: the manifest's folder).")
  b:option("--journal", "The journal file (default: MANIFEST.journal).")
  b:option("--concurrency", "Jobs in flight at most.", "4", number_of("--concurrency", "at_least_1"))
  local plan = b:option("--plan", "Your plan's rate limit: monthly (20/min) or yearly (200/min)."):choices {
    "monthly", "yearly" }
  local rate = b:option("--rate-limit", "Requests per window, when not a plan's.", nil,
    number_of("--rate-limit", "at_least_1"))
  b:option("--rate-window", "Seconds of the rate-limit window.", nil, number_of("--rate-window", "positive"))
  b:mutex(plan, rate)
  b:option("--budget", "Credits the batch may spend at most (earlier runs of this journal included).", nil,
    number_of("--budget", "non_negative"))
  b:flag("--retry-uncertain", "Send again the jobs a kill left uncertain (they may be paid twice).")
  b:flag("--dry-run", "Check every job and print the credit estimate; send nothing.")
  connection_options(b)
  json_flag(b, "Print one JSON event per line on stdout.")

  local st = p:command("status", "Show an async task's state.")
  st:argument("task_id", "The task id.")
  connection_options(st)
  json_flag(st)

  local w = p:command("wait", "Wait for an async task and save its image.")
  w:argument("task_id", "The task id.")
  w:option("-o --output", "The image file to write (- for stdout)."):count(1)
  w:option("--interval", "Seconds between polls.", "3", number_of("--interval", "positive"))
  w:option("--max-wait", "Seconds to wait at most.", "600", number_of("--max-wait", "positive"))
  connection_options(w)
  json_flag(w)

  local e = p:command("estimate", "Print the credits a generation would cost; sends nothing.")
  generate_options(e)
  json_flag(e)

  local models = p:command("models", "List the models with their aspect ratios, sizes, search and price.")
  json_flag(models, "Print the list as JSON on stdout.")

  p:add_complete_command({ name = "completion", description = "Print a completion script for bash, zsh or fish"
    .. " (bash: eval \"$(vinano completion bash)\")." })

  local mock = p:command("mock", "Start the local mock server (options: vinano mock --help).")
  return p, { gen, b, st, w, e, models, mock }
end

local function read_token(args)
  if args.token_file then
    local f, err = io.open(args.token_file, "rb")
    if not f then fail(USAGE_ERROR, "--token-file: " .. tostring(err)) end
    local token = (f:read("*l") or ""):match("^%s*(.-)%s*$")
    f:close()
    if token == "" then fail(USAGE_ERROR, "--token-file: " .. args.token_file .. " is empty") end
    return token
  end
  local token = os.getenv("VINANO_API_TOKEN")
  if not token or token == "" then
    fail(USAGE_ERROR, "no API token: set VINANO_API_TOKEN or use --token-file FILE")
  end
  return token
end

local function new_client(args, extra)
  local vinano = require "vinano"
  local opts = { token = read_token(args), timeout = args.timeout, max_retries = args.max_retries,
    connect_timeout = args.connect_timeout, stall_timeout = args.stall_timeout }
  for k, v in pairs(extra or {}) do opts[k] = v end
  local ok, client = pcall(vinano.new, opts)
  if not ok then fail(USAGE_ERROR, (tostring(client):gsub("^.-: ", "", 1))) end
  return client
end

--- A client for validation only: no token, no connection; nothing is sent.
---@return vinano.Client
function M.offline_client()
  return require("vinano").new { token = "unused", base_url = "https://127.0.0.1" }
end

M.Exit = Exit
M.fail = fail
M.say = say
M.json_line = json_line
M.new_client = new_client
M.USAGE_ERROR, M.FAILED, M.OK, M.NOT_SAVED, M.INTERRUPTED = USAGE_ERROR, FAILED, OK, NOT_SAVED, INTERRUPTED

local COMMANDS = {
  generate = function(args) return require("vinano.cli.generate").generate(args) end,
  status = function(args) return require("vinano.cli.generate").status(args) end,
  wait = function(args) return require("vinano.cli.generate").wait(args) end,
  estimate = function(args) return require("vinano.cli.generate").estimate(args) end,
  models = function(args) return require("vinano.cli.models").run(args) end,
  batch = function(args) return require("vinano.cli.batch").run(args) end,
}

local function cmd_mock(rest)
  local ok, mock_cli = pcall(require, "vinano.mock.cli")
  if not ok then
    fail(FAILED, "the mock is not installed: it is its own rock, in this repository's mock/ folder"
      .. " (cd mock && luarocks --lua-version 5.4 make vinano-mock-scm-1.rockspec), or make install-mock")
  end
  return mock_cli.main(rest)
end

local json_mode = false

local function dispatch(args)
  if args[1] == "mock" then
    -- the mock parses its own options
    local rest = {}
    for i = 2, #args do rest[#rest + 1] = args[i] end
    return cmd_mock(rest)
  end
  local parser = M.parser()
  for _, a in ipairs(args) do
    if a == "--json" then json_mode = true end
  end
  local ok, parsed = parser:pparse(args)
  if not ok then
    -- the help of the subcommand the line names, when it names one
    local where = "vinano --help"
    for _, a in ipairs(args) do
      if COMMANDS[a] or a == "completion" then
        where = "vinano " .. a .. " --help"
        break
      end
      if a:sub(1, 1) ~= "-" then break end
    end
    fail(USAGE_ERROR, tostring(parsed):gsub("\n", "; ") .. " (see: " .. where .. ")", { kind = "usage" })
  end
  json_mode = parsed.json == true
  if parsed.command == "mock" then return cmd_mock({}) end
  return COMMANDS[parsed.command](parsed)
end

local function error_event(code, message, event)
  local e = { event = "error", exit = code, message = message }
  for k, v in pairs(event or {}) do e[k] = v end
  if e.kind == nil then e.kind = code == USAGE_ERROR and "usage" or "error" end
  return e
end

--- Runs the command and returns its exit status (see the top of this file).
---@param args string[] the command-line arguments (arg)
---@return integer status
function M.main(args)
  local args_copy = {}
  for i = 1, #(args or {}) do args_copy[i] = args[i] end
  on_interrupt, json_mode = nil, false
  local ok, result = xpcall(function() return dispatch(args_copy) end, function(e)
    if getmetatable(e) == Exit then return e end
    return { unexpected = e, trace = debug.traceback(tostring(e), 2) }
  end)
  if ok then return result or OK end
  display.reset()
  if getmetatable(result) == Exit then
    say(result.message)
    if json_mode then json_line(error_event(result.code, result.message, result.event)) end
    return result.code
  end
  local msg = tostring(result.unexpected)
  if msg:find("interrupted!?$") then
    local text, event = "interrupted: nothing was sent", nil
    if on_interrupt then
      local iok, t, e = pcall(on_interrupt)
      if iok then text, event = t, e end
    end
    say(text)
    if json_mode then
      local e = error_event(INTERRUPTED, text, event)
      e.event = "interrupted"
      json_line(e)
    end
    return INTERRUPTED
  end
  if os.getenv("VINANO_DEBUG") then io.stderr:write(result.trace, "\n") end
  local text = "internal error: " .. msg:gsub("\n.*", "") .. " (VINANO_DEBUG=1 shows where)"
  say(text)
  if json_mode then json_line(error_event(FAILED, text, { kind = "internal" })) end
  return FAILED
end

return M
