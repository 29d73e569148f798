-- The per-frame cost of vinano in a game loop: with N requests in flight
-- (the mock holding each for a while), the time one async.update(0) call
-- takes, as a game's love.update would make it every frame.  Run from the
-- repository root, under the game's interpreter (LuaJIT), after
-- `make LUA=luajit`, with the mock running:
--   VINANO_BASE_URL=http://127.0.0.1:PORT VINANO_API_TOKEN=test-token \
--     LUA_PATH="./lua/?.lua;;" LUA_CPATH="./build/luajit/?.so;;" luajit examples/love/frame_cost.lua [N]
-- Prints the microseconds per update (median of 5 rounds of 1000 frames).
-- The mock must delay the generate requests (POST /_mock/faults, action
-- "delay"), or they finish before the frames are counted: the script sets
-- that up itself through the mock's control API.
local vinano = require "vinano"
local async = require "vinano.async"
local N = tonumber(arg and arg[1]) or 10
local base = assert(os.getenv("VINANO_BASE_URL"), "set VINANO_BASE_URL to the mock's URL")

-- the mock holds every generate 30 s (its control API, through the client's own fetch would need a POST: curl)
assert(os.execute(("curl -s -o /dev/null -X POST %s/_mock/faults -d '%s'"):format(base,
  '{"action":"delay","seconds":30,"path":"/api/v2/images/generate","times":' .. N .. '}')))

local client = vinano.new { timeout = 60 }
async.host()
local finished = 0
for i = 1, N do
  async.spawn(function()
    client:generate { prompt = "frame cost " .. i }
    finished = finished + 1
  end)
end
-- let every request reach the server
local t0 = vinano.now()
while vinano.now() - t0 < 1 do async.update(0); vinano.sleep(0.005) end

local rounds = {}
for r = 1, 5 do
  local spent = 0
  for _ = 1, 1000 do
    local a = vinano.now()
    async.update(0)
    spent = spent + (vinano.now() - a)
    vinano.sleep(0.001) -- the rest of a frame
  end
  rounds[r] = spent / 1000 * 1e6
end
table.sort(rounds)
print(("%d requests in flight: %.1f us per async.update(0) (median of 5 x 1000 frames; %d finished early)")
  :format(N, rounds[3], finished))
os.execute(("curl -s -o /dev/null -X POST %s/_mock/reset"):format(base))
os.exit(0)
