-- submit_async + wait, and the frame driver (LÖVE's way) with several
-- requests in flight at once.
local test, S = ...
local async = require "vinano.async"

test("submit_async then wait polls the task until it is done", function()
  S.set { task_delay = 1.5 } -- several polls at 0.2 s, with room for a slow machine
  local client = S.client()
  local task, err = client:submit_async { prompt = "a slow lighthouse" }
  assert(task, tostring(err))
  assert(type(task.task_id) == "string" and #task.task_id > 0, "task_id")
  local polls = 0
  local done, werr = client:wait(task.task_id, { interval = 0.2, timeout = 20,
    on_poll = function() polls = polls + 1 end })
  assert(done, tostring(werr))
  S.eq("string", type(done.images and done.images[1]), "done.images[1]")
  local log = S.api_requests()
  S.eq("/api/v1/images/async", log[1].path, "first request")
  S.eq(1 + polls, #log, "one submit, then one request per poll")
  assert(polls >= 2, "the task was pending at least once: " .. polls .. " polls")
  for i = 2, #log do
    S.eq("/api/v1/images/task-status", log[i].path, "poll path")
    S.eq(task.task_id, log[i].query.task_id, "poll task_id")
  end
  S.eq(202, log[2].status, "the first poll found it pending")
  S.eq(200, log[#log].status, "the last poll found it done")
end)

test("the frame driver's update(0) keeps the frames coming with three requests in flight", function()
  S.fault { action = "delay", seconds = 2, times = 3, path = "/api/v2/images/generate" }
  local client = S.client()
  async.host()
  local results = {}
  for i = 1, 3 do
    async.spawn(function()
      local res, err = client:generate { prompt = "frame " .. i }
      results[i] = res or err
    end)
  end
  local frames, frames_waiting, all_in_flight = 0, 0, false
  local deadline = S.now() + 30
  while not (results[1] and results[2] and results[3]) do
    assert(S.now() < deadline, "the three requests did not end in 30 s")
    async.update(0)
    frames = frames + 1
    if not (results[1] or results[2] or results[3]) then
      frames_waiting = frames_waiting + 1
      if not all_in_flight and frames_waiting % 5 == 0 then
        local log = S.api_requests()
        local open = 0
        for _, e in ipairs(log) do
          if e.status == nil then open = open + 1 end
        end
        all_in_flight = open == 3
      end
    end
    S.sleep(0.01) -- the game's frame
  end
  async.stop_driver()
  for i = 1, 3 do
    assert(results[i].images, "request " .. i .. ": " .. tostring(results[i]))
  end
  assert(all_in_flight, "the mock never held all three requests at once")
  assert(frames_waiting >= 20, "frames while the requests were held: " .. frames_waiting)
  S.eq(3, #S.api_requests(), "requests")
end)
