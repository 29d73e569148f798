-- The client's rate limiter against the mock's own (a fixed window per
-- token, 429 + Retry-After over it; see mock/lua/vinano/mock/api.lua), with
-- the client's limit equal to the server's: what reaches the server is what
-- the mock logs. These take real time (the windows pass): about 30 s.
local core = require "vinano.core"
local async = require "vinano.async"
local env = require "spec.support.env"
local mock_process = require "spec.support.mock_process"

local GEN = "/api/v2/images/generate"

local function statuses(log)
  local count = {}
  for _, e in ipairs(log) do
    if e.path == GEN then count[e.status] = (count[e.status] or 0) + 1 end
  end
  return count
end

local function prompts(n, prefix)
  local list = {}
  for i = 1, n do list[i] = { prompt = prefix .. i } end
  return list
end

local function successes(results)
  local ok, kinds = 0, {}
  for _, r in ipairs(results) do
    if r.images then ok = ok + 1 else kinds[#kinds + 1] = tostring(r) end
  end
  return ok, kinds
end

describe("the rate limiter against the mock, limit equal to the server's #slow", function()
  local mock
  setup(function()
    mock = mock_process.start { tokens = { env.token }, credits = 1e9, rate_limit = 20, rate_window = 6 }
  end)
  teardown(function() mock:stop() end)
  before_each(function() mock:reset() end)

  it("concurrency 50, 100 images: zero 429s reach the server, every request succeeds", function()
    local c = env.client(mock, { rate_limit = 20, rate_window = 6, timeout = 120 })
    local t0 = core.now()
    local results = c:generate_many(prompts(100, "c"), { concurrency = 50 })
    local elapsed = core.now() - t0
    local ok, failed = successes(results)
    local count = statuses(mock:requests())
    print(("\n  concurrency 50, 100 images at 20 per 6 s: %.1f s, %d succeeded, server saw %d x 200, %d x 429")
      :format(elapsed, ok, count[200] or 0, count[429] or 0))
    assert.are.equal(0, count[429] or 0)
    assert.are.equal(100, ok, table.concat(failed, "\n"))
    assert.are.equal(100, count[200])
  end)

  it("sync and async calls of one client share the limiter", function()
    local c = env.client(mock, { rate_limit = 20, rate_window = 6, timeout = 60 })
    for i = 1, 12 do assert(c:generate { prompt = "s" .. i }) end -- blocking
    local results = async.run(function()                           -- then tasks
      return c:generate_many(prompts(12, "a"), { concurrency = 12 })
    end)
    local ok, failed = successes(results)
    assert.are.equal(12, ok, table.concat(failed, "\n"))
    assert.are.equal(0, statuses(mock:requests())[429] or 0)
  end)

  it("a restarted batch: another client left 1 request of the quota; the new one sends nothing refused", function()
    local other = env.client(mock, { max_retries = 0 }) -- no limiter: the previous run
    for i = 1, 19 do assert(other:generate { prompt = "before" .. i }) end
    local c = env.client(mock, { rate_limit = 20, rate_window = 6, timeout = 60 })
    local t0 = core.now()
    local results = c:generate_many(prompts(21, "r"), { concurrency = 21 })
    local ok, failed = successes(results)
    local count = statuses(mock:requests())
    print(("\n  restarted batch (19 of 20 used): 21 images in %.1f s, server saw %d x 429")
      :format(core.now() - t0, count[429] or 0))
    assert.are.equal(21, ok, table.concat(failed, "\n"))
    assert.are.equal(0, count[429] or 0)
  end)

  it("a restarted batch after the whole quota was used: only the probe is refused, nothing else", function()
    -- No request can read the quota without spending it, so the probe is the
    -- one request a fresh process risks; its 429 tells the reset, and the
    -- rest of the batch waits for it.
    local other = env.client(mock, { max_retries = 0 })
    for i = 1, 20 do assert(other:generate { prompt = "before" .. i }) end
    local c = env.client(mock, { rate_limit = 20, rate_window = 6, timeout = 60 })
    local t0 = core.now()
    local results = c:generate_many(prompts(21, "w"), { concurrency = 21 })
    local ok, failed = successes(results)
    local count = statuses(mock:requests())
    print(("\n  restarted batch (20 of 20 used): 21 images in %.1f s, server saw %d x 429")
      :format(core.now() - t0, count[429] or 0))
    assert.are.equal(21, ok, table.concat(failed, "\n"))
    assert.are.equal(1, count[429] or 0)
  end)
end)
