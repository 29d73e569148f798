-- `vinano batch MANIFEST.jsonl`: vinano.batch from the command line, with a
-- live display on a terminal, plain lines otherwise, or JSON events.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local cli = require "vinano.cli"
local display = require "vinano.cli.display"
local batch = require "vinano.batch"
local fs = require "vinano.batch.fs"

local M = {}

local function duration(s)
  s = math.floor(s + 0.5)
  if s < 60 then return s .. "s" end
  if s < 3600 then return ("%dm%02ds"):format(math.floor(s / 60), s % 60) end
  return ("%dh%02dm"):format(math.floor(s / 3600), math.floor((s % 3600) / 60))
end

-- The live line, most important first: done, ETA, what is running, the
-- rate, credits, elapsed; as many parts as fit in width - 1 columns (a
-- line that wraps cannot be rewritten in place).  fresh: the images saved
-- in this run by jobs it submitted itself, the only ones that say how fast
-- jobs go (a resumed job's task was done before: its save is instant).
local function status_line(p, started, now, fresh, width)
  local elapsed = now - started
  fresh = fresh or p.saved
  local rate = fresh > 0 and elapsed > 0 and fresh / elapsed or nil
  local left = p.queued + p.in_flight
  local parts = {
    ("%d/%d done"):format(p.saved + p.skipped, p.total),
    "ETA " .. (rate and duration(left / rate) or "--"),
    ("%d running, %d queued, %d failed%s"):format(p.in_flight, p.queued, p.failed,
      p.uncertain > 0 and (", %d uncertain"):format(p.uncertain) or ""),
    (rate and ("%.2f"):format(rate) or "--") .. " img/s",
    ("%d credits"):format(p.credits),
    duration(elapsed),
  }
  local room = (width or 80) - 1
  local line = parts[1]
  for i = 2, #parts do
    if #line + 3 + #parts[i] > room then break end
    line = line .. " | " .. parts[i]
  end
  return line
end

local function plain_event(job, state, d)
  local what
  if state == "submitted" then what = "task " .. tostring(d.task_id)
  elseif state == "done" then what = "task " .. tostring(d.task_id) .. (d.cost and (", " .. d.cost .. " credits") or "")
  elseif state == "saved" then what = ("%s (%d bytes)"):format(d.path, d.size or 0)
  elseif state == "skipped" then what = "already saved in " .. tostring(d.path)
  elseif state == "failed" or state == "uncertain" or state == "interrupted" or state == "not_started" then
    what = (d.kind and (d.kind .. ": ") or "") .. tostring(d.message or d.reason)
  elseif state == "submitting" then what = ("estimate %d credits"):format(d.estimate or 0)
  end
  io.stderr:write(("vinano: %-11s %s%s\n"):format(state, job.id, what and (": " .. what) or ""))
end

local function print_summary(s, out)
  local p = s.stats
  out:write(("saved %d, already saved %d, failed %d, uncertain %d, not started %d (of %d jobs)\n"):format(
    p.saved, p.skipped, p.failed, p.uncertain, p.not_started + p.interrupted, p.total))
  out:write(("credits: %d reported by the server in this run; %d spent or possibly spent by this journal\n")
    :format(s.credits, s.committed))
  local api = s.requests.submit + s.requests.poll
  out:write(("elapsed %.1f s; API requests: %d submissions + %d polls%s\n"):format(s.elapsed, s.requests.submit,
    s.requests.poll, s.requests_per_image and (" = %.2f per saved image"):format(s.requests_per_image) or
    (api > 0 and "" or "")))
  if s.stopped then
    local why = {
      budget = "the budget would have been passed: no new job started, running ones finished",
      insufficient_credits = "the server answered 495 (insufficient credits): no new job started",
      unauthorized = "the server refused the token (401): everything stopped",
      forbidden = "the server refused the account (403): everything stopped",
      io = "the journal could not be written: " .. tostring(s.error),
    }
    out:write("stopped: ", why[s.stopped] or s.stopped, "\n")
  end
  for _, f in ipairs(s.failures) do
    out:write(("failed: %s (%s): %s: %s\n"):format(f.id, f.out, tostring(f.kind), tostring(f.message)))
  end
  for _, u in ipairs(s.uncertain) do
    out:write(("uncertain: %s (%s): %s\n"):format(u.id, u.out, tostring(u.reason)))
  end
  if #s.uncertain > 0 then
    out:write("uncertain jobs may already be paid for; --retry-uncertain sends them again (and may pay twice)\n")
  end
  if #s.not_started > 0 then
    out:write(("not started: %d (run the same command again to continue)\n"):format(#s.not_started))
  end
end

local function event_json(job, state, d)
  local e = { event = state, id = job.id, out = job.out, time = os.time() }
  for k, v in pairs(d) do
    if k ~= "progress" then e[k] = v end
  end
  local p = d.progress
  e.progress = { done = p.saved + p.skipped, total = p.total, in_flight = p.in_flight, queued = p.queued,
    failed = p.failed, credits = p.credits }
  return e
end

-- A manifest that is CSV (by its name, or a first line that is no JSON
-- object but has commas): said once, instead of a JSON error per line.
local function is_csv(path, head)
  if path:lower():match("%.csv$") then return true end
  local first = (head or ""):match("^%s*([^\n]*)")
  return first ~= nil and first ~= "" and first:sub(1, 1) ~= "{" and first:find(",", 1, true) ~= nil
end

local FIELDS = { "out", "id" }
for _, f in ipairs(require("vinano.api").fields) do FIELDS[#FIELDS + 1] = f.name end

-- What the client refuses in a job, in the command's words.
local function check_job(client)
  return function(job)
    local ok, err = client:check(job.params)
    if ok then return true end
    if err.rule == "unknown_field" then
      local hint = require("vinano.suggest").nearest(err.field, FIELDS)
      return nil, ("%s: unknown field%s (known: %s)"):format(tostring(err.field),
        hint and ("; did you mean '%s'?"):format(hint) or "", table.concat(FIELDS, ", "))
    end
    return nil, err.message
  end
end

local MAX_PROBLEMS = 50

-- The jobs of the manifest, or exit 2 with every problem, one per line.
local function load_manifest(args, client)
  local manifest = args.manifest
  local f, oerr = io.open(manifest, "rb")
  if not f then
    cli.fail(cli.USAGE_ERROR, ("%s: cannot be read: %s"):format(manifest,
      tostring(oerr):gsub("^" .. manifest:gsub("%p", "%%%0") .. ": ", "")))
  end
  local head, rerr = f:read(4096)
  f:close()
  if head == nil and rerr then cli.fail(cli.USAGE_ERROR, ("%s: cannot be read: %s"):format(manifest, rerr)) end
  if is_csv(manifest, head) then
    cli.fail(cli.USAGE_ERROR, manifest .. ': CSV is not supported, use JSON Lines: one JSON object per line,'
      .. ' e.g. {"prompt": "a cat", "out": "cat.png"}', { kind = "invalid_request" })
  end
  local jobs, err = batch.load(manifest, { out_dir = args.out, check = check_job(client) })
  if jobs then return jobs end
  local lines, messages = {}, {}
  for i, p in ipairs(err.problems or { err }) do
    messages[i] = p.message
    if i <= MAX_PROBLEMS then lines[#lines + 1] = p.message end
  end
  if #messages > MAX_PROBLEMS then
    lines[#lines + 1] = ("... and %d more problems (--json lists them all)"):format(#messages - MAX_PROBLEMS)
  end
  cli.fail(cli.USAGE_ERROR, table.concat(lines, "\n"), { kind = "invalid_request", problems = messages })
end

-- What Ctrl-C leaves: saved, in flight, uncertain, and what a rerun does.
local function interrupted_summary(p, unanswered)
  if not p then return "interrupted before any job started: nothing was sent", { saved = 0 } end
  local text = ("interrupted: %d saved (%d in this run), %d in flight, %d uncertain, %d not started;"
    .. " run the same command again to resume (submitted tasks are polled, not paid again)"):format(
    p.saved + p.skipped, p.saved, p.in_flight, p.uncertain, p.queued)
  if unanswered > 0 then
    text = text .. ("\n%d submission%s had no answer yet: %s may have been charged; the rerun lists %s as"
      .. " uncertain (--retry-uncertain sends %s again, and may pay twice)"):format(unanswered,
      unanswered == 1 and "" or "s", unanswered == 1 and "it" or "they", unanswered == 1 and "it" or "them",
      unanswered == 1 and "it" or "them")
  end
  return text, { saved = p.saved + p.skipped, saved_this_run = p.saved, in_flight = p.in_flight,
    uncertain = p.uncertain, not_started = p.queued, unanswered = unanswered }
end

--- `vinano batch`: returns the exit status (raises cli.fail for errors).
---@param args table argparse's result
---@return integer status
function M.run(args)
  local manifest = args.manifest
  local journal = args.journal or (manifest .. ".journal")

  local client
  if args.dry_run then
    client = cli.offline_client()
  else
    client = cli.new_client(args, { plan = args.plan, rate_limit = args.rate_limit,
      rate_window = args.rate_limit and (args.rate_window or 60) or nil })
  end
  local jobs = load_manifest(args, client)

  local tty = display.is_tty()
  local vinano = require "vinano"
  local async = require "vinano.async"
  local started = vinano.now()
  local running = true
  local last_progress
  local fresh, unanswered = 0, {}
  cli.on_interrupt(function()
    local n = 0
    for _ in pairs(unanswered) do n = n + 1 end
    return interrupted_summary(last_progress, n)
  end)
  local function on_event(job, state, d)
    last_progress = d.progress
    if state == "submitting" then unanswered[job.id] = true else unanswered[job.id] = nil end
    if state == "saved" and job.action == "submit" then fresh = fresh + 1 end
    if args.json then cli.json_line(event_json(job, state, d)) end
    if tty then
      if state == "failed" or state == "uncertain" then
        display.reset()
        plain_event(job, state, d)
      end
      display.draw(status_line(d.progress, started, vinano.now(), fresh, display.width()))
    elseif not args.json then
      plain_event(job, state, d)
    end
  end

  local opts = { journal = journal, concurrency = args.concurrency, budget = args.budget,
    retry_uncertain = args.retry_uncertain, dry_run = args.dry_run, on_event = on_event }
  local summary, rerr = async.run(function()
    if tty and not args.dry_run then
      -- the display ticks (elapsed, ETA) between events too
      async.spawn(function()
        while running do
          async.sleep(1)
          if running and last_progress then
            display.draw(status_line(last_progress, started, vinano.now(), fresh, display.width()))
          end
        end
      end)
    end
    local s, e = batch.run(client, jobs, opts)
    running = false
    return s, e
  end)
  display.reset()
  if not summary then
    cli.fail(rerr.kind == "invalid_request" and cli.USAGE_ERROR or cli.FAILED, rerr.message,
      { kind = rerr.kind, status = rerr.status })
  end

  if args.dry_run then
    -- the jobs a kill left uncertain: the real run sends them only with
    -- --retry-uncertain, and exits 1 while they are left
    local uncertain = {}
    for _, job in ipairs(jobs) do
      if job.action == "uncertain" then uncertain[#uncertain + 1] = { id = job.id, out = job.out } end
    end
    if args.json then
      cli.json_line { event = "dry_run", estimate = summary.estimate, to_submit = summary.to_submit,
        jobs = #jobs, estimate_all = summary.estimate_all, committed = summary.committed,
        actions = summary.actions, uncertain = uncertain }
    else
      io.stdout:write(("estimate: %d credits\n"):format(summary.estimate))
      io.stdout:write(("%d jobs: %d to submit, %d already recorded in %s; nothing was sent\n"):format(
        #jobs, summary.to_submit, #jobs - summary.to_submit, journal))
      for _, u in ipairs(uncertain) do
        io.stdout:write(("uncertain: %s (%s): its submission may have reached the server\n"):format(u.id, u.out))
      end
      if #uncertain > 0 then
        io.stdout:write(("%d uncertain job%s: the real run sends %s only with --retry-uncertain (which may pay"
          .. " twice), and exits 1 while %s left\n"):format(#uncertain, #uncertain == 1 and "" or "s",
          #uncertain == 1 and "it" or "them", #uncertain == 1 and "it is" or "they are"))
      end
    end
    return cli.OK
  end

  if args.json then
    local s = {}
    for k, v in pairs(summary) do s[k] = v end
    s.event = "summary"
    cli.json_line(s)
  else
    print_summary(summary, io.stdout)
  end
  return summary.ok and cli.OK or cli.FAILED
end

M.status_line = status_line
M.fs = fs

return M
