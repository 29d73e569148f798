-- vinano.batch: many images, each paid for at most once, even across kills.
--
--   local batch = require "vinano.batch"
--   local summary, err = batch.run(client, {
--     { prompt = "a cat", out = "out/cat.png" },
--     { prompt = "a dog", out = "out/dog.png", id = "dog" },
--   }, { journal = "out/batch.journal", concurrency = 4, budget = 500 })
--
-- Every paid job gets a task id, written to the journal before anything
-- depends on it, so a rerun finds the task instead of paying again.  See
-- README "Batches" for what the journal guarantees.  A job's requests are
-- the client's own calls (submit, poll, download: the same attempts,
-- limiter and hooks as client:submit_async, poll and download), driven on
-- the core directly outside a task (vinano.many), by the scheduler inside
-- one.
local vinano = require "vinano"
local async = require "vinano.async"
local call = require "vinano.call"
local many = require "vinano.many"
local jobs_mod = require "vinano.batch.jobs"
local journal_mod = require "vinano.batch.journal"
local timing_mod = require "vinano.batch.timing"
local fs = require "vinano.batch.fs"
local options = require "vinano.options"

local M = {}

---Options of `batch.run`.
---@class vinano.BatchOptions
---@field journal string required: the journal file (JSON Lines, appended); what makes a rerun resume
---@field concurrency? integer jobs in flight at most, >= 1 (default 4)
---@field budget? number credits this journal's jobs may spend, earlier runs included; then no new job starts
---@field retry_uncertain? boolean send again jobs a kill left uncertain (may pay twice; default false)
---@field on_event? fun(job: vinano.BatchJob, state: vinano.BatchState, detail: vinano.BatchEvent) every state change of a job
---@field out_dir? string base of relative `out` paths (not for lists from batch.load, already resolved)
---@field dry_run? boolean check every job and estimate; send nothing, write no journal line
---@field first_poll? number seconds before a task's first poll while no task of its model finished (default 3)
---@field min_first_poll? number the shortest first-poll delay learnt from finished tasks (default 0.5)
---@field poll_interval? number seconds between later polls (default 3)
---@field task_timeout? number seconds a task may stay pending before the job fails (default 900)
---@field max_poll_errors? integer consecutive failed polls before the job fails (default 3)

---The state a job reaches, as `on_event` sees it.
---@alias vinano.BatchState
---| "submitting"  # written to the journal right before the request leaves
---| "submitted"   # the server gave a task id
---| "done"        # the task finished; its image URLs are recorded
---| "saved"       # the image is in `out`
---| "failed"      # this job failed (detail.phase, detail.kind, detail.message)
---| "uncertain"   # the submission may have reached the server: not sent again unless retry_uncertain
---| "skipped"     # saved by an earlier run, and the file is still there with its size
---| "not_started" # stopped (budget, 495, 401/403) before it started
---| "interrupted" # stopped while in flight (401/403, the journal could not be written)

---The detail of an `on_event` call: fields by state, and always `progress`.
---@class vinano.BatchEvent
---@field progress vinano.BatchStats the live counts
---@field estimate? integer submitting, submitted: the job's estimated credits
---@field task_id? string|integer submitted, done, failed
---@field cost? number submitted, done: credits (the server's, else the estimate)
---@field images? string[] done: the image URLs
---@field path? string saved, skipped: the file written
---@field size? integer saved, skipped: its size in bytes
---@field phase? "submit"|"task"|"poll"|"download" failed, uncertain: where it failed
---@field kind? vinano.ErrorKind failed: the error kind
---@field status? integer failed: the HTTP status
---@field message? string failed, uncertain, interrupted, not_started: why
---@field reason? string not_started: why everything stopped ("budget", "insufficient_credits", ...)
---@field uncertain? boolean failed lines of a submission that may have reached the server

---The live counts of a batch (`detail.progress`, `summary.stats`).
---@class vinano.BatchStats
---@field total integer jobs in the batch
---@field saved integer
---@field skipped integer
---@field failed integer
---@field uncertain integer
---@field not_started integer
---@field interrupted integer
---@field in_flight integer
---@field queued integer
---@field submitted integer submissions that got a task id in this run
---@field credits number reported by the server in this run
---@field requests {submit: integer, poll: integer, download: integer} attempts, retries included

---What `batch.run` returns.
---@class vinano.BatchSummary
---@field ok boolean every job is saved (now or by an earlier run)
---@field stats vinano.BatchStats
---@field credits? number reported by the server in this run
---@field committed number credits spent or possibly spent by these jobs, as the journal says (earlier runs included)
---@field elapsed number seconds
---@field requests? {submit: integer, poll: integer, download: integer}
---@field requests_per_image? number (submissions + polls) per image saved in this run
---@field stopped? "budget"|"insufficient_credits"|"unauthorized"|"forbidden"|"io" why new jobs stopped
---@field error? string stopped = "io": why the journal could not be written
---@field failures {id: string, out: string, kind: string?, message: string?, status: integer?, phase: string?}[]
---@field uncertain {id: string, out: string, reason: string}[]
---@field not_started {id: string, out: string, reason: string}[]
---@field dry_run? true a dry run: then estimate, to_submit, estimate_all, actions
---@field estimate? integer dry run: credits of the jobs to submit
---@field to_submit? integer dry run: jobs that would be submitted
---@field estimate_all? integer dry run: credits of every job, as if none were recorded
---@field actions? table<string, integer> dry run: jobs per action ("submit", "poll", "download", "skip", "uncertain")

M.canonical = jobs_mod.canonical

local Loaded = {} -- metatable of the lists load() returns: already normalised

do
  local load = jobs_mod.load
  ---Reads a JSON Lines manifest (one job per line; blank and # lines skipped)
  ---into jobs batch.run takes as they are: `out` relative to opts.out_dir
  ---(default: the manifest's folder), relative image paths to the manifest's
  ---folder.  Returns nil and an invalid_request error (err.problems) when a
  ---line is not a JSON object or a job is malformed.
  ---@param path string
  ---@param opts? {out_dir?: string}
  ---@return vinano.BatchJob[]|nil jobs
  ---@return vinano.Error|nil err
  function M.load(path, opts)
    local jobs, problems = load(path, opts)
    if not jobs then return nil, M.invalid(problems) end
    return setmetatable(jobs, Loaded)
  end
end

--- The error for jobs that fail checks (nothing was sent): invalid_request
--- whose message joins the first ten problems; err.problems holds them all.
---@param problems {message: string}[]
---@return vinano.Error
function M.invalid(problems)
  local lines = {}
  for i, p in ipairs(problems) do
    if i > 10 then
      lines[#lines + 1] = ("... and %d more"):format(#problems - 10)
      break
    end
    lines[#lines + 1] = p.message
  end
  local err = vinano.error { kind = "invalid_request", message = table.concat(lines, "; ") }
  err.problems = problems
  return err
end

--- Credits the jobs are estimated to cost, from the API page's table
--- (whatever a journal says: `dry_run` gives what a run would still send).
---@param list (vinano.BatchJobSpec|vinano.BatchJob)[]
---@return integer credits
function M.estimate(list)
  local total = 0
  for _, job in ipairs(list) do total = total + vinano.estimate_credits(job.params or job) end
  return total
end

-- Errors after which the server did not take the order, so nothing was
-- charged and a rerun may send it again.  Anything else after the request
-- left (5xx, timeout, a reset, a body that does not decode) leaves the job
-- uncertain.
local REFUSED = {
  invalid_request = true, bad_request = true, unauthorized = true, forbidden = true,
  payload_too_large = true, rate_limited = true, insufficient_credits = true,
}
local STOP_ALL = { unauthorized = true, forbidden = true }

local function argcheck(cond, n, msg)
  if not cond then error(("bad argument #%d to 'batch.run' (%s)"):format(n, msg), 3) end
end

-- Every option batch.run takes (vinano.BatchOptions), checked before
-- anything is sent: a bad poll_interval must not make a paid job spin.
local POSITIVE = { "number", min = 0, above = true }
local OPTIONS = {
  journal = { "string" }, concurrency = { "number", min = 1, whole = true }, budget = { "number", min = 0 },
  retry_uncertain = { "boolean" }, on_event = { "function" }, out_dir = { "string" }, dry_run = { "boolean" },
  first_poll = { "number", min = 0 }, min_first_poll = { "number", min = 0 }, poll_interval = POSITIVE,
  task_timeout = POSITIVE, max_poll_errors = { "number", min = 1, whole = true },
}

local function public_error(err)
  return { kind = err.kind, message = err.message, status = err.status }
end

local function run(client, list, opts)
  local started = vinano.now()
  local jobs = list
  if getmetatable(list) ~= Loaded then
    local problems
    jobs, problems = jobs_mod.normalize(list, { out_dir = opts.out_dir })
    if not jobs then return nil, M.invalid(problems) end
  end
  do -- every job is checked before the first is sent
    local problems = {}
    for _, job in ipairs(jobs) do
      local ok, err = jobs_mod.check(client, job)
      if not ok then
        local where = job.line and ("line %d"):format(job.line) or ("job %d"):format(job.index)
        problems[#problems + 1] = { index = job.index, line = job.line, id = job.id,
          message = ("%s (%s): %s"):format(where, job.id, err.message) }
      end
    end
    if #problems > 0 then return nil, M.invalid(problems) end
  end

  local journal, records
  if opts.dry_run then
    records = journal_mod.read(opts.journal)
  else
    journal, records = journal_mod.open(opts.journal)
    if not journal then return nil, vinano.error { kind = "io", message = records } end
  end

  local stats = { total = #jobs, saved = 0, skipped = 0, failed = 0, uncertain = 0, not_started = 0,
    interrupted = 0, in_flight = 0, queued = 0, credits = 0, submitted = 0,
    requests = { submit = 0, poll = 0, download = 0 } }
  local summary = { stats = stats, failures = {}, uncertain = {}, not_started = {}, stopped = nil }
  local on_event = opts.on_event
  local function event(job, state, detail)
    if on_event then
      detail = detail or {}
      detail.progress = stats
      on_event(job, state, detail)
    end
  end

  local function plan(job)
    local rec = records[job.id]
    if not rec or rec.params ~= job.canon then return "submit" end
    if rec.state == "saved" and rec.path == job.out and rec.size and fs.size(job.out) == rec.size then
      return "skip"
    end
    if type(rec.images) == "table" and type(rec.images[1]) == "string" then return "download" end
    if rec.task_id then return "poll" end
    if rec.uncertain then return opts.retry_uncertain and "submit" or "uncertain" end
    return "submit"
  end

  -- Credits spent or possibly spent by the jobs of this batch, as the
  -- journal says (earlier runs included), so a rerun cannot spend the
  -- budget again.
  local ids = {}
  for _, job in ipairs(jobs) do ids[job.id] = true end
  local function committed()
    local total = 0
    for id, rec in pairs(records) do
      if ids[id] then total = total + journal_mod.committed(rec) end
    end
    return total
  end

  local order, rank = {}, { skip = 1, uncertain = 1, download = 2, poll = 3, submit = 4 }
  for _, job in ipairs(jobs) do
    job.action = plan(job)
    order[#order + 1] = job
  end
  -- finishing what earlier runs paid for comes before anything new
  table.sort(order, function(a, b)
    if rank[a.action] ~= rank[b.action] then return rank[a.action] < rank[b.action] end
    return a.index < b.index
  end)

  if opts.dry_run then
    local to_submit, estimate = 0, 0
    for _, job in ipairs(order) do
      if job.action == "submit" then
        to_submit = to_submit + 1
        estimate = estimate + vinano.estimate_credits(job.params)
      end
    end
    summary.dry_run = true
    summary.estimate = estimate
    summary.to_submit = to_submit
    summary.estimate_all = M.estimate(jobs)
    summary.committed = committed()
    summary.actions = {}
    for _, job in ipairs(order) do summary.actions[job.action] = (summary.actions[job.action] or 0) + 1 end
    summary.elapsed = vinano.now() - started
    summary.ok = true
    return summary
  end

  stats.queued = #order
  local timing = timing_mod.new(opts)
  local interval = opts.poll_interval or 3
  local task_timeout = opts.task_timeout or 900
  local max_poll_errors = opts.max_poll_errors or 3
  local budget = opts.budget
  -- estimates of submissions on their way (waiting for the limiter): not
  -- yet on disk as `submitting`, but already promised out of the budget
  local reserved = 0
  local stop, abort = nil, false

  local function halt(kind, all)
    stop = stop or kind
    if all then abort = true end
  end

  local function record(line)
    local ok, err = journal:write(line)
    if not ok then
      summary.error = err
      halt("io", true)
    end
    return ok
  end

  local function count(kind, r)
    local n = (r and r.attempts) or 1
    stats.requests[kind] = stats.requests[kind] + n
  end

  local function finish(job, state, detail)
    stats.in_flight = stats.in_flight - 1
    stats[state] = stats[state] + 1
    detail = detail or {}
    if state == "failed" then
      summary.failures[#summary.failures + 1] = { id = job.id, out = job.out, kind = detail.kind,
        message = detail.message, status = detail.status, phase = detail.phase }
    elseif state == "uncertain" then
      summary.uncertain[#summary.uncertain + 1] = { id = job.id, out = job.out, reason = detail.message }
    elseif state == "interrupted" then
      summary.not_started[#summary.not_started + 1] = { id = job.id, out = job.out, reason = detail.message }
    end
    event(job, state, detail)
  end

  local function not_started(job, why)
    stats.not_started = stats.not_started + 1
    summary.not_started[#summary.not_started + 1] = { id = job.id, out = job.out, reason = why }
    event(job, "not_started", { reason = stop, message = why })
  end

  local function fail(job, line)
    line.id, line.state = job.id, "failed"
    record(line)
    finish(job, line.uncertain and "uncertain" or "failed", line)
  end

  -- A job is a machine of call.lua's protocol (next / settle / after), so
  -- that one description of a job's steps is driven either by vinano.many
  -- on the core directly (no coroutine per job) or by call.drive inside a
  -- task.  Its requests are the client's own call machines (submit, poll,
  -- download: their attempts, limiter, deadline and hooks), one at a time;
  -- between polls it sleeps.  `phase` says what comes next:
  --   submit -> first_wait -> poll (-> poll_wait -> poll ...) -> download -> over
  -- (a phase's return is the driver's: ("sleep", s) or nothing; what a call
  -- hands to `done` only sets the next phase)
  local Job = {}
  Job.__index = Job

  -- The job's outcome is decided: nothing more to do.
  function Job:over()
    self.phase = "over"
  end

  function Job:submit()
    local job = self.job
    local estimate = vinano.estimate_credits(job.params)
    if budget and committed() + reserved + estimate > budget then
      halt("budget")
      not_started(job, ("the budget of %d credits would be passed (%d committed, %d reserved, this job %d)")
        :format(budget, committed(), reserved, estimate))
      return self:over()
    end
    reserved = reserved + estimate -- before the limiter's wait, which other jobs spend checking too
    stats.in_flight = stats.in_flight + 1
    self.estimate = estimate
    -- `submitting` goes to disk right before the bytes leave (after the
    -- client's rate limiter let the request go), so the window in which a
    -- kill leaves the job uncertain is only the request itself
    local c, err = client:_call("submit", job.params, nil, { on_send = function()
      if self.recorded then return end
      self.recorded = true
      reserved = reserved - estimate -- from here on the journal counts it
      if not record { id = job.id, state = "submitting", params = job.canon, out = job.out, estimate = estimate } then
        error("the journal could not be written: " .. tostring(summary.error), 0)
      end
      event(job, "submitting", { estimate = estimate })
    end })
    if not c then return self:submitted(nil, err) end
    self.call, self.done = c, Job.submitted
  end

  function Job:submitted(res, err)
    local job, estimate = self.job, self.estimate
    local recorded = self.recorded
    if not recorded then reserved = reserved - estimate end
    self:over()
    if not recorded and err and err.kind == "callback" then
      return finish(job, "interrupted", { message = summary.error })
    end
    count("submit", res or err)
    if not res then
      if STOP_ALL[err.kind] then halt(err.kind, true) end
      if err.kind == "insufficient_credits" then halt("insufficient_credits") end
      -- never sent (no `submitting` line: validation, the limiter's deadline) is never uncertain
      local uncertain = recorded and not REFUSED[err.kind] and err.request_sent ~= false
      return fail(job, { phase = "submit", kind = err.kind, status = err.status, uncertain = uncertain or nil,
        message = uncertain and ("the submission may have reached the server: " .. tostring(err.message))
          or err.message })
    end
    -- response.lua leaves only a finite cost >= 0; none: the estimate
    local cost = type(res.credits) == "table" and res.credits.cost or estimate
    stats.submitted = stats.submitted + 1
    if not record { id = job.id, state = "submitted", task_id = res.task_id, cost = cost } then
      return finish(job, "interrupted", { message = summary.error })
    end
    event(job, "submitted", { task_id = res.task_id, cost = cost })
    self.task_id, self.since = res.task_id, vinano.now()
    self.phase = "first_wait"
  end

  -- Before the first poll: as long as tasks of this model took so far.
  function Job:first_wait()
    local job, t0 = self.job, self.since
    if not t0 then -- submitted by an earlier run: its clock started then
      local rec = records[job.id]
      t0 = vinano.now() - math.max(0, os.time() - (tonumber(rec and rec.t) or os.time()))
    end
    self.t0, self.deadline_task, self.errors = t0, vinano.now() + task_timeout, 0
    self.phase = "poll"
    local delay = timing:first_delay(job.model) - (vinano.now() - t0)
    if delay > 0 then return "sleep", delay end
  end

  function Job:poll()
    local job = self.job
    if abort then
      finish(job, "interrupted", { message = "stopped: " .. tostring(stop) .. " (task " .. self.task_id .. " kept)" })
      return self:over()
    end
    local c, err = client:_call("poll", self.task_id)
    if not c then return self:polled(nil, err) end
    self.call, self.done = c, Job.polled
  end

  function Job:polled(st, err)
    local job, task_id = self.job, self.task_id
    count("poll", st or err)
    local elapsed = vinano.now() - self.t0
    self:over()
    if st and st.state == "done" then
      if self.since then timing:record(job.model, self.pending_at, elapsed) end
      local cost = type(st.credits) == "table" and st.credits.cost or nil
      return self:task_done(st.images, cost)
    elseif st and st.state == "failed" then
      local msg = st.message or st.error or st.msg or st.detail
      return fail(job, { phase = "task", kind = "task_failed", task_id = task_id, status = tonumber(st.status),
        message = "the server reports the task failed: " .. (type(msg) == "string" and msg or "no reason given") })
    elseif st then
      self.pending_at, self.errors = elapsed, 0
    else
      if STOP_ALL[err.kind] then
        halt(err.kind, true)
        return finish(job, "interrupted", { message = err.message })
      end
      self.errors = self.errors + 1
      if self.errors >= max_poll_errors then
        return fail(job, { phase = "poll", kind = err.kind, status = err.status, task_id = task_id,
          message = err.message .. " (the task id is kept: a rerun polls it again)" })
      end
    end
    if vinano.now() >= self.deadline_task then
      return fail(job, { phase = "poll", kind = "timeout", task_id = task_id,
        message = ("task %s still pending after %g s (a rerun polls it again)"):format(task_id, task_timeout) })
    end
    self.phase = "poll_wait"
  end

  -- Between polls: the page's advised interval.
  function Job:poll_wait()
    self.phase = "poll"
    return "sleep", interval
  end

  function Job:task_done(images, cost)
    local job = self.job
    cost = cost or (records[job.id] or {}).cost
    stats.credits = stats.credits + (cost or 0)
    if not record { id = job.id, state = "done", task_id = self.task_id, images = images, cost = cost } then
      return finish(job, "interrupted", { message = summary.error })
    end
    event(job, "done", { task_id = self.task_id, images = images, cost = cost })
    self.images, self.phase = images, "download"
  end

  function Job:download()
    local job, images = self.job, self.images
    self:over()
    if type(images) ~= "table" or type(images[1]) ~= "string" then
      return fail(job, { phase = "task", kind = "decode", message = "the finished task lists no image URL" })
    end
    -- the core makes missing folders (no shell); a failure is the download's io error
    local c, err = client:_call("download", images[1], job.out, { mkdir = true })
    if not c then return self:downloaded(nil, err) end
    self.call, self.done = c, Job.downloaded
  end

  function Job:downloaded(res, err)
    local job = self.job
    count("download", res or err)
    if not res then
      return fail(job, { phase = "download", kind = err.kind, status = err.status,
        message = err.message .. " (the URL is kept: a rerun downloads it again)" })
    end
    local size = fs.size(job.out)
    if record { id = job.id, state = "saved", path = job.out, size = size } then
      finish(job, "saved", { path = job.out, size = size })
    else
      finish(job, "interrupted", { message = summary.error })
    end
  end

  -- The protocol.  A phase may give a wait ("sleep", s) or start a call;
  -- the call's own waits and its transfer pass through to the driver.
  function Job:next()
    while true do
      local c = self.call
      if c then
        local what, a, b = c:next()
        if what ~= "done" then
          self.deadline = c.deadline -- a gate is waited for until then
          return what, a, b
        end
        self.call = nil
        self.done(self, a, b)
      elseif self.phase == "over" then
        return "done"
      else
        local what, a = self[self.phase](self)
        if what then return what, a end
      end
    end
  end

  function Job:settle(facts, raised)
    self.call:settle(facts, raised)
  end

  function Job:after()
    local what, a, b = self.call:after()
    if what ~= "done" then return what, a, b end
    self.call = nil
    self.done(self, a, b)
    return self:next()
  end

  -- The machine of job i of the order, or nil when it needs no request.
  local function start(i)
    local job = order[i]
    stats.queued = stats.queued - 1
    local rec = records[job.id]
    if job.action == "skip" then
      stats.skipped = stats.skipped + 1
      event(job, "skipped", { path = job.out, size = rec.size })
      return nil
    elseif job.action == "uncertain" then
      stats.uncertain = stats.uncertain + 1
      local reason = rec.failed and rec.failed.message or
        "killed between `submitting` and `submitted`: the request may have reached the server"
      summary.uncertain[#summary.uncertain + 1] = { id = job.id, out = job.out, reason = reason }
      event(job, "uncertain", { message = reason })
      return nil
    end
    if abort or (stop and job.action == "submit") then
      not_started(job, "stopped: " .. tostring(stop))
      return nil
    end
    local m = setmetatable({ job = job, client = client, phase = "submit", call = false, done = false,
      deadline = 0, recorded = false }, Job)
    if job.action == "download" then
      stats.in_flight = stats.in_flight + 1
      m.images, m.phase = rec.images, "download"
    elseif job.action == "poll" then
      stats.in_flight = stats.in_flight + 1
      m.task_id, m.phase = rec.task_id, "first_wait"
    end
    return m
  end

  local concurrency = math.min(opts.concurrency or 4, #order)
  if concurrency > 0 then
    if not async.current() then -- nothing else runs meanwhile (batch.run saw to it)
      many.run(#order, concurrency, start, function() end)
    else
      -- inside a task: a worker per slot drives its jobs' machines
      -- through the scheduler (no pcall around a yield: PUC 5.1 cannot; a
      -- raise leaves the journal to the collector, every line of it on disk)
      local next_job = 0
      local function worker()
        while next_job < #order do
          next_job = next_job + 1
          local m = start(next_job)
          if m then call.drive(m) end
        end
      end
      local workers = {}
      for k = 1, concurrency do workers[k] = worker end
      async.all(workers)
    end
  end
  journal:close()

  summary.stopped = stop
  summary.credits = stats.credits
  summary.committed = committed()
  summary.elapsed = vinano.now() - started
  summary.requests = stats.requests
  local api = stats.requests.submit + stats.requests.poll
  summary.requests_per_image = stats.saved > 0 and api / stats.saved or nil
  summary.ok = stats.saved + stats.skipped == stats.total
  return summary
end

--- Runs the jobs: every job is checked first (nothing is sent when one
--- fails: nil and an invalid_request error with err.problems), then each is
--- submitted, polled and its image downloaded to `out`, each state change in
--- the journal before the step that depends on it.  Returns the summary, or
--- nil and an error (invalid jobs; the journal cannot be opened: kind io).
--- Blocks in a plain script, yields inside a vinano.async task.
---@param client vinano.Client
---@param jobs (vinano.BatchJobSpec|vinano.BatchJob)[] tables, or what batch.load returned
---@param opts vinano.BatchOptions
---@return vinano.BatchSummary|nil summary
---@return vinano.Error|nil err
function M.run(client, jobs, opts)
  argcheck(type(client) == "table" and type(client._call) == "function", 1, "vinano client expected")
  argcheck(type(jobs) == "table", 2, "list of jobs expected")
  opts = opts or {}
  argcheck(type(opts) == "table", 3, "options table expected")
  argcheck(type(opts.journal) == "string", 3, "opts.journal: the journal file path is required")
  options.check(opts, OPTIONS, "batch.run", 2)
  -- alone on this thread, the jobs are driven on the core directly;
  -- beside other tasks, by the scheduler that also runs those
  if async.current() or many.alone() then return run(client, jobs, opts) end
  return async.run(run, client, jobs, opts)
end

M.public_error = public_error

return M
