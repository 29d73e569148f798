-- A fake of the C core (vinano.core) written to the contract of
-- docs/architecture.md, in Lua, with a fake clock: specs of the scheduler,
-- the transport and the drivers run without libcurl, without a server and
-- without sleeping.
--
--   local fake = require("spec.support.fake_core").new()
--   package.loaded["vinano.core"] = fake     -- before requiring vinano.*
--   fake.plan = function(spec) return { after = 2, facts = { status = 200 } } end
--
-- A transfer's plan (from fake.plan(spec), per start):
--   after = seconds     finishes that long after start (fake clock); nil: only
--                       when fake.complete(t) is called
--   facts = {...}       its result (code 0 and status 200 by default)
--   fd = n              it "uses" socket n: c:sockets() reports n "in" when it
--                       starts and n "remove" when it ends
--   on_action = fn(t, fd, what)  called by c:action(fd, what) for its socket
--   on_timeout = fn(t)  called by c:action() (libcurl's timeout)
--   curl_timeout_ms = n what c:sockets() reports as libcurl's timeout
--   upload = bytes      progress(): sent grows linearly to this over `after`
local M = {}

local function check_seconds(s)
  if type(s) ~= "number" or s ~= s or s < 0 or s == math.huge then
    error("bad argument #1 to 'sleep' (finite number >= 0 expected)", 3)
  end
end

function M.new()
  local core = { version = "fake", clock = 0, slept = 0, steps = 0, waits = 0, actions = 0, started = {} }
  core.max_steps = 100000 -- a spinning loop fails instead of hanging the spec

  function core.now() return core.clock end

  function core.sleep(s)
    check_seconds(s)
    core.clock = core.clock + s
    core.slept = core.slept + s
  end

  function core.plan(_spec) return { after = 1 } end

  local Transfer = {}
  Transfer.__index = Transfer
  Transfer.__name = "vinano.core.transfer"

  local function finish(t, facts)
    if t.st ~= "running" then return end
    t.st = "done"
    t.facts = facts
    local c = t.client
    c.running_n = c.running_n - 1
    c.transfers[t] = nil
    if t.plan.fd then
      c.changes[#c.changes + 1] = t.plan.fd
      c.changes[#c.changes + 1] = "remove"
    end
    if t.spec.queue then c.queue[#c.queue + 1] = t end
  end

  local function default_facts(t)
    local f = { code = 0, status = 200, body = "ok", request_sent = true }
    for k, v in pairs(t.plan.facts or {}) do f[k] = v end
    return f
  end

  function core.complete(t, facts)
    local f = default_facts(t)
    for k, v in pairs(facts or {}) do f[k] = v end
    finish(t, f)
  end

  function Transfer:result()
    if self.st == "running" then error("the transfer is still running", 2) end
    local copy = {}
    for k, v in pairs(self.facts) do copy[k] = v end
    return copy
  end
  function Transfer:done() return self.st ~= "running" and self.st ~= "idle" end
  function Transfer:state() return self.st end
  function Transfer:cancel()
    if self.st ~= "running" then return false end
    self.cancelled_by_cancel = true
    finish(self, { code = 42, cancelled = true, request_sent = true })
    return true
  end
  function Transfer:progress()
    local p = self.plan
    if not p.upload then return 0, 0, 0, 0 end
    local frac = 1
    if p.after and p.after > 0 then frac = math.min(1, (core.clock - self.t0) / p.after) end
    return math.floor(p.upload * frac), p.upload, 0, 0
  end
  function Transfer:close()
    if self.st == "running" then self:cancel() end
    self.st = "closed"
  end

  local Client = {}
  Client.__index = Client
  Client.__name = "vinano.core.client"
  Client.__tostring = function(c)
    if c.closed then return "vinano.core.client (closed)" end
    return ("vinano.core.client (%d in flight)"):format(c.running_n)
  end

  local function live(c)
    if c.closed then error("vinano: attempt to use a closed client", 3) end
  end

  function core.new(opts)
    return setmetatable({ opts = opts or {}, transfers = {}, running_n = 0, queue = {}, changes = {},
      closed = false, timeout_ms = -1 }, Client)
  end

  function Client:start(spec)
    live(self)
    if type(spec) ~= "table" or type(spec.url) ~= "string" then
      error("bad argument #1 to 'start' (spec with url)", 2)
    end
    local plan = core.plan(spec) or {}
    local t = setmetatable({ client = self, spec = spec, plan = plan, st = "running", t0 = core.clock }, Transfer)
    if plan.after then t.at = core.clock + plan.after end
    self.transfers[t] = true
    self.running_n = self.running_n + 1
    core.started[#core.started + 1] = t
    if plan.fd then
      self.changes[#self.changes + 1] = plan.fd
      self.changes[#self.changes + 1] = "in"
    end
    if plan.curl_timeout_ms then self.timeout_ms = plan.curl_timeout_ms end
    return t
  end

  local function soonest(c)
    local at
    for t in pairs(c.transfers) do
      if t.at and (not at or t.at < at) then at = t.at end
    end
    return at
  end

  local function act(c)
    local due = {}
    for t in pairs(c.transfers) do
      if t.at and t.at <= core.clock then due[#due + 1] = t end
    end
    table.sort(due, function(a, b) return a.at < b.at end)
    for _, t in ipairs(due) do finish(t, default_facts(t)) end
  end

  function Client:step(ms)
    live(self)
    core.steps = core.steps + 1
    if core.steps > core.max_steps then error("fake core: more than " .. core.max_steps .. " steps (a spin?)") end
    ms = ms or 0
    local at = soonest(self)
    local limit = core.clock + ms / 1000
    if at and at <= limit then
      if at > core.clock then core.clock = at end
    elseif ms > 0 and self.running_n > 0 then
      core.clock = limit
    end
    act(self)
    return self.running_n
  end

  function Client:finished()
    live(self)
    if #self.queue == 0 then return nil end
    local q = self.queue
    self.queue = {}
    return q
  end

  function Client:sockets()
    live(self)
    local ch = self.changes
    self.changes = {}
    local ms = self.timeout_ms
    self.timeout_ms = -1
    return ch, ms
  end

  function Client:action(fd, what)
    live(self)
    core.actions = core.actions + 1
    local list = {}
    for t in pairs(self.transfers) do list[#list + 1] = t end
    for _, t in ipairs(list) do
      if fd then
        if t.plan.fd == fd and t.plan.on_action then t.plan.on_action(t, fd, what) end
      elseif t.plan.on_timeout then
        t.plan.on_timeout(t)
      end
    end
    act(self)
    return self.running_n
  end

  function Client:running()
    live(self)
    return self.running_n
  end

  function Client:close()
    if self.closed then return end
    local list = {}
    for t in pairs(self.transfers) do list[#list + 1] = t end
    for _, t in ipairs(list) do t:cancel() end
    self.closed = true
  end
  Client.__close = Client.close

  function core.wait(clients, ms)
    core.waits = core.waits + 1
    if core.waits > core.max_steps then error("fake core: more than " .. core.max_steps .. " waits (a spin?)") end
    local at
    for _, c in ipairs(clients) do
      live(c)
      local a = soonest(c)
      if a and (not at or a < at) then at = a end
    end
    local limit = core.clock + ms / 1000
    if at and at <= limit then
      if at > core.clock then core.clock = at end
    else
      core.clock = limit
    end
    for _, c in ipairs(clients) do act(c) end
  end

  return core
end

return M
