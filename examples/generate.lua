-- Generates one image and saves it.
--   VINANO_API_TOKEN=... lua5.4 examples/generate.lua "a prompt" out/image.png
-- Talks to the real API when VINANO_BASE_URL is unset; `make demo` points it
-- at the local mock instead.
local vinano = require "vinano"

local prompt = arg[1] or "a beautiful sunset over the ocean"
local out = arg[2] or "out/sunset.png"

local client = vinano.new {} -- token and base URL from the environment
local res, err = client:generate {
  prompt = prompt,
  model = "gemini-2.5-flash-image-preview",
  aspectRatio = "16:9",
  googleSearch = false,
  mode = "txt2img",
}
if not res then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end

local detail = res.imageDetails and res.imageDetails[1] or {}
print(("generated %s (%sx%s, %s bytes, %s credits)"):format(res.images[1], tostring(detail.width),
  tostring(detail.height), tostring(detail.filesize), tostring(res.credits and res.credits.cost)))

local file, derr = client:download(res.images[1], out, { mkdir = true }) -- out/ may not exist yet
if not file then
  io.stderr:write(tostring(derr), "\n")
  os.exit(1)
end
print(("saved %s (%d bytes)"):format(file.path, file.bytes))

local rl = (client:last_response() or {}).rate_limit or {}
if rl.remaining then print(("rate limit: %d of %d left"):format(rl.remaining, rl.limit or -1)) end
