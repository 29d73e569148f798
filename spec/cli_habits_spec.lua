-- The `vinano` command's habits, as people know them from replicate's cli and
-- `llm`: --version, the prompt from stdin, image-only requests, -o - to
-- stdout, `vinano models`, "did you mean" for a near-miss model, checked
-- image URLs, shell completion and a man page from the same definitions;
-- errors as good as the library's (tostring(err), the bound a timeout hit,
-- a --json error event, --max-retries, options named, the subcommand's own
-- help).  The real bin/vinano against the mock, whose log says what was sent.
local env = require "spec.support.env"
local cli = require "spec.support.cli_process"
local cjson = require "cjson"

local GENERATE = "/api/v2/images/generate"

local function part(entry, name)
  for _, p in ipairs(entry.parts or {}) do
    if p.name == name then return p.value or p end
  end
end

describe("the vinano command's habits", function()
  local t = cli.each_test({ task_delay = 0.2, rate_limit = 500, rate_window = 60 },
    setup, teardown, before_each, after_each)

  it("--version prints vinano's, the core's and libcurl's versions", function()
    local code, stdout = cli.run(nil, { "--version" })
    assert.are.equal(0, code)
    local v = require("vinano").version
    assert.matches("^vinano " .. v:gsub("%p", "%%%0") .. " %(core %d+%.%d+%.%d+, libcurl %d+%.%d+", stdout)
  end)

  it("- reads the prompt from stdin (an empty one is refused, nothing sent)", function()
    local input = env.write_file(t.dir .. "/prompt.txt", "a lighthouse from stdin\n")
    local code, _, stderr = cli.run(t.mock, { "generate", "-", "-o", t.dir .. "/a.png" }, { stdin = input })
    assert.are.equal(0, code, stderr)
    local log = t.mock:requests()
    assert.are.equal(1, #log)
    assert.are.equal("a lighthouse from stdin", part(log[1], "prompt"))
    code, _, stderr = cli.run(t.mock, { "generate", "-", "-o", t.dir .. "/b.png" }, { stdin = "/dev/null" })
    assert.are.equal(2, code)
    assert.matches("stdin", cli.one_error_line(stderr))
    assert.are.equal(1, cli.api_requests(t.mock))
  end)

  it("the prompt is optional with --image or --image-url, required otherwise", function()
    local png = env.write_file(t.dir .. "/in.png", "\137PNG\r\n\26\n" .. ("\0"):rep(64))
    local code, _, stderr = cli.run(t.mock, { "generate", "--image", png, "-o", t.dir .. "/a.png" })
    assert.are.equal(0, code, stderr)
    local log = t.mock:requests()
    assert.are.equal(1, #log)
    assert.is_nil(part(log[1], "prompt"))
    assert.is_truthy(part(log[1], "image"))
    code, _, stderr = cli.run(t.mock, { "generate", "-o", t.dir .. "/b.png" })
    assert.are.equal(2, code)
    assert.matches("a prompt is required, unless %-%-image or %-%-image%-url", cli.one_error_line(stderr))
    assert.are.equal(1, cli.api_requests(t.mock))
  end)

  it("-o - writes the image to stdout, the report to stderr", function()
    local code, stdout, stderr = cli.run(t.mock, { "generate", "a cat", "-o", "-" })
    assert.are.equal(0, code, stderr)
    assert.are.equal(64, (env.png_size(stdout)))
    assert.matches("vinano: stdout: 64x64, %d+ bytes", stderr)
    local _
    code, _, stderr = cli.run(t.mock, { "generate", "a cat", "-o", "-", "--json" })
    assert.are.equal(2, code)
    assert.matches("both write to stdout", cli.one_error_line(stderr))
    assert.are.equal(1, cli.api_requests(t.mock))
  end)

  it("vinano models lists every model of api.lua with ratios, sizes, search and price", function()
    local api = require "vinano.api"
    local code, stdout = cli.run(nil, { "models" })
    assert.are.equal(0, code)
    for name in pairs(api.models) do assert.matches("\n?" .. name:gsub("%p", "%%%0") .. " %(", stdout) end
    assert.matches("gemini%-3%.1%-pro%-image%-preview %(Nano Banana 2%)\n  aspect ratios: auto .* 4:1 1:4 8:1 1:8\n"
      .. "  sizes: 1k 2k 4k\n  search: yes", stdout)
    assert.matches("price: 1k 25, 2k 35, 4k 60 credits", stdout)
    code, stdout = cli.run(nil, { "models", "--json" })
    assert.are.equal(0, code)
    local list = cjson.decode(stdout)
    local n = 0
    for _ in pairs(api.models) do n = n + 1 end
    assert.are.equal(n, #list)
    assert.are.equal(api.default_model, list[1].name)
    assert.are.equal(10, list[1].credits.normal)
    assert.are.equal(30, list[1].credits.hd)
  end)

  it("a near-miss model name gets a 'did you mean' warning and is still sent", function()
    local code, stdout, stderr = cli.run(nil, { "estimate", "x", "--model", "gemini-2.5-flash-image-previw" })
    assert.are.equal(0, code, stderr)
    assert.are.equal("estimate: 10 credits\n", stdout)
    assert.matches("warning: unknown model 'gemini%-2%.5%-flash%-image%-previw', sent as it is; did you mean "
      .. "'gemini%-2%.5%-flash%-image%-preview'%?", stderr)
    cli.run(t.mock, { "generate", "x", "--model", "gemini-3-pro-image", "-o", t.dir .. "/a.png" })
    local log = t.mock:requests()
    assert.are.equal(1, #log)
    assert.are.equal("gemini-3-pro-image", part(log[1], "model"))
  end)

  it("--image-url must be an http(s) URL: refused before sending", function()
    for _, u in ipairs { "ftp://example.com/a.png", "example.com/a.png", "file:///etc/passwd", "" } do
      local code, _, stderr = cli.run(t.mock, { "generate", "x", "--image-url", u, "-o", t.dir .. "/a.png" })
      assert.are.equal(2, code, u)
      assert.matches("%-%-image%-url", cli.one_error_line(stderr))
    end
    assert.are.equal(0, cli.api_requests(t.mock))
  end)

  describe("errors as good as the library's", function()
    it("prints tostring(err), and with --json one error object on stdout", function()
      t.mock:fault { action = "status", status = 429, path = GENERATE, times = 3 }
      local code, stdout, stderr = cli.run(t.mock, { "generate", "x", "-o", t.dir .. "/a.png", "--json" })
      assert.are.equal(1, code, stderr)
      assert.matches("vinano: rate_limited %(HTTP 429%): Too Many Requests.* %(after 3 attempts%)", stderr)
      local events = cli.json_lines(stdout)
      assert.are.equal(1, #events)
      assert.are.equal("error", events[1].event)
      assert.are.equal("rate_limited", events[1].kind)
      assert.are.equal(429, events[1].status)
      assert.matches("Too Many Requests", events[1].message)
      -- a usage error is an event too
      code, stdout = cli.run(t.mock, { "generate", "x", "--json" })
      assert.are.equal(2, code)
      assert.are.equal("usage", cli.json_lines(stdout)[1].kind)
    end)

    it("--max-retries sets the retries: 0 is one attempt", function()
      t.mock:fault { action = "status", status = 503, path = "/api/v1/images/task-status", times = -1 }
      local code = cli.run(t.mock, { "status", "some-task", "--max-retries", "0" })
      assert.are.equal(1, code)
      assert.are.equal(1, cli.api_requests(t.mock))
      t.mock:clear()
      cli.run(t.mock, { "status", "some-task", "--max-retries", "2" })
      assert.are.equal(3, cli.api_requests(t.mock))
    end)

    it("bad numbers name the option; usage errors point at the subcommand's help", function()
      for _, c in ipairs {
        { { "generate", "x", "-o", "a.png", "--timeout", "abc" }, "%-%-timeout: a number expected, got 'abc'",
          "vinano generate %-%-help" },
        { { "generate", "x", "-o", "a.png", "--max-retries=-1" }, "%-%-max%-retries", "vinano generate %-%-help" },
        { { "batch", "m.jsonl", "--concurrency", "0" }, "%-%-concurrency", "vinano batch %-%-help" },
        { { "wait", "t", "-o", "a.png", "--interval", "x" }, "%-%-interval", "vinano wait %-%-help" },
        { { "status" }, "missing argument 'task_id'", "vinano status %-%-help" },
      } do
        local code, _, stderr = cli.run(t.mock, c[1])
        assert.are.equal(2, code, table.concat(c[1], " "))
        local line = cli.one_error_line(stderr)
        assert.matches(c[2], line)
        assert.matches("%(see: " .. c[3] .. "%)$", line)
      end
      assert.are.equal(0, cli.api_requests(t.mock))
    end)

    it("a timeout names the bound that ran out", function()
      t.mock:fault { action = "delay", seconds = 3, path = GENERATE }
      local code, _, stderr = cli.run(t.mock, { "generate", "x", "-o", t.dir .. "/a.png", "--timeout", "1" })
      assert.are.equal(3, code, stderr) -- sent: it may have been charged
      assert.matches("vinano: timeout: .*%[the %-%-timeout of 1 s ran out%]", stderr)
      -- wait's own deadline
      t.mock:set { task_delay = 30 }
      local task = assert(env.client(t.mock):submit_async { prompt = "slow" })
      code, _, stderr = cli.run(t.mock, { "wait", task.task_id, "-o", t.dir .. "/w.png", "--interval", "0.2",
        "--max-wait", "1" })
      t.mock:set { task_delay = 0.2 }
      assert.are.equal(3, code, stderr)
      assert.matches("%[the %-%-max%-wait of 1 s ran out%]", stderr)
      assert.matches("vinano wait " .. task.task_id:gsub("%p", "%%%0"), stderr)
    end)
  end)

  it("a connect or a stall timeout names its bound; --connect-timeout and --stall-timeout set them", function()
    -- a listener whose queue is full: the kernel drops the next SYN, so a connect never completes
    local socket = require "socket"
    local srv = assert(socket.tcp())
    assert(srv:bind("127.0.0.1", 0))
    assert(srv:listen(0))
    local _, port = srv:getsockname()
    local fill = {}
    for i = 1, 3 do
      fill[i] = socket.tcp()
      fill[i]:settimeout(0.2)
      fill[i]:connect("127.0.0.1", port)
    end
    local code, _, stderr = cli.run(nil, { "generate", "x", "-o", t.dir .. "/a.png", "--connect-timeout", "0.5",
      "--max-retries", "0" }, { env = { VINANO_BASE_URL = "http://127.0.0.1:" .. port, VINANO_API_TOKEN = env.token } })
    assert.are.equal(1, code, stderr) -- never sent: nothing was charged
    assert.matches("%[the connect_timeout of 0%.5 s ran out%]", stderr)
    assert.matches("nothing was charged", stderr, 1, true)
    -- the call's own timeout ends the connect first
    code, _, stderr = cli.run(nil, { "generate", "x", "-o", t.dir .. "/a.png", "--timeout", "0.5",
      "--max-retries", "0" }, { env = { VINANO_BASE_URL = "http://127.0.0.1:" .. port, VINANO_API_TOKEN = env.token } })
    for _, c in ipairs(fill) do c:close() end
    srv:close()
    assert.are.equal(1, code, stderr)
    assert.matches("%[the %-%-timeout of 0%.5 s ran out%]", stderr)
    -- the answer's headers never come: the stall bound of a poll
    t.mock:fault { action = "hang_headers", path = "/api/v1/images/task-status", times = 1 }
    code, _, stderr = cli.run(t.mock, { "status", "some-task", "--stall-timeout", "1", "--max-retries", "0" })
    assert.are.equal(1, code, stderr)
    assert.matches("%[the stall_timeout of 1 s ran out%]", stderr)
    -- each is a positive number, checked before anything is sent
    for _, opt in ipairs { "--connect-timeout", "--stall-timeout" } do
      code, _, stderr = cli.run(t.mock, { "status", "some-task", opt, "0" })
      assert.are.equal(2, code, stderr)
      assert.matches(opt, cli.one_error_line(stderr), 1, true)
    end
  end)

  it("wait --max-wait 0, 1e999, -1 or abc is a usage error (exit 2, nothing sent)", function()
    for _, v in ipairs { "0", "1e999", "-1", "abc", "nan" } do
      local code, _, stderr = cli.run(t.mock, { "wait", "some-task", "-o", t.dir .. "/w.png", "--max-wait=" .. v })
      assert.are.equal(2, code, v .. ": " .. stderr)
      assert.matches("%-%-max%-wait", cli.one_error_line(stderr))
    end
    assert.are.equal(0, cli.api_requests(t.mock))
  end)

  describe("completion and the man page", function()
    it("vinano completion bash|zsh prints scripts that know every subcommand", function()
      local code, bash = cli.run(nil, { "completion", "bash" })
      assert.are.equal(0, code)
      assert.matches("complete %-F", bash)
      local zcode, zsh = cli.run(nil, { "completion", "zsh" })
      assert.are.equal(0, zcode)
      assert.matches("#compdef vinano", zsh)
      for _, c in ipairs { "generate", "batch", "status", "wait", "estimate", "models", "mock" } do
        assert.matches(c, bash)
        assert.matches(c, zsh)
      end
      assert.matches("%-%-max%-retries", bash)
    end)

    it("the shipped completion files and man page are what the definitions generate (make cli-docs)", function()
      local gen = env.sh(env.child_lua() .. " scripts/cli-docs.lua --check 2>&1; echo exit=$?")
      assert.matches("exit=0", gen)
      local man = assert(env.read_file("doc/vinano.1"))
      assert.matches('^%.TH VINANO 1', man)
      for _, s in ipairs { "vinano generate", "vinano batch", "vinano wait", "\\-\\-max\\-retries", "EXIT STATUS",
        "VINANO_API_TOKEN" } do
        assert.is_truthy(man:find(s, 1, true), s)
      end
      assert.is_truthy(env.read_file("completions/vinano.bash"))
      assert.is_truthy(env.read_file("completions/_vinano"))
    end)
  end)
end)
