-- `vinano generate` and credits: the output is checked before anything is
-- paid for (nothing is sent when the image could not be saved), and after
-- anything paid that was not saved the user gets what brings it back (the
-- task id and `vinano wait ID`, or the image URL) on stderr and in the
-- --json event, with exit status 3; Ctrl-C says what was possibly charged.
-- The real bin/vinano against the mock; the mock's request log says what
-- was sent.
local env = require "spec.support.env"
local cli = require "spec.support.cli_process"
local socket = require "socket"

local GENERATE, SUBMIT, POLL = "/api/v2/images/generate", "/api/v1/images/async", "/api/v1/images/task-status"

describe("vinano generate and money", function()
  local t = cli.each_test({ task_delay = 0.3, rate_limit = 500, rate_window = 60 },
    setup, teardown, before_each, after_each)

  describe("checks -o before paying (exit 2, nothing sent)", function()
    it("an empty path, a folder, a file in /proc, a folder that cannot be made, a path under a file", function()
      env.write_file(t.dir .. "/plain", "x")
      local cases = {
        { "", "%-o: the output path is empty" },
        { t.dir, "is a folder" },
        { "/proc/version", "/proc/version: cannot create a file in its folder" },
        { "/proc/nope/x.png", "/proc/nope/x.png: cannot create its folders" },
        { t.dir .. "/plain/x.png", "cannot create its folders: Not a directory" },
      }
      for _, c in ipairs(cases) do
        for _, extra in ipairs { {}, { "--async" } } do
          local args = { "generate", "a cat", "-o", c[1] }
          for _, a in ipairs(extra) do args[#args + 1] = a end
          local code, stdout, stderr = cli.run(t.mock, args)
          assert.are.equal(2, code, c[1] .. ": " .. stderr)
          assert.are.equal("", stdout)
          local line = cli.one_error_line(stderr)
          assert.matches(c[2], line)
          assert.is_nil(line:find("mkdir", 1, true), line) -- no shell's words
        end
      end
      -- wait checks it before its first poll too
      local code, _, stderr = cli.run(t.mock, { "wait", "some-task", "-o", t.dir })
      assert.are.equal(2, code)
      assert.matches("is a folder", cli.one_error_line(stderr))
      assert.are.equal(0, cli.api_requests(t.mock))
    end)
  end)

  describe("after paying, what brings the image back (exit 3)", function()
    it("sync: the download fails: the image URL on stderr and in the --json event; sent once", function()
      t.mock:fault { action = "status", status = 500, path = "/images/*", times = -1 }
      local out = t.dir .. "/lost.png"
      local code, stdout, stderr = cli.run(t.mock, { "generate", "a cat", "-o", out })
      assert.are.equal(3, code, stderr)
      assert.are.equal("", stdout)
      assert.matches("generated and charged, but not saved", stderr)
      local url = stderr:match("(http://127%.0%.0%.1:%d+/images/[%w%-]+%.png)")
      assert.is_string(url, stderr)
      assert.is_nil(env.read_file(out))
      code, stdout, stderr = cli.run(t.mock, { "generate", "a cat", "-o", out, "--json" })
      assert.are.equal(3, code, stderr)
      local events = cli.json_lines(stdout)
      assert.are.equal(1, #events, stdout)
      local e = events[1]
      assert.are.equal("error", e.event)
      assert.are.equal("server", e.kind)
      assert.are.equal(500, e.status)
      assert.is_false(e.saved)
      assert.are.equal("yes", e.charged)
      assert.matches("^http://.*%.png$", e.images[1])
      assert.matches(e.images[1]:gsub("%p", "%%%0"), stderr)
      assert.are.equal(2, cli.api_requests(t.mock, GENERATE)) -- one per run: never sent again
      -- the URL works once the server does
      t.mock:clear_faults()
      local ok = env.sh("curl -sf -o " .. t.dir .. "/back.png " .. url .. " && echo ok")
      assert.matches("ok", ok)
      env.png_size(env.read_file(t.dir .. "/back.png"))
    end)

    it("async: every poll fails: the task id and `vinano wait ID -o FILE`, which then gets it", function()
      t.mock:fault { action = "status", status = 503, path = POLL, times = -1 }
      local out = t.dir .. "/later.png"
      local code, stdout, stderr = cli.run(t.mock, { "generate", "a cat", "-o", out, "--async", "--json",
        "--timeout", "4", "--max-retries", "0" })
      assert.are.equal(3, code, stderr)
      local events = cli.json_lines(stdout)
      local e = events[#events]
      assert.are.equal("error", e.event, stdout)
      assert.is_string(e.task_id)
      assert.are.equal("yes", e.charged)
      assert.is_false(e.saved)
      local advice = ("vinano wait %s -o %s"):format(e.task_id, out)
      assert.are.equal(advice, e.get_it_with)
      assert.matches(advice:gsub("%p", "%%%0"), stderr)
      assert.are.equal(1, cli.api_requests(t.mock, SUBMIT))
      -- the advice works, without paying again
      t.mock:clear_faults()
      local _
      code, _, stderr = cli.run(t.mock, { "wait", e.task_id, "-o", out, "--interval", "0.2" })
      assert.are.equal(0, code, stderr)
      env.png_size(env.read_file(out))
      assert.are.equal(1, cli.api_requests(t.mock, SUBMIT))
      assert.are.equal(0, cli.api_requests(t.mock, GENERATE))
    end)

    it("sync: a server error after the request was sent says it may have been charged", function()
      t.mock:fault { action = "status", status = 502, path = GENERATE }
      local code, stdout, stderr = cli.run(t.mock, { "generate", "a cat", "-o", t.dir .. "/x.png", "--json",
        "--max-retries", "0" })
      assert.are.equal(3, code, stderr)
      local e = cli.json_lines(stdout)[1]
      assert.are.equal("maybe", e.charged)
      assert.matches("may have been charged", stderr)
      assert.matches("%-%-async", stderr) -- how to get a task id next time
      -- refused before any work: not charged, exit 1
      t.mock:fault { action = "status", status = 401, path = GENERATE }
      code, stdout = cli.run(t.mock, { "generate", "a cat", "-o", t.dir .. "/x.png", "--json" })
      assert.are.equal(1, code)
      assert.are.equal("no", cli.json_lines(stdout)[1].charged)
    end)
  end)

  -- #slow: kills and waits; the sanitizer hosts (scripts/lua-host.c) have no
  -- SIGINT handler of lua.c, so Ctrl-C cannot be tested under them
  describe("Ctrl-C (SIGINT) during generate #slow", function()
    local function interrupt_when(args, ready)
      local log = t.dir .. "/out.log"
      local pid = cli.start(t.mock, args, { log = log })
      cli.wait_for(ready, 20, "the request to reach the mock")
      socket.sleep(0.3)
      os.execute("kill -INT " .. pid)
      cli.wait_for(function() return not cli.alive(pid) end, 10, "vinano to exit")
      return env.read_file(log) or ""
    end

    it("sync: says the request may have been charged, not 'run the same command again'", function()
      t.mock:fault { action = "delay", seconds = 4, path = GENERATE }
      local text = interrupt_when({ "generate", "a cat", "-o", t.dir .. "/x.png" }, function()
        return cli.api_requests(t.mock, GENERATE) > 0 -- the mock logs a request when it arrives
      end)
      assert.matches("interrupted", text)
      assert.matches("may have been charged", text)
      assert.is_nil(text:find("run the same command again", 1, true), text)
    end)

    it("async: names the task and `vinano wait`", function()
      t.mock:set { task_delay = 30 }
      local out = t.dir .. "/x.png"
      local text = interrupt_when({ "generate", "a cat", "-o", out, "--async" }, function()
        return cli.api_requests(t.mock, POLL) > 0
      end)
      assert.matches("interrupted", text)
      assert.matches("vinano wait [%w%-]+ %-o " .. out:gsub("%p", "%%%0"), text)
      t.mock:set { task_delay = 0.3 }
    end)
  end)
end)
