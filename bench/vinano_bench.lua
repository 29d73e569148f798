-- bench/vinano_bench.lua: the vinano contenders, run by bench/run.sh under
-- lua5.4 and luajit with LUA_PATH / LUA_CPATH pointing at the tree.
--
--   sync  BASE CA N ROUNDS WARM [IMAGE...]      client:generate in a loop
--   coresync BASE CA N ROUNDS WARM [IMAGE...]   the C core alone: c:start(spec),
--         c:step(ms) until t:done(), t:result(), t:close() (the parts built
--         once; no validation, no JSON decode, no info: the transport only)
--   async BASE CA INFLIGHT N ROUNDS WARM [IMAGE...]
--         the core's async interface directly: c:start{queue = true},
--         c:step(1000), c:finished(), result(), close(); INFLIGHT kept busy
--   many  BASE CA INFLIGHT N ROUNDS WARM [IMAGE...]
--         client:generate_many(list, {concurrency = INFLIGHT})
--   upload   BASE CA FILE        peak RSS while a FILE is sent as image
--   download BASE CA URL PATH    peak RSS while URL streams to PATH
--   step  BASE CA INFLIGHT ITER  time of one core:step(0) with INFLIGHT held
--   update BASE CA INFLIGHT ITER time of one async.update(0), same load
--   manycalls BASE CA INFLIGHT N one generate_many of N (for callgrind)
--   frame BASE CA INFLIGHT ITER  ITER async.update(0) with INFLIGHT held (for callgrind)
--   calls BASE CA N [nogc]       N plain generates (for callgrind); nogc: the
--                                collector stopped (what garbage costs)
--   corecalls BASE CA N          N bare core transfers (for callgrind)
--   part WHAT N BASE CA          WHAT (validate | parts | classify | call |
--                                generate | json | cjson) N times with no I/O where it can
--                                (for callgrind: the Lua layer's pieces)
--
-- Timed modes print the microseconds per request of each round on one
-- line; a warm-up of WARM requests (untimed) opens the connections first.
-- Any failed request raises: a benchmark of errors measures nothing.
-- require WHAT runs first, in a fresh process, before this script loads
-- anything of vinano itself
if arg[1] == "require" then
  -- require WHAT: ms of require "vinano" alone, or of require + the first
  -- vinano.new (which loads the core: libcurl and its libraries), or the
  -- split of the latter: Lua modules / dlopen / luaopen / the rest of new
  local TOKEN = "bench-token"
  local gettime = require("socket.core").gettime
  local what = arg[2]
  local t0 = gettime()
  if what == "vinano" then
    require "vinano"
    io.write(("%.3f"):format((gettime() - t0) * 1000))
  elseif what == "new" then
    require("vinano").new { token = TOKEN }
    io.write(("%.3f"):format((gettime() - t0) * 1000))
  elseif what == "async" then
    require "vinano.async"
    io.write(("%.3f"):format((gettime() - t0) * 1000))
  else -- split
    local vinano = require "vinano"
    local t1 = gettime()
    assert(package.loadlib(package.searchpath("vinano.core", package.cpath), "*"))
    local t2 = gettime()
    require "vinano.core"
    local t3 = gettime()
    vinano.new { token = TOKEN }
    local t4 = gettime()
    io.write(("%.3f/%.3f/%.3f/%.3f"):format((t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000,
      (t4 - t3) * 1000))
  end
  os.exit(0)
end

local vinano = require "vinano"

local mode = arg[1]
local base, ca = arg[2], arg[3]
local TOKEN = "bench-token"
local now = vinano.now

local function params_with(images)
  local p = {
    prompt = "a beautiful sunset over the ocean",
    model = "gemini-2.5-flash-image-preview",
    aspectRatio = "16:9",
    googleSearch = false,
    mode = "txt2img",
  }
  if images and #images > 0 then p.image = images end
  return p
end

local function images_from(i)
  local t = {}
  for k = i, #arg do t[#t + 1] = arg[k] end
  return t
end

local function new_client(url)
  return vinano.new { token = TOKEN, base_url = url or base, ca_file = ca }
end

local function check(res, err)
  if not res then error("vinano_bench: " .. tostring(err), 2) end
  if res.images and not res.images[1] then error("vinano_bench: no image in the answer", 2) end
  return res
end

local function rounds(n, nrounds, warm, body)
  body(warm)
  local out = {}
  for r = 1, nrounds do
    local t0 = now()
    body(n)
    out[r] = ("%.2f"):format((now() - t0) * 1e6 / n)
  end
  print(table.concat(out, " "))
end

local function status()
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)")), tonumber(s:match("VmHWM:%s*(%d+)"))
end

-- Resets VmHWM to the current RSS (Linux clear_refs 5); false when refused.
local function reset_peak()
  local f = io.open("/proc/self/clear_refs", "w")
  if not f then return false end
  local ok = f:write("5")
  local closed = f:close()
  return ok and closed and true or false
end

-- Prints: idle_rss_kb peak_kb delta_kb seconds peak_was_reset
local function measure_peak(client, fn)
  check(client:generate(params_with())) -- TLS, h2, the decoder: all warm
  collectgarbage()
  collectgarbage()
  local was_reset = reset_peak()
  local rss0, hwm0 = status()
  local t0 = now()
  fn()
  local secs = now() - t0
  local _, hwm1 = status()
  local base_kb = was_reset and rss0 or hwm0
  print(("%d %d %d %.3f %s"):format(rss0, hwm1, hwm1 - base_kb, secs, tostring(was_reset)))
end

local function sorted_stats(t)
  table.sort(t)
  return t[math.floor(#t / 2) + 1], t[math.floor(#t * 0.99) + 1], t[#t]
end

-- The core spec of a generate (what client.lua builds), and a check of
-- its facts: HTTP 200 and a body with an images list.
local function core_spec(params, queue)
  local api = require "vinano.api"
  return { method = "POST", url = base .. api.endpoints.generate.path, auth = true, parts = api.parts(params),
    queue = queue }
end

local function check_facts(f)
  if f.code ~= 0 or f.status ~= 200 or not f.body:find('"images":[', 1, true) then
    error(("vinano_bench: transfer failed: code %s status %s %s"):format(tostring(f.code), tostring(f.status),
      tostring(f.error)), 2)
  end
  return f
end

local function core_once(c, spec)
  local t = c:start(spec)
  while not t:done() do c:step(1000) end
  check_facts(t:result())
  t:close()
end

if mode == "sync" then
  local n, nrounds, warm = tonumber(arg[4]), tonumber(arg[5]), tonumber(arg[6])
  local params = params_with(images_from(7))
  local client = new_client()
  rounds(n, nrounds, warm, function(k)
    for _ = 1, k do check(client:generate(params)) end
  end)

elseif mode == "coresync" then
  -- the C core's transfer alone: no argument checks, no validation, no decode
  local n, nrounds, warm = tonumber(arg[4]), tonumber(arg[5]), tonumber(arg[6])
  local spec = core_spec(params_with(images_from(7)), false)
  local c = new_client().core
  rounds(n, nrounds, warm, function(k)
    for _ = 1, k do core_once(c, spec) end
  end)

elseif mode == "async" then
  local inflight, n, nrounds, warm = tonumber(arg[4]), tonumber(arg[5]), tonumber(arg[6]), tonumber(arg[7])
  local params = params_with(images_from(8))
  local client = new_client()
  local c = client.core
  local spec = core_spec(params, true)
  core_once(c, core_spec(params, false)) -- one alone first: the burst shares its connection
  rounds(n, nrounds, warm, function(k)
    local started, done = 0, 0
    local function start()
      started = started + 1
      c:start(spec)
    end
    for _ = 1, math.min(inflight, k) do start() end
    while done < k do
      c:step(1000)
      local finished = c:finished()
      if finished then
        for i = 1, #finished do
          local t = finished[i]
          check_facts(t:result())
          t:close()
          done = done + 1
          if started < k then start() end
        end
      end
    end
  end)

elseif mode == "many" then
  local inflight, n, nrounds, warm = tonumber(arg[4]), tonumber(arg[5]), tonumber(arg[6]), tonumber(arg[7])
  local params = params_with(images_from(8))
  local client = new_client()
  check(client:generate(params)) -- one alone first: the burst shares its connection
  rounds(n, nrounds, warm, function(k)
    local list = {}
    for i = 1, k do list[i] = params end
    local results = client:generate_many(list, { concurrency = inflight })
    for i = 1, k do
      if results[i].kind then error("vinano_bench: " .. tostring(results[i])) end
      check(results[i])
    end
  end)

elseif mode == "upload" then
  local client = new_client()
  local p = params_with()
  p.image = arg[4]
  measure_peak(client, function() check(client:generate(p)) end)

elseif mode == "download" then
  local client = new_client()
  local url, path = arg[4], arg[5]
  measure_peak(client, function()
    local file, err = client:download(url, path)
    if not file then error("vinano_bench: " .. tostring(err)) end
    assert(file.bytes > 0)
  end)

elseif mode == "step" or mode == "update" then
  local inflight, iter = tonumber(arg[4]), tonumber(arg[5])
  local client = new_client()
  local core = client.core
  local params = params_with()
  local async = require "vinano.async"
  local reqs = {}
  local spec = core_spec(params, false)
  if mode == "step" then
    for i = 1, inflight do reqs[i] = core:start(spec) end
  else
    for _ = 1, inflight do async.spawn(function() client:generate(params) end) end
    async.update(0) -- runs every task up to its first yield: all started
  end
  -- every connection open and every request sent: then nothing moves (a
  -- request the server let through is replaced, to keep INFLIGHT held)
  local function settle(s)
    local deadline = now() + s
    while now() < deadline do
      if mode == "step" then core:step(20) else async.update(20) end
    end
  end
  settle(3)
  if core:running() < inflight then
    for _ = core:running() + 1, inflight do
      if mode == "step" then
        reqs[#reqs + 1] = core:start(spec)
      else
        async.spawn(function() client:generate(params) end)
      end
    end
    settle(1)
  end
  local running = core:running()
  local t = {}
  for i = 1, iter do
    local t0 = now()
    if mode == "step" then core:step(0) else async.update(0) end
    t[i] = (now() - t0) * 1e6
  end
  local med, p99, max = sorted_stats(t)
  print(("%d %.2f %.2f %.2f"):format(running, med, p99, max))
  client:close()

elseif mode == "calls" then
  -- calls BASE CA N [nogc]: nogc stops the collector first (attribution only:
  -- what the garbage of a call costs is the difference)
  local n = tonumber(arg[4])
  local client = new_client()
  local params = params_with()
  if arg[5] == "nogc" then collectgarbage("stop") end
  for _ = 1, n do check(client:generate(params)) end

elseif mode == "manycalls" then
  -- manycalls BASE CA INFLIGHT N: one generate first (the connection), then
  -- one generate_many of N with INFLIGHT in flight (for callgrind)
  local inflight, n = tonumber(arg[4]), tonumber(arg[5])
  local client = new_client()
  local params = params_with()
  check(client:generate(params))
  local list = {}
  for i = 1, n do list[i] = params end
  local results = client:generate_many(list, { concurrency = inflight })
  for i = 1, n do
    if results[i].kind then error("vinano_bench: " .. tostring(results[i])) end
  end

elseif mode == "batchcalls" then
  -- batchcalls BASE CA INFLIGHT N DIR: one generate first (the connection),
  -- then one batch.run of N jobs, INFLIGHT in flight, each a submit, a poll
  -- (the bench's task is done at once) and a download of a small image into
  -- DIR, with its journal there (for callgrind)
  local inflight, n, dir = tonumber(arg[4]), tonumber(arg[5]), arg[6]
  local client = new_client()
  check(client:generate(params_with()))
  local jobs = {}
  for i = 1, n do jobs[i] = { prompt = "job " .. i, out = ("%s/%d.png"):format(dir, i) } end
  local s = assert(require("vinano.batch").run(client, jobs, { journal = dir .. "/batch.journal",
    concurrency = inflight, first_poll = 0, min_first_poll = 0 }))
  if not s.ok or s.stats.saved ~= n then
    error(("vinano_bench: batch: %d of %d saved: %s"):format(s.stats.saved, n,
      tostring(s.failures[1] and s.failures[1].message)))
  end

elseif mode == "frame" then
  -- frame BASE CA INFLIGHT ITER: INFLIGHT generates held by the server, then
  -- ITER async.update(0) calls (what a game's frame costs; for callgrind)
  local inflight, iter = tonumber(arg[4]), tonumber(arg[5])
  local client = new_client()
  local async = require "vinano.async"
  local params = params_with()
  -- a fixed number of waits, not a time: the runs compared differ in ITER only
  local function settle(k)
    for _ = 1, k do async.update(20) end -- connected, requests sent, nothing moves
  end
  for _ = 1, inflight do async.spawn(function() client:generate(params) end) end
  settle(60)
  for _ = client.core:running() + 1, inflight do async.spawn(function() client:generate(params) end) end
  settle(30) -- one the server let through is replaced: INFLIGHT held
  for _ = 1, iter do async.update(0) end
  client:close()

elseif mode == "corecalls" then
  local n = tonumber(arg[4])
  local c = new_client().core
  local spec = core_spec(params_with(), false)
  for _ = 1, n do core_once(c, spec) end

elseif mode == "part" then
  -- part WHAT N BASE CA: one piece of the Lua layer, N times.  Real facts
  -- (one transfer's result) feed classify; "call" runs call.run over a
  -- transport whose perform returns those facts at once (no I/O).
  local what, n = arg[2], tonumber(arg[3])
  base, ca = arg[4], arg[5]
  local api = require "vinano.api"
  local validate = require "vinano.validate"
  local response = require "vinano.response"
  local transport = require "vinano.transport"
  local call = require "vinano.call"
  local client = new_client()
  local params = params_with()
  local spec = core_spec(params, false)
  spec.json = true -- as call.lua asks: the facts carry the decoded body
  local t = client.core:start(spec)
  while not t:done() do client.core:step(1000) end
  local facts = check_facts(t:result())
  t:close()
  local fs = { stat = client.core.stat, readable = client.core.readable }
  local ctx = { op = "generate", max_response = client.max_response, unix_now = os.time(), core = client.core }
  local real_perform = transport.perform
  local body
  if what == "validate" then -- validation, shape, files and the parts: one pass (what generate runs)
    body = function() assert(validate.prepare(params, true, fs)) end
  elseif what == "parts" then
    body = function() return api.parts(params) end
  elseif what == "json" then -- the core's decoder on the answer's body (what t:result does with json = true)
    local decode = client.core.json_decode or require("vinano.core").json_decode
    body = function() return assert(decode(facts.body)) end
  elseif what == "cjson" then -- the road not taken: lua-cjson, then the walk that made whole floats integers
    local cjson = require("cjson.safe").new()
    local tointeger = math.tointeger
    local function integers(tbl)
      for k, v in next, tbl do
        if type(v) == "number" then
          local i = tointeger and tointeger(v)
          if i and i >= -2 ^ 53 and i <= 2 ^ 53 then tbl[k] = i end
        elseif type(v) == "table" then
          integers(v)
        end
      end
    end
    body = function()
      local decoded = assert(cjson.decode(facts.body))
      integers(decoded)
      return decoded
    end
  elseif what == "classify" then
    body = function() assert(response.classify(facts, ctx)) end
  elseif what == "call" then
    transport.perform = function() return facts end
    local url = base .. api.endpoints.generate.path
    local parts = api.parts(params)
    body = function()
      assert(call.run(client, "generate", function(left)
        return { method = "POST", url = url, auth = true, parts = parts, timeout = left }
      end))
    end
  elseif what == "generate" then
    transport.perform = function() return facts end
    body = function() check(client:generate(params)) end
  else
    error("vinano_bench: unknown part " .. tostring(what))
  end
  for _ = 1, n do body() end
  transport.perform = real_perform

else
  io.stderr:write("vinano_bench: unknown mode ", tostring(mode), "\n")
  os.exit(2)
end
