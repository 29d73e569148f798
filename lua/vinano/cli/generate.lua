-- `vinano generate`, `wait`, `status` and `estimate`.  generate checks
-- everything it can before the request that costs credits (the parameters,
-- the prompt, the output file), and keeps a ledger of what the server may
-- have charged, so that a failure or Ctrl-C after that point says how to
-- get the image back: the task id and `vinano wait ID -o FILE`, or the
-- image URL.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local cli = require "vinano.cli"
local display = require "vinano.cli.display"
local explain = require "vinano.cli.explain"

local M = {}

local function now() return require("vinano").now() end

-- The prompt: the argument, or stdin for "-".
local function read_prompt(args)
  local prompt = args.prompt
  if prompt ~= "-" then return prompt end
  prompt = (io.stdin:read("*a") or ""):gsub("\r?\n$", "")
  if prompt == "" then cli.fail(cli.USAGE_ERROR, "the prompt from stdin (-) is empty") end
  return prompt
end

--- The generate parameters of args, with the checks the API leaves to the
--- caller: a prompt or an input image, http(s) image URLs.  Warns about a
--- model name close to a known one.
---@param args table argparse's result
---@return table params
function M.params(args)
  local images, urls = args.image or {}, args.image_url or {}
  local prompt = read_prompt(args)
  if (prompt == nil or prompt == "") and #images == 0 and #urls == 0 then
    cli.fail(cli.USAGE_ERROR, "a prompt is required, unless --image or --image-url gives the input"
      .. " (- reads the prompt from stdin)")
  end
  local route, core = require "vinano.route", require "vinano.core"
  for _, u in ipairs(urls) do
    local ok, why = route.check_url(core.parse_url, u)
    if not ok then cli.fail(cli.USAGE_ERROR, ("--image-url %s: %s"):format(u, why)) end
  end
  local p = { prompt = prompt ~= "" and prompt or nil }
  p.model = args.model
  p.aspectRatio = args.aspect_ratio
  p.mode = args.mode
  if args.hd then p.hdPro = true end
  p.img_size = args.size
  if args.search then p.googleSearch = true end
  if #images == 1 then p.image = images[1] elseif #images > 1 then p.image = images end
  if #urls == 1 then p.imageUrl = urls[1] elseif #urls > 1 then p.imageUrl = urls end
  require("vinano.cli.models").warn_unknown(p.model)
  return p
end

-- stdout is a terminal (the shell's `test -t 1` inherits our stdout).
local function stdout_is_tty()
  local ok = os.execute("test -t 1")
  return ok == true or ok == 0
end

--- Refuses (exit 2, nothing sent) an output the image could not be saved to.
---@param path string
---@param json boolean
---@return nil
function M.check_output(path, json)
  if path == "" then cli.fail(cli.USAGE_ERROR, "-o: the output path is empty (a file name, or - for stdout)") end
  if path == "-" then
    if json then cli.fail(cli.USAGE_ERROR, "-o - and --json both write to stdout: choose one") end
    if stdout_is_tty() then
      cli.fail(cli.USAGE_ERROR, "-o -: stdout is a terminal; redirect it (-o - > image.png, or | a program)")
    end
    return
  end
  local ok, why = require("vinano.core").writable(path)
  if not ok then cli.fail(cli.USAGE_ERROR, "-o " .. why) end
end

local function validate(client, params)
  local ok, err = client:check(params)
  if not ok then cli.fail(cli.USAGE_ERROR, explain.text(err), explain.event(err)) end
end

-- Writes the image at url to path ("-": stdout); returns its size in bytes,
-- or nil and the error.
local function save(client, url, path, bar)
  local function progress(_, _, got, total)
    bar:set("downloading", total > 0 and ("%d%%"):format(math.floor(got * 100 / total)) or ("%d bytes"):format(got))
  end
  if path == "-" then
    local res, err = client:fetch(url, { on_progress = progress })
    if not res then return nil, err end
    io.stdout:write(res.data)
    io.stdout:flush()
    return res.bytes
  end
  local res, err = client:download(url, path, { on_progress = progress, mkdir = true })
  if not res then return nil, err end
  return res.bytes
end

local function report_image(args, path, size, res)
  local out = args.output == "-" and io.stderr or io.stdout
  if args.json then
    local t = {}
    for k, v in pairs(res) do t[k] = v end
    t.file, t.size = path, size
    cli.json_line(t)
  else
    local d = type(res.imageDetails) == "table" and res.imageDetails[1]
    local cost = type(res.credits) == "table" and res.credits.cost
    out:write(("%s%s: %s%d bytes%s\n"):format(out == io.stderr and "vinano: " or "", path == "-" and "stdout" or path,
      type(d) == "table" and d.width and ("%dx%d, "):format(d.width, d.height) or "", size or 0,
      cost and (", %s credits"):format(tostring(cost)) or ""))
  end
end

-- The way back to a task's image.
local function wait_command(task_id, path)
  return ("vinano wait %s -o %s"):format(tostring(task_id), path == "-" and "-" or path)
end

-- What the ledger says was charged and how to get it back: message, event.
local function recovery(ledger, path)
  if ledger.task_id ~= nil then
    local cmd = wait_command(ledger.task_id, path)
    return ("task %s was submitted and charged, but its image is not saved; get it with: %s")
      :format(tostring(ledger.task_id), cmd), { charged = "yes", saved = false, task_id = ledger.task_id,
        images = ledger.url and { ledger.url } or nil, get_it_with = cmd }
  elseif ledger.url then
    return ("the image was generated and charged, but not saved; it is at %s (for a while: download it now,"
      .. " e.g. curl -fo FILE URL)"):format(ledger.url), { charged = "yes", saved = false, images = { ledger.url } }
  elseif ledger.sent then
    return (ledger.async and "the submission reached the server and may have been charged, but its task id never"
      .. " arrived" or "the request reached the server and may have been charged; the sync API gives no task id"
      .. " to get the image back (--async gives one)"), { charged = "maybe", saved = false }
  end
  return "nothing was sent", { charged = "no", saved = false }
end

-- A failure after the request that costs credits: exit 3 when something
-- was (or may have been) charged, with the way back; else exit 1.
local function failed_after_sending(err, ledger, args, ctx)
  if err.kind == "task_failed" then
    local event = explain.event(err)
    event.task_id, event.saved = ledger.task_id, false
    cli.fail(cli.FAILED, explain.text(err, ctx), event)
  end
  local what, event = recovery(ledger, args.output)
  if event.charged == "maybe" and explain.charged(err) == "no" then
    what, event = "nothing was charged", { charged = "no", saved = false }
  end
  for k, v in pairs(explain.event(err)) do event[k] = v end
  local code = event.charged == "no" and cli.FAILED or cli.NOT_SAVED
  if err.kind == "task_failed" then code = cli.FAILED end
  cli.fail(code, explain.text(err, ctx) .. "\n" .. what, event)
end

--- The image URL of a result; a result without one is a failure after
--- paying (exit 3).
---@param res table the generate or wait result
---@param ledger table what was charged so far
---@param args table argparse's result
---@return string url
function M.image_url(res, ledger, args)
  local url = type(res.images) == "table" and res.images[1]
  if type(url) == "string" and url:match("^https?://") then return url end
  local what, event = recovery(ledger, args.output)
  event.charged = event.charged == "yes" and "yes" or "maybe"
  cli.fail(cli.NOT_SAVED, "the server's answer lists no image URL\n" .. what, event)
end

--- `vinano generate`.
---@param args table argparse's result
---@return integer status
function M.generate(args)
  local params = M.params(args)
  local client = cli.new_client(args)
  validate(client, params)
  M.check_output(args.output, args.json) -- last: it may create folders
  local ctx = { client = client }
  local ledger = { async = args.async }
  cli.on_interrupt(function()
    local what, event = recovery(ledger, args.output)
    return "interrupted: " .. what, event
  end)
  local bar = display.line()
  local started = now()
  local function upload(sent, total)
    if total > 0 and sent < total then
      bar:set("uploading", ("%d%% of %d bytes"):format(math.floor(sent * 100 / total), total))
    else
      bar:set(args.async and "submitting" or "generating", ("waiting for the server, %d s")
        :format(math.floor(now() - started)))
    end
  end
  local res, err
  ledger.sent = true -- from here on the server may see the request
  if args.async then
    bar:set("submitting")
    local task
    task, err = client:submit_async(params, { on_progress = upload })
    if not task then
      bar:clear()
      failed_after_sending(err, ledger, args, ctx)
    end
    ledger.task_id = task.task_id
    bar:note(("task %s submitted (%s if this stops)"):format(tostring(task.task_id),
      wait_command(task.task_id, args.output)))
    res, err = client:wait(task.task_id, { interval = 3, timeout = args.timeout or 600, on_poll = function(st)
      bar:set("waiting", ("task %s %s, %d s"):format(tostring(task.task_id), st.state, math.floor(now() - started)))
    end })
    if res then res.task_id = task.task_id end
  else
    bar:set("generating", "waiting for the server")
    res, err = client:generate(params, { on_progress = upload })
  end
  if not res then
    bar:clear()
    failed_after_sending(err, ledger, args, { client = client, max_wait = args.timeout or 600 })
  end
  res.elapsed = now() - started -- the whole call: with --async, submit to done
  ledger.url = M.image_url(res, ledger, args)
  local size, derr = save(client, ledger.url, args.output, bar)
  bar:clear()
  if not size then failed_after_sending(derr, ledger, args, ctx) end
  report_image(args, args.output, size, res)
  return cli.OK
end

--- `vinano status`.
---@param args table argparse's result
---@return integer status
function M.status(args)
  local client = cli.new_client(args)
  local st, err = client:poll(args.task_id)
  if not st then cli.fail(cli.FAILED, explain.text(err, { client = client }), explain.event(err)) end
  if args.json then
    cli.json_line(st)
  else
    local msg = st.message or st.error or st.msg
    io.stdout:write(args.task_id, ": ", st.state, st.state == "done" and type(st.images) == "table"
      and (" " .. table.concat(st.images, " ")) or (type(msg) == "string" and (" (" .. msg .. ")") or ""), "\n")
  end
  return st.state == "failed" and cli.FAILED or cli.OK
end

--- `vinano wait`.
---@param args table argparse's result
---@return integer status
function M.wait(args)
  M.check_output(args.output, args.json)
  local client = cli.new_client(args)
  local ledger = { task_id = args.task_id }
  cli.on_interrupt(function()
    return "interrupted: task " .. args.task_id .. " is not saved; get it with: "
      .. wait_command(args.task_id, args.output), { task_id = args.task_id, saved = false }
  end)
  local bar = display.line()
  local started = now()
  local res, err = client:wait(args.task_id, { interval = args.interval, timeout = args.max_wait,
    on_poll = function(st)
      bar:set("waiting", ("task %s %s, %d s"):format(args.task_id, st.state, math.floor(now() - started)))
    end })
  if not res then
    bar:clear()
    failed_after_sending(err, ledger, args, { client = client, max_wait = args.max_wait })
  end
  res.task_id = args.task_id
  ledger.url = M.image_url(res, ledger, args)
  local size, derr = save(client, ledger.url, args.output, bar)
  bar:clear()
  if not size then failed_after_sending(derr, ledger, args, { client = client }) end
  report_image(args, args.output, size, res)
  return cli.OK
end

--- `vinano estimate`: sends nothing.
---@param args table argparse's result
---@return integer status
function M.estimate(args)
  local vinano = require "vinano"
  local params = M.params(args)
  validate(cli.offline_client(), params)
  local n = vinano.estimate_credits(params)
  if args.json then cli.json_line { estimate = n } else io.stdout:write(("estimate: %d credits\n"):format(n)) end
  return cli.OK
end

return M
