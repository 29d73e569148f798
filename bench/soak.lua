-- bench/soak.lua: 10,000 requests in one process against the local mock,
-- watching memory.  Run from the repository root (bench/soak.sh does this):
--
--   LUA_PATH="./?.lua;./lua/?.lua;;" LUA_CPATH="./build/lua5.4/?.so;;" lua5.4 bench/soak.lua
--
-- The mix, in cycles of 100 operations: blocking generates (some uploading
-- in-memory images), async batches of 32 submits then 32 polls through
-- the core directly (c:start{queue = true} / c:step / c:finished, the facts
-- read by response.classify), blocking polls, 500s injected by mock:fault,
-- invalid_request errors (Lua validation), a part naming a missing file (the
-- core ends that transfer at start, unsent), misuse the C core raises on (a
-- part that is not a table), requests
-- cancelled in flight or dropped to the garbage collector, a download, and
-- a throw-away client with a wrong token (401); 96 of each 100 reach the
-- server (the invalid_request ones stop before sending).  Every outcome is
-- checked: an unexpected one is printed and fails the run.
--
-- Memory: after a warm-up of SOAK_WARMUP operations (default 1000), then
-- every 1000, a full collection and a line with the Lua heap
-- (collectgarbage "count") and the process RSS (VmRSS of /proc/self/status).
-- No timing is asserted.  Exits 1 if RSS grew by more than SOAK_MAX_GROWTH_KB
-- (default 8192) between the warm-up and the end, or on unexpected outcomes.
--
-- Environment: SOAK_REQUESTS (default 10000), SOAK_WARMUP, SOAK_MAX_GROWTH_KB.
local mock_process = require "spec.support.mock_process"
local vinano = require "vinano"
local api = require "vinano.api"
local response = require "vinano.response"

local TOTAL = tonumber(os.getenv("SOAK_REQUESTS")) or 10000
local WARMUP = tonumber(os.getenv("SOAK_WARMUP")) or 1000
local MAX_GROWTH_KB = tonumber(os.getenv("SOAK_MAX_GROWTH_KB")) or 8192
local EVERY = 1000
local BATCH = 32
local TOKEN = "soak-token"

local PNG = "\137PNG\r\n\26\n\0\0\0\13IHDR\0\0\0\1\0\0\0\1\8\6\0\0\0\31\21\196\137"
  .. "\0\0\0\13IDATx\156c\248\15\0\0\1\1\0\5\24\216N\0\0\0\0IEND\174B`\130"

local function rss_kb()
  local f = io.open("/proc/self/status", "r")
  if not f then return 0 end
  local text = f:read("a")
  f:close()
  return tonumber(text:match("VmRSS:%s*(%d+)")) or 0
end

local function heap_kb()
  collectgarbage("collect")
  collectgarbage("collect") -- a second pass runs the finalizers the first queued
  return collectgarbage("count")
end

local mock = mock_process.start { tokens = { TOKEN }, credits = 1e9, rate_limit = 1e9, task_delay = 0.02 }
local client = vinano.new { token = TOKEN, base_url = mock.url, timeout = 30 }
local core = client.core
local tmpdir = os.getenv("TMPDIR") or "/tmp"
local download_path = ("%s/vinano-soak-%d.png"):format(tmpdir, mock.pid)

local done = 0           -- operations so far
local counts = {}        -- outcome kind -> count
local unexpected = 0
local warm, last         -- samples { ops=, rss=, heap= }: after the warm-up, the latest
local started = vinano.now()

local function note(kind) counts[kind] = (counts[kind] or 0) + 1 end

local function sample()
  local s = { ops = done, heap = heap_kb(), rss = rss_kb() }
  last = s
  local base = warm or s
  print(("soak: %6d requests  rss %7d KB (%+6d)  lua heap %8.1f KB (%+8.1f)  %5.1f s"):format(
    s.ops, s.rss, s.rss - base.rss, s.heap, s.heap - base.heap, vinano.now() - started))
  return s
end

-- Counts one operation, and samples memory at the warm-up and every EVERY.
local function tick(n)
  for _ = 1, n or 1 do
    done = done + 1
    if done == WARMUP then
      warm = sample()
    elseif done % EVERY == 0 and done > WARMUP then
      sample()
    end
  end
end

local function expect(cond, what, res, err)
  if cond then
    note(what)
  else
    unexpected = unexpected + 1
    if unexpected <= 10 then
      io.stderr:write(("soak: unexpected outcome for %s: res=%s err=%s\n"):format(what, tostring(res), tostring(err)))
    end
  end
end

local function params(i, with_image)
  local p = {
    prompt = "soak " .. i .. ": a beautiful sunset over the ocean",
    model = "gemini-2.5-flash-image-preview",
    aspectRatio = "16:9",
    googleSearch = false,
    mode = "txt2img",
  }
  if with_image then p.image = { data = PNG, filename = "in-" .. i .. ".png" } end
  return p
end

local last_image -- a URL the mock serves, for downloads

local function sync_generate(i, with_image)
  local res, err = client:generate(params(i, with_image))
  expect(res and type(res.images) == "table" and res.images[1], "generate ok", res, err)
  if res and res.images then last_image = res.images[1] end
  tick()
end

-- The core's spec of one call (what client.lua builds for it).
local function spec_for(op, a, queue)
  if op == "poll" then
    local ep = api.endpoints.poll
    return { method = "GET", url = mock.url .. ep.path .. "?" .. ep.query .. "=" .. tostring(a), auth = true,
      queue = queue }
  end
  return { method = "POST", url = mock.url .. api.endpoints[op].path, auth = true, parts = api.parts(a),
    queue = queue }
end

local function classify(op, t)
  local res, err = response.classify(t:result(), { op = op, max_response = client.max_response,
    unix_now = os.time(), core = client.core })
  return res, err
end

-- BATCH submits in flight at once, then a poll of each task, all through
-- c:start / c:step / c:finished; facts read with result() and closed.
local function run_batch(op, args)
  local inflight, results = {}, {}
  for k, a in ipairs(args) do
    local okc, t = pcall(core.start, core, spec_for(op, a, true))
    if not okc then
      expect(false, op .. " start", nil, t)
    else
      inflight[t] = k
    end
  end
  local left = 0
  for _ in pairs(inflight) do left = left + 1 end
  while left > 0 do
    core:step(100)
    for _, t in ipairs(core:finished() or {}) do
      local k = inflight[t]
      if k then
        inflight[t] = nil
        left = left - 1
        local res, err = classify(op, t)
        results[k] = { res = res, err = err }
        t:close()
      end
    end
  end
  return results
end

-- Submits BATCH tasks, then polls BATCH: the previous cycle's tasks (older
-- than the mock's task_delay by now, so mostly done), or on the first cycle
-- the new ones (pending).  Returns the new task ids.
local function async_batch(i, previous)
  local args = {}
  for k = 1, BATCH do args[k] = params(i * 100 + k) end
  local ids = {}
  for _, r in ipairs(run_batch("submit", args)) do
    expect(r.res and r.res.task_id ~= nil, "submit ok", r.res, r.err)
    if r.res then ids[#ids + 1] = r.res.task_id end
  end
  tick(BATCH)
  for _, r in ipairs(run_batch("poll", previous or ids)) do
    local st = r.res and r.res.state
    expect(st == "pending" or st == "done", "poll " .. tostring(st), r.res, r.err)
  end
  tick(BATCH)
  return ids
end

local function sync_polls(ids, n)
  for k = 1, n do
    local st, err = client:poll(ids[k])
    expect(st and (st.state == "pending" or st.state == "done"), "poll (blocking) " .. tostring(st and st.state),
      st, err)
    tick()
  end
end

local function server_errors(n)
  mock:fault { action = "status", status = 500, times = n, path = "/api/v2/images/generate" }
  for k = 1, n do
    local res, err = client:generate(params(k))
    expect(not res and err and err.kind == "server" and err.status == 500, "HTTP 500", res, err)
    tick()
  end
end

local function invalid_requests(i)
  -- caught by the Lua validation: nothing reaches the C core
  local res, err = client:generate { prompt = "" }
  expect(not res and err and err.kind == "invalid_request", "invalid_request (Lua)", res, err)
  tick()
  res, err = client:generate { prompt = "x", aspectRatio = "7:5" }
  expect(not res and err and err.kind == "invalid_request", "invalid_request (Lua)", res, err)
  tick()
  -- misuse the C core raises on while building the form: an easy handle
  -- taken and given back, the half-made transfer left to __gc
  local url = mock.url .. api.endpoints.generate.path
  local gone = core:start { method = "POST", url = url, auth = true,
    parts = { { name = "image", file = tmpdir .. "/vinano-soak-missing-" .. i .. ".png" } } }
  local f = gone:done() and gone:result()
  gone:close()
  expect(f and f.code == 26 and not f.request_sent and tostring(f.file_error):find("reading '", 1, true),
    "ended at start (C: missing file)", f and f.code, f and f.file_error)
  tick()
  local okc, raised = pcall(core.start, core, { method = "POST", url = url, auth = true,
    parts = { { name = "image", data = PNG, filename = "a.png" }, 42 } })
  expect(not okc and tostring(raised):find("table expected", 1, true), "raised (C: bad part)", okc, raised)
  tick()
end

local function cancelled_and_dropped(i)
  -- cancelled in flight, then closed
  local req = core:start(spec_for("generate", params(i), false))
  core:step(0)
  req:cancel()
  local res, err = classify("generate", req)
  expect(not res and err and err.kind == "cancelled", "cancelled", res, err)
  req:close()
  tick()
  -- finished but never read nor closed: left to __gc
  req = core:start(spec_for("generate", params(i), false))
  while not req:done() do core:step(100) end
  note("dropped to the GC")
  req = nil -- luacheck: ignore
  tick()
end

local function download()
  if not last_image then return end
  local res, err = client:download(last_image, download_path)
  expect(res and res.bytes and res.bytes > 0, "download ok", res, err)
  tick()
end

local function wrong_token(i)
  local other = vinano.new { token = "wrong-token-" .. i % 7, base_url = mock.url, timeout = 30 }
  local res, err = other:generate(params(i))
  expect(not res and err and err.kind == "unauthorized", "HTTP 401", res, err)
  other:close()
  tick()
end

-- One cycle: 100 operations.
local previous_ids
local function cycle(i)
  for k = 1, 8 do sync_generate(i * 100 + k, false) end -- 8
  local ids = async_batch(i, previous_ids)               -- 64
  previous_ids = ids
  sync_polls(ids, 4)                                     -- 4: just submitted
  server_errors(4)                                       -- 4
  invalid_requests(i)                                    -- 4
  cancelled_and_dropped(i)                               -- 2
  download()                                             -- 1
  wrong_token(i)                                         -- 1
  for k = 1, 12 do sync_generate(i * 100 + 50 + k, k % 2 == 0) end -- 12, half uploading an image
end

local ok, failure = pcall(function()
  print(("soak: %d requests against %s (warm-up %d, sample every %d, RSS growth bound %d KB)"):format(
    TOTAL, mock.url, WARMUP, EVERY, MAX_GROWTH_KB))
  local i = 0
  while done < TOTAL do
    i = i + 1
    cycle(i)
  end
end)
client:close()
mock:stop()
os.remove(download_path)
if not ok then
  io.stderr:write("soak: aborted: ", tostring(failure), "\n")
  print("0 passed, 1 failed")
  os.exit(1)
end

if not last or last.ops ~= done then sample() end
warm = warm or last
local growth = last.rss - warm.rss
local heap_growth = last.heap - warm.heap
local after = last.ops - warm.ops
local kinds = {}
for k, n in pairs(counts) do kinds[#kinds + 1] = ("%s %d"):format(k, n) end
table.sort(kinds)
print("soak: outcomes: " .. table.concat(kinds, ", "))
print(("soak: %d requests, rss after warm-up %d KB, at end %d KB, growth %d KB (%.3f KB per request over %d); "
  .. "lua heap after warm-up %.1f KB, at end %.1f KB, growth %.1f KB; %.1f s"):format(
  last.ops, warm.rss, last.rss, growth, after > 0 and growth / after or 0, after,
  warm.heap, last.heap, heap_growth, vinano.now() - started))
local failed = false
if unexpected > 0 then
  print(("soak: FAILED: %d unexpected outcomes (first ones on stderr)"):format(unexpected))
  failed = true
end
if growth > MAX_GROWTH_KB then
  print(("soak: FAILED: RSS grew by %d KB after the warm-up, over the %d KB bound"):format(growth, MAX_GROWTH_KB))
  failed = true
else
  print(("soak: ok: RSS growth %d KB is within the %d KB bound"):format(growth, MAX_GROWTH_KB))
end
print(("%d passed, %d failed"):format(failed and 0 or 1, failed and 1 or 0))
os.exit(failed and 1 or 0)
