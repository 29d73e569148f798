-- bench/vinano_bench.lua: the vinano contenders, run by bench/run.sh under
-- lua5.4 and luajit with LUA_PATH / LUA_CPATH pointing at the tree.
--
--   sync  BASE CA N ROUNDS WARM [IMAGE...]      client:generate in a loop
--   coresync BASE CA N ROUNDS WARM [IMAGE...]   client.core:generate (no Lua layer)
--   async BASE CA INFLIGHT N ROUNDS WARM [IMAGE...]
--         client.core:start / step / result directly, INFLIGHT kept busy
--   many  BASE CA INFLIGHT N ROUNDS WARM [IMAGE...]
--         client:generate_many(list, {concurrency = INFLIGHT})
--   upload   BASE CA FILE        peak RSS while a FILE is sent as image
--   download BASE CA URL PATH    peak RSS while URL streams to PATH
--   step  BASE CA INFLIGHT ITER  time of one core:step(0) with INFLIGHT held
--   update BASE CA INFLIGHT ITER time of one async.update(0), same load
--   calls BASE CA N              N plain generates (for callgrind)
--
-- Timed modes print the microseconds per request of each round on one
-- line; a warm-up of WARM requests (untimed) opens the connections first.
-- Any failed request raises: a benchmark of errors measures nothing.
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

if mode == "sync" then
  local n, nrounds, warm = tonumber(arg[4]), tonumber(arg[5]), tonumber(arg[6])
  local params = params_with(images_from(7))
  local client = new_client()
  rounds(n, nrounds, warm, function(k)
    for _ = 1, k do check(client:generate(params)) end
  end)

elseif mode == "coresync" then
  -- the C core's blocking call alone: no argument checks, no validation
  local n, nrounds, warm = tonumber(arg[4]), tonumber(arg[5]), tonumber(arg[6])
  local params = params_with(images_from(7))
  local core = new_client().core
  rounds(n, nrounds, warm, function(k)
    for _ = 1, k do check(core:generate(params)) end
  end)

elseif mode == "async" then
  local inflight, n, nrounds, warm = tonumber(arg[4]), tonumber(arg[5]), tonumber(arg[6]), tonumber(arg[7])
  local params = params_with(images_from(8))
  local client = new_client()
  local core = client.core
  check(core:generate(params)) -- one alone first: the burst shares its connection
  rounds(n, nrounds, warm, function(k)
    local started, done = 0, 0
    local function start()
      started = started + 1
      assert(core:start("generate", params))
    end
    for _ = 1, math.min(inflight, k) do start() end
    while done < k do
      local _, finished = core:step(1000)
      if finished then
        for _, req in ipairs(finished) do
          check(req:result())
          req:close()
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
  if mode == "step" then
    for i = 1, inflight do reqs[i] = assert(core:start("generate", params)) end
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
        reqs[#reqs + 1] = assert(core:start("generate", params))
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
  local n = tonumber(arg[4])
  local client = new_client()
  local params = params_with()
  for _ = 1, n do check(client:generate(params)) end

else
  io.stderr:write("vinano_bench: unknown mode ", tostring(mode), "\n")
  os.exit(2)
end
