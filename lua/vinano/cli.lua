-- The `vinano` command: generate, batch, status, wait, estimate, mock.
-- main(args) returns the exit status: 0 when everything asked was done, 2
-- for a usage error or parameters that fail validation (nothing sent), 1
-- otherwise.  Errors are one line on stderr; VINANO_DEBUG=1 adds the Lua
-- traceback of an unexpected one.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local argparse = require "argparse"
local cjson = require("cjson").new()
local display = require "vinano.cli.display"

if cjson.encode_escape_forward_slash then cjson.encode_escape_forward_slash(false) end
cjson.encode_sparse_array(true)

local M = {}

local USAGE_ERROR, FAILED, OK = 2, 1, 0

-- A failure the command reports as one line, with its exit status.
local Exit = {}
local function fail(code, message) error(setmetatable({ code = code, message = message }, Exit), 0) end

local function say(line) io.stderr:write("vinano: ", line, "\n") end

local function json_line(value)
  local ok, text = pcall(cjson.encode, value)
  if not ok then text = cjson.encode { error = "not encodable as JSON: " .. tostring(text) } end
  -- lua-cjson 2.1.0 escapes every "/"; URLs read better without
  io.stdout:write((text:gsub("\\/", "/")), "\n")
  io.stdout:flush()
end

local function generate_options(cmd, prompt_required)
  cmd:argument("prompt", "The prompt (at most 2000 characters)."):args(prompt_required and 1 or "?")
  cmd:option("--model", "Model, e.g. gemini-2.5-flash-image-preview (default), gemini-3.1-pro-image-preview.")
  cmd:option("--aspect-ratio", "auto, 1:1, 16:9, 9:16, 4:3, 3:4, 3:2, 2:3 (and 4:1 1:4 8:1 1:8 on Nano Banana 2).")
  cmd:option("--mode", "Generation mode, e.g. txt2img, photo_restoration, figure, meme.")
  cmd:flag("--hd", "HD mode (30 credits).")
  cmd:option("--size", "Image size on the Pro models."):choices { "1k", "2k", "4k" }
  cmd:flag("--search", "Google Search enhancement (gemini-3.1-pro-image-preview only).")
  cmd:option("--image", "An input image file; repeat for several."):count("*")
  cmd:option("--image-url", "An input image URL; repeat for several."):count("*")
end

local function connection_options(cmd)
  cmd:option("--token-file", "Read the API token from FILE (else VINANO_API_TOKEN).")
  cmd:option("--timeout", "Seconds for one API call, retries included.", nil, tonumber)
end

local function json_flag(cmd, what)
  cmd:flag("--json", what or "Print the result as JSON on stdout.")
end

--- The argparse parser of the command (every subcommand but mock's own options).
---@return table parser
function M.parser()
  local p = argparse("vinano", "Generate images with the ViNano API.")
    :epilog("The token comes from VINANO_API_TOKEN or --token-file FILE, never from the command line.\n"
      .. "VINANO_BASE_URL selects another server (the mock: `vinano mock`).\n"
      .. "Exit status: 0 done, 2 usage or invalid parameters (nothing sent), 1 anything else.")
  p:command_target("command")

  local gen = p:command("generate", "Generate one image into a file.")
  generate_options(gen, true)
  gen:option("-o --output", "The image file to write (folders are created)."):count(1)
  gen:flag("--async", "Submit a task and wait for it, instead of one long request.")
  connection_options(gen)
  json_flag(gen)

  local b = p:command("batch", "Generate every job of a JSON Lines manifest; resumable.")
  b:argument("manifest", "One JSON object per line: generate fields plus `out` (and an optional `id`).")
  b:option("--out", "Folder the jobs' `out` paths are relative to (default: the manifest's folder).")
  b:option("--journal", "The journal file (default: MANIFEST.journal).")
  b:option("--concurrency", "Jobs in flight at most.", "4", tonumber)
  local plan = b:option("--plan", "Your plan's rate limit: monthly (20/min) or yearly (200/min)."):choices {
    "monthly", "yearly" }
  local rate = b:option("--rate-limit", "Requests per window, when not a plan's.", nil, tonumber)
  b:option("--rate-window", "Seconds of the rate-limit window.", nil, tonumber)
  b:mutex(plan, rate)
  b:option("--budget", "Credits the batch may spend at most (earlier runs of this journal included).", nil,
    tonumber)
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
  w:option("-o --output", "The image file to write."):count(1)
  w:option("--interval", "Seconds between polls.", "3", tonumber)
  w:option("--max-wait", "Seconds to wait at most.", "600", tonumber)
  connection_options(w)
  json_flag(w)

  local e = p:command("estimate", "Print the credits a generation would cost; sends nothing.")
  generate_options(e, false)
  json_flag(e)

  p:command("mock", "Start the local mock server (options: vinano mock --help).")
  return p
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
  local opts = { token = read_token(args), timeout = args.timeout }
  for k, v in pairs(extra or {}) do opts[k] = v end
  local ok, client = pcall(vinano.new, opts)
  if not ok then fail(USAGE_ERROR, (tostring(client):gsub("^.-: ", "", 1))) end
  return client
end

local function params_from(args)
  local p = { prompt = args.prompt }
  p.model = args.model
  p.aspectRatio = args.aspect_ratio
  p.mode = args.mode
  if args.hd then p.hdPro = true end
  p.img_size = args.size
  if args.search then p.googleSearch = true end
  local images, urls = args.image or {}, args.image_url or {}
  if #images == 1 then p.image = images[1] elseif #images > 1 then p.image = images end
  if #urls == 1 then p.imageUrl = urls[1] elseif #urls > 1 then p.imageUrl = urls end
  return p
end

-- The status an API error gives: validation (nothing was sent) is the
-- caller's to fix.
local function error_exit(err, prefix)
  local code = err.kind == "invalid_request" and USAGE_ERROR or FAILED
  fail(code, (prefix or "") .. tostring(err.message or err))
end

local function ensure_parent(path)
  local fs = require "vinano.batch.fs"
  local ok, why = fs.mkdir_p(fs.dirname(path))
  if not ok then fail(FAILED, why) end
end

local function download(client, url, path, bar)
  ensure_parent(path)
  local res, err = client:download(url, path, { on_progress = function(_, _, got, total)
    bar:set("downloading", total > 0 and ("%d%%"):format(math.floor(got * 100 / total)) or ("%d bytes"):format(got))
  end })
  if not res then error_exit(err, "download: ") end
  return require("vinano.batch.fs").size(path)
end

local function report_image(args, path, size, res)
  if args.json then
    local out = {}
    for k, v in pairs(res) do out[k] = v end
    out.file, out.size = path, size
    json_line(out)
  else
    local d = type(res.imageDetails) == "table" and res.imageDetails[1]
    local cost = type(res.credits) == "table" and res.credits.cost
    io.stdout:write(("%s: %s%d bytes%s\n"):format(path,
      type(d) == "table" and d.width and ("%dx%d, "):format(d.width, d.height) or "", size or 0,
      cost and (", %s credits"):format(tostring(cost)) or ""))
  end
end

local function cmd_generate(args)
  local client = new_client(args)
  local params = params_from(args)
  -- invalid parameters fail before any progress is shown
  local valid, verr = require("vinano.batch.jobs").check(client, { params = params })
  if not valid then error_exit(verr) end
  local bar = display.line()
  local function upload(sent, total)
    if total > 0 and sent < total then
      bar:set("uploading", ("%d%% of %d bytes"):format(math.floor(sent * 100 / total), total))
    elseif args.async then
      bar:set("submitting", "waiting for the task id")
    else
      bar:set("generating", "waiting for the server")
    end
  end
  local res, err
  if args.async then
    bar:set("submitting")
    local task
    task, err = client:submit_async(params, { on_progress = upload })
    if not task then bar:clear(); error_exit(err) end
    local started = require("vinano").now()
    res, err = client:wait(task.task_id, { interval = 3, timeout = args.timeout or 600, on_poll = function(st)
      bar:set("waiting", ("task %s %s, %d s"):format(task.task_id, st.state,
        math.floor(require("vinano").now() - started)))
    end })
    if res then res.task_id = task.task_id end
  else
    bar:set("generating", "waiting for the server")
    res, err = client:generate(params, { on_progress = upload })
  end
  if not res then bar:clear(); error_exit(err) end
  if type(res.images) ~= "table" or type(res.images[1]) ~= "string" then
    bar:clear()
    fail(FAILED, "the server's answer lists no image URL")
  end
  local size = download(client, res.images[1], args.output, bar)
  bar:clear()
  report_image(args, args.output, size, res)
  return OK
end

local function cmd_status(args)
  local client = new_client(args)
  local st, err = client:poll(args.task_id)
  if not st then error_exit(err) end
  if args.json then
    json_line(st)
  else
    local msg = st.message or st.error or st.msg
    io.stdout:write(args.task_id, ": ", st.state, st.state == "done" and type(st.images) == "table"
      and (" " .. table.concat(st.images, " ")) or (type(msg) == "string" and (" (" .. msg .. ")") or ""), "\n")
  end
  return st.state == "failed" and FAILED or OK
end

local function cmd_wait(args)
  local client = new_client(args)
  local bar = display.line()
  local started = require("vinano").now()
  local res, err = client:wait(args.task_id, { interval = args.interval, timeout = args.max_wait,
    on_poll = function(st)
      bar:set("waiting", ("task %s %s, %d s"):format(args.task_id, st.state,
        math.floor(require("vinano").now() - started)))
    end })
  if not res then bar:clear(); error_exit(err) end
  res.task_id = args.task_id
  local size = download(client, res.images[1], args.output, bar)
  bar:clear()
  report_image(args, args.output, size, res)
  return OK
end

local function cmd_estimate(args)
  local vinano = require "vinano"
  local params = params_from(args)
  -- validation needs a client, never a token or a connection: nothing is sent
  local client = vinano.new { token = "unused", base_url = "https://127.0.0.1" }
  local ok, err = require("vinano.batch.jobs").check(client, { params = params })
  if not ok then error_exit(err) end
  local n = vinano.estimate_credits(params)
  if args.json then json_line { estimate = n } else io.stdout:write(("estimate: %d credits\n"):format(n)) end
  return OK
end

local function cmd_mock(rest)
  local ok, mock_cli = pcall(require, "vinano.mock.cli")
  if not ok then
    fail(FAILED, "the mock is not installed (it is its own rock: luarocks install vinano-mock, or make install-mock)")
  end
  return mock_cli.main(rest)
end

M.Exit = Exit
M.fail = fail
M.say = say
M.json_line = json_line
M.new_client = new_client
M.USAGE_ERROR, M.FAILED, M.OK = USAGE_ERROR, FAILED, OK

local COMMANDS = {
  generate = cmd_generate, status = cmd_status, wait = cmd_wait, estimate = cmd_estimate,
  batch = function(args) return require("vinano.cli.batch").run(args) end,
}

local function dispatch(args)
  if args[1] == "mock" then
    -- the mock parses its own options
    local rest = {}
    for i = 2, #args do rest[#rest + 1] = args[i] end
    return cmd_mock(rest)
  end
  local parser = M.parser()
  local ok, parsed = parser:pparse(args)
  if not ok then
    fail(USAGE_ERROR, tostring(parsed) .. " (see: vinano --help)")
  end
  if parsed.command == "mock" then return cmd_mock({}) end
  return COMMANDS[parsed.command](parsed)
end

--- Runs the command: 0 when everything asked was done, 2 for a usage error
--- or invalid parameters (nothing sent), 1 otherwise, 130 after an interrupt.
---@param args string[] the command-line arguments (arg)
---@return integer status
function M.main(args)
  local args_copy = {}
  for i = 1, #(args or {}) do args_copy[i] = args[i] end
  local ok, result = xpcall(function() return dispatch(args_copy) end, function(e)
    if getmetatable(e) == Exit then return e end
    return { unexpected = e, trace = debug.traceback(tostring(e), 2) }
  end)
  if ok then return result or OK end
  display.reset()
  if getmetatable(result) == Exit then
    say(result.message)
    return result.code
  end
  local msg = tostring(result.unexpected)
  if msg:find("interrupted!?$") then
    say("interrupted (a batch resumes where it stopped: run the same command again)")
    return 130
  end
  if os.getenv("VINANO_DEBUG") then io.stderr:write(result.trace, "\n") end
  say("internal error: " .. msg:gsub("\n.*", "") .. " (VINANO_DEBUG=1 shows where)")
  return FAILED
end

return M
