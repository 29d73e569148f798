-- Submits a task, waits for it with progress lines, saves the image.
--   VINANO_API_TOKEN=... lua5.4 examples/async.lua "a prompt" out/async.png
local vinano = require "vinano"

local prompt = arg[1] or "a lighthouse in a storm, oil painting"
local out = arg[2] or "out/async.png"

local client = vinano.new {}
local task, err = client:submit_async { prompt = prompt, aspectRatio = "1:1" }
if not task then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
print(("submitted task %s (%s credits)"):format(task.task_id, tostring(task.credits and task.credits.cost)))

local started = os.time()
local res, werr = client:wait(task.task_id, {
  interval = tonumber(os.getenv("VINANO_POLL_INTERVAL")) or 3,
  timeout = 300,
  on_poll = function(st) print(("  %3d s: %s"):format(os.time() - started, st.state)) end,
})
if not res then
  io.stderr:write(tostring(werr), "\n")
  os.exit(1)
end

local file, derr = client:download(res.images[1], out)
if not file then
  io.stderr:write(tostring(derr), "\n")
  os.exit(1)
end
print(("saved %s (%d bytes)"):format(file.path, file.bytes))
