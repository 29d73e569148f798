-- vinano.ratelimit on a fake clock: no sleeping, no server. Each case is a
-- script of reserve / observe / cancel steps and what each must answer.
local Limiter = require "vinano.ratelimit"

local M = Limiter.MARGIN
local UNIX = 1700000000 -- a Unix time for the cases that need one

local function near(a, b) return math.abs(a - b) < 1e-6 end

-- Runs a script. Steps:
--   { "reserve", now, wait }       wait = seconds expected, or "gate"
--   { "reserve_n", now, {waits} }  several reservers at the same instant
--   { "observe", k, info, now }    k = the k-th ticket reserved (1-based)
--   { "cancel", k, now }
--   { "confirm", k, now, wait }    what is left to wait for ticket k after sleeping
--   { "gates", n }                 the gate functions called so far
local function run(case)
  local lim = assert(Limiter.new { limit = case.limit, window = case.window })
  local tickets, opened = {}, 0
  local function reserve(now, expect, label)
    local wait, ticket = lim:reserve(now)
    if expect == "gate" then
      assert.is_nil(wait, label .. ": expected a gate, got a wait of " .. tostring(wait))
      assert.is_function(ticket)
      ticket(function() opened = opened + 1 end)
    else
      assert.is_number(wait, label .. ": expected a wait of " .. tostring(expect) .. ", got a gate")
      assert.is_true(near(wait, expect), label .. ": wait " .. wait .. ", expected " .. expect)
      tickets[#tickets + 1] = ticket
    end
  end
  for i, step in ipairs(case.script) do
    local label = case.name .. ", step " .. i
    local op = step[1]
    if op == "reserve" then
      reserve(step[2], step[3], label)
    elseif op == "reserve_n" then
      for j, w in ipairs(step[3]) do reserve(step[2], w, label .. "." .. j) end
    elseif op == "observe" then
      lim:observe(assert(tickets[step[2]], label), step[3], step[4], UNIX + step[4])
    elseif op == "cancel" then
      lim:cancel(assert(tickets[step[2]], label), step[3])
    elseif op == "confirm" then
      local wait = lim:confirm(assert(tickets[step[2]], label), step[3])
      assert.is_true(near(wait, step[4]), label .. ": confirm says " .. wait .. ", expected " .. step[4])
    elseif op == "gates" then
      assert.are.equal(step[2], opened, label .. ": gate functions called")
    end
  end
end

local CASES = {
  {
    name = "8 concurrent reservers, 2 per 1 s: the probe alone, then distinct slots 0,0,1,1,2,2,3,3",
    limit = 2, window = 1,
    script = {
      { "reserve", 0, 0 },                                       -- the probe
      { "reserve_n", 0, { "gate", "gate", "gate", "gate", "gate", "gate", "gate" } },
      { "gates", 0 },
      { "observe", 1, nil, 0 },                                  -- no rate-limit headers
      { "gates", 7 },
      { "reserve_n", 0, { 0, 1, 1, 2, 2, 3, 3 } },
    },
  },
  {
    name = "slots slide: a reserver arriving later waits only for the window to pass",
    limit = 2, window = 1,
    script = {
      { "reserve", 0, 0 }, { "observe", 1, nil, 0.05 },
      { "reserve", 0.1, 0 },       -- 2 starts in [0, 1)
      { "reserve", 0.5, 0.5 },     -- waits until 1.0 (the probe's slot leaves the window)
      { "reserve", 1.05, 0.05 },   -- until 1.1
      { "reserve", 3, 0 },
    },
  },
  {
    name = "the server's remaining caps what starts before its reset",
    limit = 10, window = 60,
    script = {
      { "reserve", 0, 0 },
      { "reserve", 0, "gate" },
      { "observe", 1, { limit = 10, remaining = 3, reset = 30 }, 0.2 }, -- seconds from now
      { "gates", 1 },
      { "reserve_n", 0.2, { 0, 0, 0, 30 + M } },                 -- 3, then at the reset
    },
  },
  {
    name = "requests in flight count against the server's remaining",
    limit = 10, window = 60,
    script = {
      { "reserve", 0, 0 }, { "observe", 1, { remaining = 9, reset = 60 }, 0.1 },
      { "reserve_n", 0.1, { 0, 0, 0, 0 } },                      -- tickets 2..5, in flight
      { "observe", 2, { remaining = 5, reset = 59.7 }, 0.4 },    -- 3 others may be uncounted
      { "reserve_n", 0.4, { 0, 0, 59.7 + M } },                  -- so 5 - 3 = 2 more
    },
  },
  {
    name = "slots reserved ahead that the server's answer leaves no room for move past its reset",
    limit = 20, window = 6,
    script = {
      { "reserve", 0, 0 }, { "observe", 1, nil, 0 },              -- no headers: the window alone
      { "reserve_n", 0, { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 } }, -- tickets 2..20
      { "reserve_n", 0, { 6, 6, 6 } },                             -- tickets 21..23, ahead
      -- the server's window started a little after ours: it ends at 7, not 6
      { "observe", 2, { remaining = 1, reset = UNIX + 7 }, 0.5 },  -- 18 others sent: none left
      { "confirm", 21, 6, 1 + M },
      { "confirm", 23, 6, 1 + M },
      { "confirm", 3, 0.5, 0 },                                    -- what has started stays
    },
  },
  {
    name = "remaining = 0 with a Unix reset: nothing until then",
    limit = 20, window = 60,
    script = {
      { "reserve", 0, 0 },
      { "observe", 1, { remaining = 0, reset = UNIX + 5 }, 0 },  -- unix_now = UNIX + now
      { "reserve_n", 0, { 5 + M, 5 + M } },
      { "reserve", 2, 3 + M },
    },
  },
  {
    name = "restarted process: the probe learns remaining = 0, reset = 5; nothing is sent before the reset",
    limit = 20, window = 60,
    script = {
      { "reserve", 0, 0 },
      { "reserve_n", 0, { "gate", "gate", "gate" } },
      { "observe", 1, { limit = 20, remaining = 0, reset = 5 }, 0.1 },
      { "gates", 3 },
      { "reserve_n", 0.1, { 5 + M, 5 + M, 5 + M } },
    },
  },
  {
    name = "a cancelled probe opens the gate and the next reserver probes",
    limit = 5, window = 10,
    script = {
      { "reserve", 0, 0 },
      { "reserve_n", 0, { "gate", "gate" } },
      { "cancel", 1, 1 },
      { "gates", 2 },
      { "reserve", 1, 0 },          -- the new probe
      { "reserve", 1, "gate" },
      { "observe", 2, nil, 1.5 },
      { "gates", 3 },
      { "reserve_n", 1.5, { 0, 0, 0, 0 } },
    },
  },
  {
    name = "cancel frees a slot of the window",
    limit = 2, window = 1,
    script = {
      { "reserve", 0, 0 }, { "observe", 1, nil, 0 },
      { "reserve_n", 0, { 0, 1, 1 } },  -- tickets 2, 3, 4
      { "cancel", 2, 0 },               -- never sent
      { "reserve", 0, 0 },              -- takes its place
      { "reserve", 0, 2 },
    },
  },
  {
    name = "cancel gives back a share of the server's remaining",
    limit = 10, window = 60,
    script = {
      { "reserve", 0, 0 }, { "observe", 1, { remaining = 1, reset = 20 }, 0 },
      { "reserve", 0, 0 },              -- ticket 2: the last one
      { "reserve", 0, 20 + M },         -- ticket 3
      { "cancel", 2, 0.5 },
      { "reserve", 0.5, 0 },
    },
  },
  {
    name = "an answer from the same window with a higher remaining (arrived late) does not raise the cap",
    limit = 10, window = 60,
    script = {
      { "reserve", 0, 0 }, { "observe", 1, { remaining = 9, reset = UNIX + 60 }, 0 },
      { "reserve_n", 0, { 0, 0 } },                               -- tickets 2, 3
      { "observe", 3, { remaining = 0, reset = UNIX + 60 }, 0.2 }, -- the server says: none left
      { "observe", 2, { remaining = 8, reset = UNIX + 60 }, 0.3 }, -- overtaken answer
      { "reserve", 0.3, 60 - 0.3 + M },
    },
  },
  {
    name = "remaining = 0 with no reset: a gate while answers may come, then one window of our own",
    limit = 10, window = 30,
    script = {
      { "reserve", 0, 0 }, { "observe", 1, nil, 0 },
      { "reserve", 0, 0 },                                       -- ticket 2, in flight
      { "reserve", 0, 0 },                                       -- ticket 3, in flight
      { "observe", 2, { remaining = 0 }, 1 },
      { "reserve", 1, "gate" },
      { "observe", 3, { remaining = 0 }, 2 },                    -- nothing in flight any more
      { "gates", 1 },
      { "reserve", 2, 29 + M },                                  -- 1 + window, from the first word
    },
  },
  {
    name = "a reset more than an hour away, or already past, is not believed",
    limit = 3, window = 10,
    script = {
      { "reserve", 0, 0 },
      { "observe", 1, { remaining = 0, reset = 7200 }, 0 },      -- treated as unknown: one window
      { "reserve", 0, 10 + M },
      { "observe", 2, { remaining = 0, reset = UNIX - 1 }, 11 }, -- reset in the past: old news
      { "reserve", 11, 0 },
    },
  },
}

describe("vinano.ratelimit", function()
  for _, case in ipairs(CASES) do
    it(case.name, function() run(case) end)
  end

  it("builds from a client's options", function()
    assert.is_nil(Limiter.new {})
    local m = Limiter.new { plan = "monthly" }
    assert.are.same({ 20, 60 }, { m.limit, m.window })
    local y = Limiter.new { plan = "yearly" }
    assert.are.same({ 200, 60 }, { y.limit, y.window })
    local r = Limiter.new { rate_limit = 5, rate_window = 2 }
    assert.are.same({ 5, 2 }, { r.limit, r.window })
    local d = Limiter.new { limit = 7, window = 3 }
    assert.are.same({ 7, 3 }, { d.limit, d.window })
  end)

  it("never lets a window hold more than limit starts, whatever the order of events", function()
    math.randomseed(42)
    for _, spec in ipairs { { 2, 1 }, { 5, 3 }, { 20, 6 } } do
      local limit, window = spec[1], spec[2]
      local lim = Limiter.new { limit = limit, window = window }
      local now, starts, live = 0, {}, {}
      local _, probe = lim:reserve(now)
      starts[1] = 0
      lim:observe(probe, nil, now)
      for _ = 1, 400 do
        now = now + math.random() * window / limit
        local r = math.random()
        if r < 0.6 then
          local wait, t = lim:reserve(now)
          assert.is_true(wait >= 0)
          live[#live + 1] = { t = t }
        elseif #live > 0 then
          local k = math.random(#live)
          local x = table.remove(live, k)
          if r < 0.9 then
            lim:observe(x.t, nil, now)
            starts[#starts + 1] = x.t.slot
          else
            lim:cancel(x.t, now)
          end
        end
      end
      for _, x in ipairs(live) do starts[#starts + 1] = x.t.slot end
      table.sort(starts)
      for i = 1, #starts - limit do
        assert.is_true(starts[i + limit] - starts[i] >= window - 1e-9,
          ("%d per %g s: starts %d and %d are %.3f s apart"):format(limit, window, i, i + limit,
            starts[i + limit] - starts[i]))
      end
    end
  end)

  it("a ticket observed twice, or cancelled after being observed, changes nothing", function()
    local lim = Limiter.new { limit = 1, window = 10 }
    local _, a = lim:reserve(0)
    lim:observe(a, nil, 0)
    lim:observe(a, nil, 0)
    lim:cancel(a, 0)
    local wait = lim:reserve(0)
    assert.are.equal(10, wait)
  end)

  it("forgets a ticket nobody observes or cancels, so the probe cannot hold everyone forever", function()
    local lim = Limiter.new { limit = 5, window = 10 }
    assert.are.equal(0, (lim:reserve(0)))
    assert.is_nil((lim:reserve(1)))
    local wait = lim:reserve(Limiter.STALE + 1)
    assert.are.equal(0, wait)
  end)

  it("keeps up with 1000 reservers at 200 per minute", function()
    local lim = Limiter.new { limit = 200, window = 60 }
    local _, p = lim:reserve(0)
    lim:observe(p, nil, 0)
    local last = 0
    for _ = 1, 1000 do
      local wait = lim:reserve(0)
      assert.is_true(wait >= last)
      last = wait
    end
    assert.are.equal(300, last) -- the 1001st start (the probe was the 1st): 5 windows later
  end)
end)
