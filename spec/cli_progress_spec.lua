-- The `vinano` command's progress and manifests: the live batch line fits
-- an 80-column terminal (a pseudo-terminal from `script`), generate shows a
-- running elapsed time, nothing half-done is left on a pipe, a resumed
-- batch's rate counts only this run's work, Ctrl-C summarises, --dry-run
-- lists the uncertain jobs, --async --json reports the whole call's elapsed;
-- a manifest's problems are all reported at once, CSV is named, a missing
-- manifest says why.  The real bin/vinano against the mock.
local env = require "spec.support.env"
local mock_process = require "spec.support.mock_process"
local cli = require "spec.support.cli_process"
local cjson = require "cjson"
local socket = require "socket"
local q = mock_process.quote

-- Runs the command in a pseudo-terminal of 80 columns (util-linux script);
-- returns the exit status and everything the terminal received.
local function in_terminal(mock, args, cols)
  local inner = "stty cols " .. (cols or 80) .. " rows 24; " .. cli.command(mock, args, { unset = { "COLUMNS",
    "VINANO_PROGRESS" } })
  return env.sh(("script -qefc %s /dev/null 2>&1 </dev/null"):format(q(inner)))
end

-- The lines the terminal showed: every piece between \r and \n, without
-- the erase-line sequence.
local function drawn(text)
  local pieces = {}
  for piece in text:gsub("\27%[K", ""):gmatch("[^\r\n]+") do pieces[#pieces + 1] = piece end
  return pieces
end

describe("the vinano command's progress and manifests", function()
  local t = cli.each_test({ task_delay = 0.5, rate_limit = 500, rate_window = 60 },
    setup, teardown, before_each, after_each)
  setup(function() assert(os.execute("command -v script >/dev/null"), "needs script (util-linux)") end)

  local function manifest(n, name)
    local path = t.dir .. "/" .. (name or "jobs.jsonl")
    local lines = {}
    for i = 1, n do lines[i] = cjson.encode { prompt = "job " .. i, out = ("out/%02d.png"):format(i) } end
    env.write_file(path, table.concat(lines, "\n") .. "\n")
    return path
  end

  it("the batch line fits an 80-column terminal and ends with the summary", function()
    local m = manifest(6)
    local text = in_terminal(t.mock, { "batch", m, "--concurrency", "2", "--budget", "1000" })
    local pieces = drawn(text)
    local lines = 0
    for _, p in ipairs(pieces) do
      if p:match("^%d+/%d+ done") then -- the live line (the summary after it is plain text)
        assert.is_true(#p <= 79, ("%d columns: %s"):format(#p, p))
        lines = lines + 1
      end
    end
    assert.is_true(lines > 0, text)
    assert.matches("saved 6, already saved 0", text)
  end)

  it("generate shows the seconds the server has worked, and clears the line", function()
    t.mock:fault { action = "delay", seconds = 2.5, path = "/api/v2/images/generate" }
    local text = in_terminal(t.mock, { "generate", "a cat", "-o", t.dir .. "/a.png" })
    local seen = {}
    for _, p in ipairs(drawn(text)) do
      local s = p:match("^generating: waiting for the server, (%d+) s$")
      if s then seen[tonumber(s)] = true end
    end
    assert.is_true(seen[1] or seen[2], "no running elapsed time in:\n" .. text)
    assert.matches("a%.png: 64x64", text)
  end)

  it("on a pipe: no progress lines, nothing half-done (sync); only the task id note (async)", function()
    local code, _, stderr = cli.run(t.mock, { "generate", "a cat", "-o", t.dir .. "/a.png" })
    assert.are.equal(0, code)
    assert.are.equal("", stderr)
    code, _, stderr = cli.run(t.mock, { "generate", "a cat", "-o", t.dir .. "/b.png", "--async" })
    assert.are.equal(0, code)
    assert.matches("^vinano: task [%w%-]+ submitted %(vinano wait [%w%-]+ %-o .-b%.png if this stops%)\n$", stderr)
  end)

  it("--async --json reports the whole call's elapsed, submit to done", function()
    t.mock:set { task_delay = 1.2 }
    local code, stdout = cli.run(t.mock, { "generate", "a cat", "-o", t.dir .. "/a.png", "--async", "--json" })
    t.mock:set { task_delay = 0.5 }
    assert.are.equal(0, code)
    local r = cjson.decode(stdout)
    assert.is_true(r.elapsed >= 1.2, "elapsed " .. tostring(r.elapsed))
  end)

  it("a resumed batch's rate counts only the images this run generated", function()
    local status_line = require("vinano.cli.batch").status_line
    -- four jobs a killed run had submitted, saved in the first second of
    -- this one; none of this run's own yet
    local p = { total = 10, saved = 4, skipped = 2, in_flight = 2, queued = 2, failed = 0, uncertain = 0, credits = 0 }
    local line = status_line(p, 100, 101, 0, 200)
    assert.are.equal("6/10 done | ETA -- | 2 running, 2 queued, 0 failed | -- img/s | 0 credits | 1s", line)
    line = status_line(p, 100, 104, 2, 200)
    assert.are.equal("6/10 done | ETA 8s | 2 running, 2 queued, 0 failed | 0.50 img/s | 0 credits | 4s", line)
    -- narrower: whole parts dropped from the end, never the count or the ETA
    assert.are.equal("6/10 done | ETA 8s | 2 running, 2 queued, 0 failed", status_line(p, 100, 104, 2, 60))
    assert.are.equal("6/10 done", status_line(p, 100, 104, 2, 12))
  end)

  -- #slow: real waiting on kills (and no SIGINT handler in the sanitizer hosts)
  it("Ctrl-C prints what is saved, in flight and uncertain, and how to resume #slow", function()
    t.mock:set { task_delay = 1.5 }
    local m = manifest(6)
    local log = t.dir .. "/log"
    local pid = cli.start(t.mock, { "batch", m, "--concurrency", "2" }, { log = log })
    cli.wait_for(function()
      for _, l in ipairs(cli.journal(m .. ".journal")) do
        if l.state == "saved" then return true end
      end
    end, 30, "a saved job")
    socket.sleep(0.2)
    os.execute("kill -INT " .. pid)
    cli.wait_for(function() return not cli.alive(pid) end, 10, "the batch to stop")
    t.mock:set { task_delay = 0.5 }
    local text = env.read_file(log)
    assert.matches("vinano: interrupted: %d+ saved %(%d+ in this run%), %d+ in flight, %d+ uncertain, %d+ not started;"
      .. " run the same command again to resume", text)
    -- and the rerun finishes, paying for each job once
    local code, stdout = cli.run(t.mock, { "batch", m })
    assert.are.equal(0, code, stdout)
    local submits = cli.api_requests(t.mock, "/api/v1/images/async")
    assert.is_true(submits <= 6 + 2, submits .. " submissions") -- at most the two unanswered were uncertain
  end)

  it("--dry-run lists the uncertain jobs that make the real run exit 1 #slow", function()
    local m = manifest(2)
    t.mock:fault { action = "delay", seconds = 5, path = "/api/v1/images/async", times = -1 }
    local pid = cli.start(t.mock, { "batch", m, "--concurrency", "1" })
    cli.wait_for(function()
      for _, l in ipairs(cli.journal(m .. ".journal")) do
        if l.state == "submitting" then return true end
      end
    end, 10, "a submitting line")
    cli.kill9(pid)
    t.mock:clear_faults()
    local code, stdout = cli.run(t.mock, { "batch", m, "--dry-run" })
    assert.are.equal(0, code)
    assert.matches("uncertain: out/01%.png %(.-out/01%.png%): its submission may have reached the server", stdout)
    assert.matches("1 uncertain job: the real run sends it only with %-%-retry%-uncertain", stdout)
    code, stdout = cli.run(t.mock, { "batch", m, "--dry-run", "--json" })
    assert.are.equal(0, code)
    assert.are.equal("out/01.png", cjson.decode(stdout).uncertain[1].id)
    code = cli.run(t.mock, { "batch", m })
    assert.are.equal(1, code)
  end)

  describe("manifests", function()
    it("every problem at once, one per line, with 'did you mean' for a misspelt field; nothing sent", function()
      local m = env.write_file(t.dir .. "/jobs.jsonl", table.concat({
        '{"prompt": "fine", "out": "a.png"}',
        '{"promt": "typo", "out": "b.png"}',
        '{"prompt": ',
        '{"prompt": "no out"}',
        '{"prompt": "bad ratio", "out": "d.png", "aspectRatio": "8:1"}',
      }, "\n") .. "\n")
      local code, _, stderr = cli.run(t.mock, { "batch", m })
      assert.are.equal(2, code)
      local lines = {}
      for l in stderr:gmatch("[^\n]+") do lines[#lines + 1] = l end
      assert.are.equal(4, #lines, stderr)
      assert.matches("^vinano: .-jobs%.jsonl:2: promt: unknown field; did you mean 'prompt'%?", lines[1])
      assert.matches("^vinano: .-jobs%.jsonl:3: not a JSON object", lines[2])
      assert.matches("^vinano: .-jobs%.jsonl:4: out: ", lines[3])
      assert.matches("^vinano: .-jobs%.jsonl:5: aspectRatio: ", lines[4])
      assert.is_nil(stderr:find("validate = false", 1, true)) -- no library option the command lacks
      assert.are.equal(0, #t.mock:requests())
    end)

    it("CSV is named, not parsed line by line", function()
      for _, name in ipairs { "jobs.csv", "jobs.jsonl" } do
        local m = env.write_file(t.dir .. "/" .. name, "prompt,out\na cat,cat.png\na dog,dog.png\n")
        local code, _, stderr = cli.run(t.mock, { "batch", m })
        assert.are.equal(2, code)
        assert.matches("CSV is not supported, use JSON Lines", cli.one_error_line(stderr))
      end
    end)

    it("a manifest that cannot be read says why", function()
      local code, _, stderr = cli.run(t.mock, { "batch", t.dir .. "/none.jsonl" })
      assert.are.equal(2, code)
      assert.matches("none%.jsonl: cannot be read: No such file or directory$", cli.one_error_line(stderr))
      code, _, stderr = cli.run(t.mock, { "batch", t.dir })
      assert.are.equal(2, code)
      assert.matches("cannot be read: Is a directory$", cli.one_error_line(stderr))
    end)
  end)
end)
