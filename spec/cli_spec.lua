-- The `vinano` command as a user runs it: exit statuses (0 done, 2 usage or
-- invalid parameters with nothing sent, 1 anything else), --json output,
-- one-line errors without a Lua traceback, and the command installed by the
-- rock run from outside the checkout.
local env = require "spec.support.env"
local cli = require "spec.support.cli_process"
local cjson = require "cjson"

local abi = env.lua == "luajit" and "5.1" or env.lua:match("^lua(%d%.%d)$")

local one_error_line, json_lines = cli.one_error_line, cli.json_lines
local function api_requests(mock) return cli.api_requests(mock) end

describe("the vinano command", function()
  local t = cli.each_test({ task_delay = 0.3, rate_limit = 500, rate_window = 60 },
    setup, teardown, before_each, after_each)

  describe("usage errors exit 2 with one line", function()
    it("no command, an unknown option, a missing -o", function()
      for _, args in ipairs { {}, { "generate", "x", "-o", t.dir .. "/a.png", "--bogus" }, { "generate", "x" },
        { "batch" }, { "generate", "x", "-o", t.dir .. "/a.png", "--size", "3k" } } do
        local code, _, stderr = cli.run(t.mock, args)
        assert.are.equal(2, code, table.concat(args, " ") .. ": " .. stderr)
        one_error_line(stderr)
      end
      assert.are.equal(0, api_requests(t.mock))
    end)

    it("the token is never a command-line value", function()
      local code, _, stderr = cli.run(t.mock, { "generate", "x", "-o", t.dir .. "/a.png", "--token", env.token })
      assert.are.equal(2, code)
      assert.matches("unknown option '%-%-token'", one_error_line(stderr))
    end)

    it("a missing token", function()
      local code, _, stderr = cli.run(nil, { "generate", "x", "-o", t.dir .. "/a.png" },
        { env = { VINANO_BASE_URL = t.mock.url } })
      assert.are.equal(2, code)
      assert.matches("VINANO_API_TOKEN", one_error_line(stderr))
    end)

    it("parameters that fail validation: nothing is sent", function()
      local code, _, stderr = cli.run(t.mock, { "generate", "x", "-o", t.dir .. "/a.png", "--aspect-ratio", "4:1" })
      assert.are.equal(2, code)
      assert.matches("aspectRatio", one_error_line(stderr))
      code, _, stderr = cli.run(t.mock, { "generate", "x", "-o", t.dir .. "/a.png", "--image", t.dir .. "/none.png" })
      assert.are.equal(2, code, stderr)
      one_error_line(stderr)
      assert.are.equal(0, api_requests(t.mock))
    end)
  end)

  describe("generate", function()
    it("writes the image (folders created) and exits 0", function()
      local out = t.dir .. "/deep/er/sunset.png"
      local code, stdout, stderr = cli.run(t.mock, { "generate", "a sunset", "-o", out, "--aspect-ratio", "16:9" })
      assert.are.equal(0, code, stderr)
      local w, h = env.png_size(env.read_file(out))
      assert.is_true(w > h)
      assert.matches(out:gsub("%p", "%%%0"), stdout)
    end)

    it("--json prints the result table; --async submits and waits", function()
      local out = t.dir .. "/j.png"
      local code, stdout = cli.run(t.mock, { "generate", "json", "-o", out, "--json" })
      assert.are.equal(0, code)
      local r = cjson.decode(stdout)
      assert.are.equal(out, r.file)
      assert.are.equal(10, r.credits.cost)
      assert.matches("^http", r.images[1])
      code, stdout = cli.run(t.mock, { "generate", "json", "-o", out, "--json", "--async" })
      assert.are.equal(0, code)
      r = cjson.decode(stdout)
      assert.is_string(r.task_id)
      assert.are.equal("done", r.state)
      assert.are.equal(#env.read_file(out), r.size)
    end)

    it("reads the token from --token-file", function()
      local file = env.write_file(t.dir .. "/token", env.token .. "\n")
      local code, _, stderr = cli.run(nil, { "generate", "x", "-o", t.dir .. "/t.png", "--token-file", file },
        { env = { VINANO_BASE_URL = t.mock.url } })
      assert.are.equal(0, code, stderr)
    end)

    -- a 5xx after the request reached the server: it may have been charged
    -- (exit 3, spec/cli_money_spec.lua); a refusal is not (exit 1)
    it("a server error: the library's words and what it may have cost, no traceback", function()
      t.mock:fault { action = "status", status = 500, path = "/api/v2/images/generate" }
      local code, stdout, stderr = cli.run(t.mock, { "generate", "x", "-o", t.dir .. "/e.png" })
      assert.are.equal(3, code)
      assert.are.equal("", stdout)
      local _
      assert.matches("^vinano: server %(HTTP 500%): [^\n]+\nvinano: [^\n]*may have been charged[^\n]*\n$", stderr)
      assert.is_nil(stderr:find("traceback", 1, true))
      t.mock:fault { action = "status", status = 495, path = "/api/v2/images/generate" }
      code, _, stderr = cli.run(t.mock, { "generate", "x", "-o", t.dir .. "/e.png" },
        { env = { VINANO_PROGRESS = "tty" } })
      assert.are.equal(1, code)
      assert.matches("vinano: [^\n]*[Ii]nsufficient", stderr)
    end)
  end)

  it("status, wait and estimate", function()
    local client = env.client(t.mock)
    local task = assert(client:submit_async { prompt = "later" })
    local code, stdout = cli.run(t.mock, { "status", task.task_id, "--json" })
    assert.are.equal(0, code)
    assert.is_truthy(({ pending = true, done = true })[cjson.decode(stdout).state])
    code, stdout = cli.run(t.mock, { "wait", task.task_id, "-o", t.dir .. "/w.png", "--interval", "0.2" })
    assert.are.equal(0, code, stdout)
    env.png_size(env.read_file(t.dir .. "/w.png"))
    code, stdout = cli.run(t.mock, { "status", task.task_id })
    assert.are.equal(0, code)
    assert.matches(": done http", stdout)
    code, stdout = cli.run(nil, { "estimate", "x", "--model", "gemini-3-pro-image-preview", "--size", "4k" })
    assert.are.equal(0, code)
    assert.are.equal("estimate: 80 credits\n", stdout)
    code, stdout = cli.run(nil, { "estimate", "--hd", "x", "--json" })
    assert.are.equal(0, code)
    assert.are.same({ estimate = 30 }, cjson.decode(stdout))
    code = cli.run(nil, { "estimate", "x", "--search" })
    assert.are.equal(2, code)
  end)

  describe("batch", function()
    local function manifest(jobs)
      local path = t.dir .. "/m/jobs.jsonl"
      os.execute("mkdir -p " .. t.dir .. "/m")
      local f = assert(io.open(path, "wb"))
      for _, j in ipairs(jobs) do f:write(type(j) == "string" and j or cjson.encode(j), "\n") end
      f:close()
      return path
    end

    it("--dry-run validates, prints the estimate and sends nothing", function()
      local m = manifest { { prompt = "a", out = "a.png" }, { prompt = "b", out = "b.png", hdPro = true },
        { prompt = "c", out = "c.png", model = "gemini-3.1-pro-image-preview", img_size = "2k" },
        { prompt = "d", out = "d.png", hdPro = true } }
      local code, stdout, stderr = cli.run(t.mock, { "batch", m, "--dry-run" })
      assert.are.equal(0, code, stderr)
      assert.matches("^estimate: 105 credits\n", stdout)
      assert.are.equal(0, #t.mock:requests())
      assert.is_nil(env.read_file(m .. ".journal"))
    end)

    it("an invalid job or a broken line exits 2 and sends nothing", function()
      local code, _, stderr = cli.run(t.mock, { "batch", manifest { { prompt = "a", out = "a.png" },
        { prompt = "b", out = "b.png", aspectRatio = "8:1" } } })
      assert.are.equal(2, code)
      assert.matches("jobs%.jsonl:2: aspectRatio", one_error_line(stderr))
      code, _, stderr = cli.run(t.mock, { "batch", manifest { '{"prompt": "a", "out": "a.png"}', '{"prompt": ' } })
      assert.are.equal(2, code)
      assert.matches("jobs.jsonl:2", one_error_line(stderr))
      code, _, stderr = cli.run(t.mock, { "batch", manifest { { prompt = "no out" } } })
      assert.are.equal(2, code)
      one_error_line(stderr)
      code, _, stderr = cli.run(t.mock, { "batch", t.dir .. "/none.jsonl" })
      assert.are.equal(2, code)
      one_error_line(stderr)
      assert.are.equal(0, #t.mock:requests())
    end)

    it("--json prints one event per line and a summary; --out and --journal", function()
      local m = manifest { { prompt = "a", out = "x/a.png" }, { prompt = "b", out = "x/b.png", id = "bee" } }
      local out, journal = t.dir .. "/elsewhere", t.dir .. "/j.log"
      local code, stdout, stderr = cli.run(t.mock, { "batch", m, "--json", "--out", out, "--journal", journal,
        "--plan", "yearly" })
      assert.are.equal(0, code, stderr)
      local events = json_lines(stdout)
      local seen = {}
      for _, e in ipairs(events) do seen[e.event .. ":" .. tostring(e.id)] = true end
      for _, s in ipairs { "submitting", "submitted", "done", "saved" } do
        assert.is_true(seen[s .. ":x/a.png"], s)
        assert.is_true(seen[s .. ":bee"], s)
      end
      local summary = events[#events]
      assert.are.equal("summary", summary.event)
      assert.is_true(summary.ok)
      assert.are.equal(2, summary.stats.saved)
      env.png_size(env.read_file(out .. "/x/b.png"))
      assert.is_truthy(env.read_file(journal))
    end)

    it("exits 1 when jobs are left (budget) and lists why #slow", function()
      local m = manifest { { prompt = "a", out = "a.png" }, { prompt = "b", out = "b.png" } }
      local code, stdout = cli.run(t.mock, { "batch", m, "--budget", "15" })
      assert.are.equal(1, code)
      assert.matches("stopped: the budget", stdout)
      assert.matches("not started: 1", stdout)
      code, stdout = cli.run(t.mock, { "batch", m, "--budget", "20" })
      assert.are.equal(0, code, stdout)
    end)
  end)

  it("vinano mock starts the mock", function()
    local code, stdout = cli.run(nil, { "mock", "--help" })
    assert.are.equal(0, code)
    assert.matches("usage: vinano%-mock", stdout)
  end)

  it("installed by the rock, runs from outside the checkout", function()
    local tree = env.tmpdir()
    local root = env.sh("pwd"):gsub("%s+$", "")
    -- built in a copy: luarocks make compiles beside the sources (src/*.o,
    -- ./vinano/core.so, which a later ./?.so would load)
    local copy = env.tmpdir()
    local out = env.sh(("cp -R lua src doc bin completions vinano-scm-1.rockspec %s && cd %s && "
      .. "luarocks --lua-version=%s make --deps-mode=none --tree=%s vinano-scm-1.rockspec 2>&1; echo exit=$?")
      :format(copy, copy, abi, tree))
    assert.matches("exit=0", out)
    local bin = tree .. "/bin/vinano"
    assert.is_truthy(env.read_file(bin), out)
    -- the man page and the completions, in the rock's own folder
    local rock_dir = ("%s/lib/luarocks/rocks-%s/vinano/scm-1"):format(tree, abi)
    assert.are.equal(env.read_file("doc/vinano.1"), env.read_file(rock_dir .. "/doc/vinano.1"))
    assert.are.equal(env.read_file("completions/vinano.bash"), env.read_file(rock_dir .. "/completions/vinano.bash"))
    assert.are.equal(env.read_file("completions/_vinano"), env.read_file(rock_dir .. "/completions/_vinano"))
    local work = env.tmpdir()
    local m = work .. "/jobs.jsonl"
    env.write_file(m, '{"prompt": "one", "out": "one.png"}\n{"prompt": "two", "out": "sub/two.png"}\n')
    -- what `luarocks path --tree` tells a user of a private tree to set
    local paths = {
      LUA_PATH = ("%s/share/lua/%s/?.lua;%s/share/lua/%s/?/init.lua;;"):format(tree, abi, tree, abi),
      LUA_CPATH = ("%s/lib/lua/%s/?.so;;"):format(tree, abi),
    }
    local function run(args)
      return cli.run(t.mock, args, { bin = bin, cwd = work, env = paths })
    end
    local code, stdout, stderr = run { "generate", "installed", "-o", "gen/x.png" }
    assert.are.equal(0, code, stdout .. stderr)
    env.png_size(env.read_file(work .. "/gen/x.png"))
    code, stdout, stderr = run { "batch", "jobs.jsonl" }
    assert.are.equal(0, code, stdout .. stderr)
    env.png_size(env.read_file(work .. "/sub/two.png"))
    -- the installed copy ran, not the checkout's
    assert.is_nil(stderr:find(root, 1, true))
    os.execute("rm -rf " .. tree .. " " .. work .. " " .. copy)
  end)
end)
