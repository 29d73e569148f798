-- vinano.batch against the mock: kills at chosen moments then reruns until
-- complete (no job paid twice except uncertain ones), the torn last line,
-- budget, 495, 401, changed parameters, dry runs, rate limits, and the
-- number of API requests per image (printed, not asserted on: it depends on
-- timing).
local env = require "spec.support.env"
local mock_process = require "spec.support.mock_process"
local cli = require "spec.support.cli_process"
local async = require "vinano.async"
local batch = require "vinano.batch"

local SUBMIT = "/api/v1/images/async"
local POLL = "/api/v1/images/task-status"

local function prompt_of(entry)
  for _, p in ipairs(entry.parts or {}) do
    if p.name == "prompt" then return p.value end
  end
end

-- prompt -> how many submissions the mock received for it
local function submissions(mock)
  local n = {}
  for _, e in ipairs(mock:requests()) do
    if e.method == "POST" and e.path == SUBMIT then
      local p = prompt_of(e)
      n[p] = (n[p] or 0) + 1
    end
  end
  return n
end

local function statuses(mock, status)
  local n = 0
  for _, e in ipairs(mock:requests()) do
    if e.status == status then n = n + 1 end
  end
  return n
end

local function write_manifest(path, jobs)
  local cjson = require "cjson"
  local f = assert(io.open(path, "wb"))
  for _, j in ipairs(jobs) do f:write(cjson.encode(j), "\n") end
  f:close()
end

local function assert_png(path)
  local bytes = env.read_file(path)
  assert.is_truthy(bytes, path .. " is missing")
  local w, h = env.png_size(bytes)
  assert.is_true(w > 0 and h > 0)
end

describe("vinano.batch", function()
  local mock, dir

  before_each(function()
    dir = env.tmpdir()
  end)

  after_each(function()
    if mock then mock:stop() end
    mock = nil
    os.execute("rm -rf " .. dir)
  end)

  it("survives SIGKILL at several moments and completes on rerun, paying each job once #slow", function()
    mock = mock_process.start { tokens = { env.token }, task_delay = 1, rate_limit = 200, rate_window = 4 }
    local jobs = {}
    for i = 1, 12 do jobs[i] = { prompt = "kill test " .. i, out = ("img/%02d.png"):format(i) } end
    local manifest = dir .. "/jobs.jsonl"
    local journal = manifest .. ".journal"
    write_manifest(manifest, jobs)
    local args = { "batch", manifest, "--concurrency", "3", "--rate-limit", "200", "--rate-window", "4" }
    local function journal_lines() return cli.journal(journal) end

    -- 1. killed while a submission is in flight: the mock holds the first
    -- submission 2.5 s (and then charges it, as a real server may)
    mock:fault { action = "delay", path = SUBMIT, seconds = 2.5, times = 1 }
    local pid = cli.start(mock, args)
    local delayed = cli.wait_for(function()
      for _, e in ipairs(mock:requests()) do
        if e.path == SUBMIT and e.fault == "delay" then return prompt_of(e) end
      end
    end, 20, "the delayed submission")
    cli.kill9(pid)
    local uncertain_id
    for i, j in ipairs(jobs) do
      if j.prompt == delayed then uncertain_id = jobs[i].out end
    end
    assert.are.equal("submitting", cli.last_states(journal_lines())[uncertain_id])

    -- 2. killed once a few images are saved
    local before = #journal_lines()
    pid = cli.start(mock, args)
    cli.wait_for(function()
      local saved = 0
      for i, l in ipairs(journal_lines()) do
        if i > before and l.state == "saved" then saved = saved + 1 end
      end
      return saved >= 2
    end, 30, "two saved lines")
    cli.kill9(pid)

    -- 3. killed just after a task id is recorded (the task still pending)
    before = #journal_lines()
    pid = cli.start(mock, args)
    cli.wait_for(function()
      for i, l in ipairs(journal_lines()) do
        if i > before and l.state == "submitted" then return true end
      end
    end, 30, "a submitted line")
    cli.kill9(pid)
    local last = cli.last_states(journal_lines())
    local polled_later = {}
    for id, s in pairs(last) do if s == "submitted" then polled_later[#polled_later + 1] = id end end
    assert.is_true(#polled_later >= 1)

    -- 4. killed while an image downloads (the mock holds the first image)
    mock:fault { action = "delay", path = "/images/*", seconds = 3, times = 1 }
    before = #journal_lines()
    pid = cli.start(mock, args)
    cli.wait_for(function()
      for i, l in ipairs(journal_lines()) do
        if i > before and l.state == "done" then return true end
      end
    end, 30, "a done line")
    require("socket").sleep(0.2)
    cli.kill9(pid)
    mock:clear_faults()

    -- a kill in the middle of writing a line leaves half a line
    local f = assert(io.open(journal, "ab"))
    f:write('{"id":"img/01.png","state":"sav')
    f:close()

    -- the uncertain jobs are exactly those whose last line is `submitting`:
    -- the delayed one, and any other a kill caught with its request in flight
    -- (how many depends on timing; which they are, the journal says)
    local uncertain = {}
    for id, state in pairs(cli.last_states(journal_lines())) do
      if state == "submitting" then uncertain[#uncertain + 1] = id end
    end
    table.sort(uncertain)
    local is_uncertain = {}
    for _, id in ipairs(uncertain) do is_uncertain[id] = true end
    assert.is_true(is_uncertain[uncertain_id])

    -- 5. a plain rerun completes everything but the uncertain jobs, and says so
    local code, out = cli.run(mock, args)
    assert.are.equal(1, code, out)
    for _, id in ipairs(uncertain) do assert.matches("uncertain: " .. id:gsub("%p", "%%%0"), out) end
    assert.matches("saved %d+, already saved %d+, failed 0, uncertain " .. #uncertain .. ",", out)

    -- 6. asked to, it sends the uncertain job again
    local retry_args = {}
    for i, a in ipairs(args) do retry_args[i] = a end
    retry_args[#retry_args + 1] = "--retry-uncertain"
    code, out = cli.run(mock, retry_args)
    assert.are.equal(0, code, out)

    for _, j in ipairs(jobs) do assert_png(dir .. "/" .. j.out) end
    local n = submissions(mock)
    for _, j in ipairs(jobs) do
      local times = n[j.prompt]
      if j.prompt == delayed then
        assert.are.equal(2, times, j.prompt .. " (reached the server, then sent again as asked)")
      elseif is_uncertain[j.out] then
        -- sent again as asked: once more if the killed request had reached the server
        assert.is_true(times == 1 or times == 2, j.prompt .. " submitted " .. tostring(times) .. " times")
      else
        assert.are.equal(1, times, j.prompt .. " submitted " .. tostring(times) .. " times")
      end
    end
    -- a third run has nothing left to do and sends nothing
    local requests = #mock:requests()
    code, out = cli.run(mock, args)
    assert.are.equal(0, code, out)
    assert.matches("already saved 12", out)
    assert.are.equal(requests, #mock:requests())
  end)

  it("keeps the rate limit and few requests per image in an uninterrupted run #slow", function()
    -- the task delay varies between 1 and 2.5 s, set as each task is submitted
    mock = mock_process.start { tokens = { env.token }, task_delay = 1.5, rate_limit = 10, rate_window = 4,
      credits = 100000 }
    local client = env.client(mock, { rate_limit = 10, rate_window = 4, timeout = 60 })
    local jobs = {}
    for i = 1, 16 do jobs[i] = { prompt = "rate test " .. i, out = dir .. ("/r/%02d.png"):format(i) } end
    math.randomseed(42)
    local summary = assert(batch.run(client, jobs, { journal = dir .. "/r.journal", concurrency = 4,
      on_event = function(_, state)
        if state == "submitted" then mock:set { task_delay = 1 + math.random() * 1.5 } end
      end }))
    assert.is_true(summary.ok)
    for _, j in ipairs(jobs) do assert_png(j.out) end
    local api = 0
    for _, e in ipairs(mock:requests()) do
      if e.path == SUBMIT or e.path == POLL then api = api + 1 end
    end
    print(("\n  batch of %d (concurrency 4, 10 requests / 4 s, tasks 1-2.5 s): %d API requests, "
      .. "%.2f per image (batch's count %.2f), %d x 429, %.1f s"):format(#jobs, api, api / #jobs,
      summary.requests_per_image, statuses(mock, 429), summary.elapsed))
    assert.are.equal(0, statuses(mock, 429))
    for _, c in pairs(submissions(mock)) do assert.are.equal(1, c) end
  end)

  it("reads past a torn last line and downloads a done job again instead of regenerating it", function()
    mock = mock_process.start { tokens = { env.token }, task_delay = 0.2, rate_limit = 200 }
    local client = env.client(mock)
    local jobs = { { prompt = "torn 1", out = dir .. "/t1.png" }, { prompt = "torn 2", out = dir .. "/t2.png" } }
    local journal = dir .. "/t.journal"
    assert.is_true(assert(batch.run(client, jobs, { journal = journal, poll_interval = 0.3, first_poll = 0.3 })).ok)
    -- cut the file in the middle of its last line (a job's `saved`)
    local lines = cli.journal(journal)
    assert.are.equal("saved", lines[#lines].state)
    local text = env.read_file(journal)
    local cut = text:sub(1, #text - 10)
    env.write_file(journal, cut)
    local summary = assert(batch.run(client, jobs, { journal = journal, poll_interval = 0.3, first_poll = 0.3 }))
    assert.is_true(summary.ok)
    assert.are.equal(1, summary.stats.saved)
    assert.are.equal(1, summary.stats.skipped)
    assert.are.equal(0, summary.requests.submit)
    assert.are.equal(0, summary.requests.poll)
    for _, c in pairs(submissions(mock)) do assert.are.equal(1, c) end
    -- the torn fragment stays as a line of its own; what follows decodes
    local after = env.read_file(journal)
    assert.are.equal(cut .. "\n", after:sub(1, #cut + 1))
    assert.are.equal("saved", cli.journal(journal)[#cli.journal(journal)].state)
  end)

  it("stops starting jobs at the budget, counting what earlier runs spent", function()
    mock = mock_process.start { tokens = { env.token }, task_delay = 0.2, rate_limit = 200 }
    local client = env.client(mock)
    local jobs = {}
    for i = 1, 6 do jobs[i] = { prompt = "budget " .. i, out = dir .. "/b" .. i .. ".png" } end
    local opts = { journal = dir .. "/b.journal", budget = 35, concurrency = 2, first_poll = 0.3, poll_interval = 0.3 }
    local s = assert(batch.run(client, jobs, opts))
    assert.are.equal("budget", s.stopped)
    assert.are.equal(3, s.stats.saved)
    assert.are.equal(3, s.stats.not_started)
    assert.is_false(s.ok)
    assert.are.equal(30, s.credits)
    s = assert(batch.run(client, jobs, opts))
    assert.are.equal("budget", s.stopped)
    assert.are.equal(3, s.stats.skipped)
    assert.are.equal(0, s.requests.submit)
    local total = 0
    for _, c in pairs(submissions(mock)) do total = total + c end
    assert.are.equal(3, total)
  end)

  it("reserves a job's credits before the limiter's wait: the budget holds with a rate limit", function()
    mock = mock_process.start { tokens = { env.token }, task_delay = 0.2, rate_limit = 200 }
    local client = env.client(mock, { rate_limit = 2, rate_window = 3 })
    local jobs = {}
    for i = 1, 4 do jobs[i] = { prompt = "reserve " .. i, out = dir .. "/r" .. i .. ".png" } end
    local s = assert(batch.run(client, jobs, { journal = dir .. "/r.journal", budget = 20, concurrency = 4,
      first_poll = 0.3, poll_interval = 0.3 }))
    assert.are.equal("budget", s.stopped)
    assert.are.equal(2, s.stats.saved)
    assert.are.equal(2, s.stats.not_started)
    local total = 0
    for _, c in pairs(submissions(mock)) do total = total + c end
    assert.are.equal(2, total)
    assert.are.equal(20, s.committed)
  end)

  it("never fails on the server's numbers: a non-finite cost, and a nested answer, still record the task", function()
    mock = mock_process.start { tokens = { env.token }, task_delay = 0.2, rate_limit = 200 }
    local client = env.client(mock)
    local deep = ("["):rep(500) .. ("]"):rep(500) -- within what cjson decodes
    mock:fault { action = "body", status = 202, path = SUBMIT,
      body = '{"status":202,"task_id":"t-inf","credits":{"cost":1e400},"extra":' .. deep .. '}' }
    -- the task stays pending past task_timeout: the job fails with its id kept
    mock:fault { action = "body", status = 202, path = POLL, times = -1, body = '{"status":"pending"}' }
    local journal = dir .. "/n.journal"
    local s = assert(batch.run(client, { { prompt = "inf", out = dir .. "/n.png" } },
      { journal = journal, first_poll = 0.1, poll_interval = 0.1, task_timeout = 0.5 }))
    local text = env.read_file(journal)
    assert.matches('"task_id":"t-inf"', text, 1, true)
    assert.matches('"state":"submitted"', text, 1, true)
    -- an unusable cost counts as the estimate
    assert.matches('"cost":10', text, 1, true)
    assert.are.equal(10, s.committed)
    -- the rerun polls the recorded task instead of calling the job uncertain
    local again = assert(batch.run(client, { { prompt = "inf", out = dir .. "/n.png" } },
      { journal = journal, dry_run = true }))
    assert.are.equal(1, again.actions.poll)
  end)

  it("checks every option before anything is sent", function()
    mock = mock_process.start { tokens = { env.token }, rate_limit = 200 }
    local client = env.client(mock)
    local jobs = { { prompt = "opts", out = dir .. "/o.png" } }
    local journal = dir .. "/o.journal"
    for _, row in ipairs {
      { { poll_interval = -1 }, "poll_interval" }, { { poll_interval = "x" }, "poll_interval" },
      { { poll_interval = 0 }, "poll_interval" }, { { first_poll = -1 }, "first_poll" },
      { { first_poll = 0 / 0 }, "first_poll" }, { { min_first_poll = -0.5 }, "min_first_poll" },
      { { task_timeout = 0 }, "task_timeout" }, { { task_timeout = math.huge }, "task_timeout" },
      { { max_poll_errors = 0 }, "max_poll_errors" }, { { max_poll_errors = 1.5 }, "max_poll_errors" },
      { { concurrency = 2.5 }, "concurrency" }, { { budget = -1 }, "budget" },
      { { pol_interval = 1 }, "pol_interval" }, { { retry_uncertain = 1 }, "retry_uncertain" },
    } do
      local opts = row[1]
      opts.journal = journal
      local ok, err = pcall(batch.run, client, jobs, opts)
      assert.is_false(ok, row[2])
      assert.matches("'" .. row[2] .. "'", err, 1, true)
    end
    local ok, err = pcall(batch.run, client, jobs, { journal = journal, pol_interval = 1 })
    assert.is_false(ok)
    assert.matches("did you mean 'poll_interval'", err, 1, true)
    assert.are.equal(0, #mock:requests())
    assert.is_nil(env.read_file(journal))
  end)

  it("makes the output folders through the core, never a shell's mkdir", function()
    mock = mock_process.start { tokens = { env.token }, task_delay = 0.2, rate_limit = 200 }
    local shims = dir .. "/shims"
    env.sh("mkdir -p " .. shims)
    -- a mkdir first on PATH that leaves a mark, then does the work
    env.write_file(shims .. "/mkdir", "#!/bin/sh\ntouch " .. dir .. "/shell-mkdir-ran\nexec /bin/mkdir \"$@\"\n")
    env.sh("chmod +x " .. shims .. "/mkdir")
    local manifest = dir .. "/m.jsonl"
    write_manifest(manifest, { { prompt = "nested", out = "a/b/c/n.png" } })
    local code, _, stderr = cli.run(mock, { "batch", manifest, "--journal", dir .. "/m.journal" },
      { env = { PATH = shims .. ":" .. os.getenv("PATH") } })
    assert.are.equal(0, code, stderr)
    assert_png(dir .. "/a/b/c/n.png")
    assert.is_nil(env.read_file(dir .. "/shell-mkdir-ran"), "a shell's mkdir made the folders")
  end)

  it("refuses a second run on a journal another run holds", function()
    mock = mock_process.start { tokens = { env.token }, task_delay = 1, rate_limit = 200 }
    local manifest = dir .. "/l.jsonl"
    write_manifest(manifest, { { prompt = "lock 1", out = "l1.png" }, { prompt = "lock 2", out = "l2.png" } })
    local journal = dir .. "/l.journal"
    local first = cli.start(mock, { "batch", manifest, "--journal", journal })
    cli.wait_for(function() return (env.read_file(journal) or ""):find("submitting", 1, true) end, 10,
      "the first run's submission")
    local code, _, stderr = cli.run(mock, { "batch", manifest, "--journal", journal })
    assert.are_not.equal(0, code)
    assert.matches("in use by another run", stderr, 1, true)
    cli.wait_for(function() return not cli.alive(first) end, 30, "the first run to end")
    local total = 0
    for _, c in pairs(submissions(mock)) do total = total + c end
    assert.are.equal(2, total)
  end)

  it("sends nothing new after a 495; running jobs finish", function()
    mock = mock_process.start { tokens = { env.token }, task_delay = 0.2, rate_limit = 200, credits = 30 }
    local client = env.client(mock)
    local jobs = {}
    for i = 1, 8 do jobs[i] = { prompt = "credits " .. i, out = dir .. "/c" .. i .. ".png" } end
    local s = assert(batch.run(client, jobs, { journal = dir .. "/c.journal", concurrency = 1,
      first_poll = 0.3, poll_interval = 0.3 }))
    assert.are.equal("insufficient_credits", s.stopped)
    assert.are.equal(3, s.stats.saved)
    assert.are.equal(1, s.stats.failed)
    assert.are.equal("insufficient_credits", s.failures[1].kind)
    assert.are.equal(4, s.stats.not_started)
    assert.are.equal(1, statuses(mock, 495))
    local total = 0
    for _, c in pairs(submissions(mock)) do total = total + c end
    assert.are.equal(4, total)
  end)

  it("stops everything on 401", function()
    mock = mock_process.start { tokens = { env.token }, task_delay = 0.2, rate_limit = 200 }
    local client = env.client(mock, { token = "wrong-token" })
    local jobs = {}
    for i = 1, 6 do jobs[i] = { prompt = "auth " .. i, out = dir .. "/a" .. i .. ".png" } end
    local s = assert(batch.run(client, jobs, { journal = dir .. "/a.journal", concurrency = 2 }))
    assert.are.equal("unauthorized", s.stopped)
    assert.is_true(s.stats.not_started >= 4)
    assert.is_true(#mock:requests() <= 2)
  end)

  it("treats a job whose parameters changed as a new job", function()
    mock = mock_process.start { tokens = { env.token }, task_delay = 0.2, rate_limit = 200 }
    local client = env.client(mock)
    local opts = { journal = dir .. "/p.journal", first_poll = 0.3, poll_interval = 0.3 }
    local jobs = { { prompt = "same", out = dir .. "/p1.png" }, { prompt = "before", out = dir .. "/p2.png" } }
    assert.is_true(assert(batch.run(client, jobs, opts)).ok)
    jobs[2].prompt = "after"
    local s = assert(batch.run(client, jobs, opts))
    assert.is_true(s.ok)
    assert.are.equal(1, s.stats.skipped)
    assert.are.equal(1, s.stats.saved)
    local n = submissions(mock)
    assert.are.same({ same = 1, before = 1, after = 1 }, n)
  end)

  it("refuses invalid jobs before sending anything, and a dry run sends nothing", function()
    mock = mock_process.start { tokens = { env.token }, rate_limit = 200 }
    local client = env.client(mock)
    local s, err = batch.run(client, {
      { prompt = "fine", out = dir .. "/v1.png" },
      { prompt = "too wide", aspectRatio = "4:1", out = dir .. "/v2.png" },
      { prompt = "no file", image = dir .. "/missing.png", out = dir .. "/v3.png" },
    }, { journal = dir .. "/v.journal" })
    assert.is_nil(s)
    assert.are.equal("invalid_request", err.kind)
    assert.are.equal(2, #err.problems)
    assert.matches("aspectRatio", err.message)
    local dry = assert(batch.run(client, {
      { prompt = "a", out = dir .. "/d1.png" },
      { prompt = "b", model = "gemini-3-pro-image-preview", img_size = "4k", out = dir .. "/d2.png" },
    }, { journal = dir .. "/d.journal", dry_run = true }))
    assert.are.equal(90, dry.estimate)
    assert.are.equal(0, #mock:requests())
    assert.is_nil(env.read_file(dir .. "/d.journal"))
  end)

  it("spaces a pending task's polls by poll_interval", function()
    mock = mock_process.start { tokens = { env.token }, task_delay = 1.2, rate_limit = 200 }
    local client = env.client(mock)
    local s = assert(batch.run(client, { { prompt = "spaced", out = dir .. "/s.png" } },
      { journal = dir .. "/s.journal", first_poll = 0.1, poll_interval = 0.5 }))
    assert.is_true(s.ok)
    local polls = 0
    for _, e in ipairs(mock:requests()) do
      if e.path == POLL then polls = polls + 1 end
    end
    -- pending at about 0.1, 0.6 and 1.1 s, done at 1.6 s: 4 (5 on a slow machine), never a burst
    assert.is_true(polls >= 2 and polls <= 5, polls .. " polls")
    assert.are.equal(polls, s.stats.requests.poll)
  end)

  it("outside a task drives its jobs on the core itself: every request from the caller's thread", function()
    mock = mock_process.start { tokens = { env.token }, task_delay = 0.3, rate_limit = 200 }
    local main = coroutine.running() -- nil (5.1) or the main thread
    local ops, in_task, peak = {}, 0, 0
    local client = env.client(mock, { on_request = function(info)
      ops[info.op] = (ops[info.op] or 0) + 1
      if coroutine.running() ~= main or async.current() then in_task = in_task + 1 end
    end })
    local jobs = {}
    for i = 1, 6 do jobs[i] = { prompt = "thread " .. i, out = ("%s/t%d.png"):format(dir, i) } end
    local s = assert(batch.run(client, jobs, { journal = dir .. "/t.journal", concurrency = 3, first_poll = 0.3,
      poll_interval = 0.2, on_event = function(_, _, d) peak = math.max(peak, d.progress.in_flight) end }))
    assert.is_true(s.ok)
    assert.are.equal(6, s.stats.saved)
    assert.are.equal(6, ops.submit)
    assert.are.equal(6, ops.download)
    assert.are.equal(s.stats.requests.poll, ops.poll)
    assert.are.equal(0, in_task) -- no coroutine, no task: the caller's own thread sent every request
    assert.are.equal(0, async.default.live)
    assert.are.equal(3, peak)
    for i = 1, 6 do assert_png(("%s/t%d.png"):format(dir, i)) end
  end)

  it("yields inside a vinano.async task", function()
    mock = mock_process.start { tokens = { env.token }, task_delay = 0.5, rate_limit = 200 }
    local client = env.client(mock)
    local ticks, summary = 0, nil
    async.run(function()
      local done = false
      local ticker = async.spawn(function()
        while not done do
          ticks = ticks + 1
          async.sleep(0.05)
        end
      end)
      summary = batch.run(client, { { prompt = "async", out = dir .. "/y.png" } },
        { journal = dir .. "/y.journal", first_poll = 0.5 })
      done = true
      async.join(ticker)
    end)
    assert.is_true(summary.ok)
    assert.is_true(ticks > 5)
  end)
end)
