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

-- done / in flight / queued / failed, credits, rate, ETA
local function status_line(p, started, now)
  local done = p.saved + p.skipped
  local elapsed = now - started
  local rate = p.saved > 0 and elapsed > 0 and p.saved / elapsed or nil
  local left = p.queued + p.in_flight
  return ("%d/%d done | %d in flight | %d queued | %d failed%s | %d credits | %s | ETA %s"):format(
    done, p.total, p.in_flight, p.queued, p.failed, p.uncertain > 0 and (" | %d uncertain"):format(p.uncertain) or "",
    p.credits, rate and ("%.2f img/s"):format(rate) or "-- img/s",
    rate and duration(left / rate) or "--")
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

--- `vinano batch`: returns the exit status (raises cli.fail for errors).
---@param args table argparse's result
---@return integer status
function M.run(args)
  local manifest = args.manifest
  local f = io.open(manifest, "rb")
  if not f then cli.fail(cli.USAGE_ERROR, manifest .. ": cannot be read") end
  f:close()
  local jobs, err = batch.load(manifest, { out_dir = args.out })
  if not jobs then cli.fail(cli.USAGE_ERROR, err.message) end
  if args.concurrency < 1 then cli.fail(cli.USAGE_ERROR, "--concurrency: must be at least 1") end
  local journal = args.journal or (manifest .. ".journal")

  local client
  if args.dry_run then
    -- validation needs a client, never a token or a connection
    client = require("vinano").new { token = "unused", base_url = "https://127.0.0.1" }
  else
    client = cli.new_client(args, { plan = args.plan, rate_limit = args.rate_limit,
      rate_window = args.rate_limit and (args.rate_window or 60) or nil })
  end

  local tty = display.is_tty()
  local vinano = require "vinano"
  local async = require "vinano.async"
  local started = vinano.now()
  local running = true
  local last_progress
  local function on_event(job, state, d)
    last_progress = d.progress
    if args.json then cli.json_line(event_json(job, state, d)) end
    if tty then
      if state == "failed" or state == "uncertain" then
        display.reset()
        plain_event(job, state, d)
      end
      display.draw(status_line(d.progress, started, vinano.now()))
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
          if running and last_progress then display.draw(status_line(last_progress, started, vinano.now())) end
        end
      end)
    end
    local s, e = batch.run(client, jobs, opts)
    running = false
    return s, e
  end)
  display.reset()
  if not summary then
    cli.fail(rerr.kind == "invalid_request" and cli.USAGE_ERROR or cli.FAILED, rerr.message)
  end

  if args.dry_run then
    if args.json then
      cli.json_line { event = "dry_run", estimate = summary.estimate, to_submit = summary.to_submit,
        jobs = #jobs, estimate_all = summary.estimate_all, committed = summary.committed,
        actions = summary.actions }
    else
      io.stdout:write(("estimate: %d credits\n"):format(summary.estimate))
      io.stdout:write(("%d jobs: %d to submit, %d already recorded in %s; nothing was sent\n"):format(
        #jobs, summary.to_submit, #jobs - summary.to_submit, journal))
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
