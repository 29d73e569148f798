-- vinano.batch on Windows: manifests, outputs and journals at drive paths
-- (backslashes, forward slashes, absolute and relative), the journal's lock
-- (LockFileEx) against a second run, and a rerun that pays nothing.
local test, S = ...
local batch = require "vinano.batch"
local journal = require "vinano.batch.journal"
local cjson = require "cjson"

local SUBMIT = "/api/v1/images/async"
local FAST = { first_poll = 0.2, poll_interval = 0.2 }

-- each test's jobs, their polls and downloads fit the mock's rate window
local function fresh_client()
  S.set { rate_limit = 200, task_delay = 0.3 }
  return S.client()
end

local function submissions()
  local n = 0
  for _, e in ipairs(S.api_requests()) do
    if e.method == "POST" and e.path == SUBMIT then n = n + 1 end
  end
  return n
end

local function opts(extra)
  local o = {}
  for k, v in pairs(FAST) do o[k] = v end
  for k, v in pairs(extra) do o[k] = v end
  return o
end

local function png(path)
  S.eq("\137PNG", (S.read(path) or ""):sub(1, 4), "the image at " .. path)
end

local function manifest(path, jobs)
  local lines = {}
  for i, j in ipairs(jobs) do lines[i] = cjson.encode(j) end
  S.write(path, table.concat(lines, "\n") .. "\n")
  return path
end

test("a manifest at a drive path: outputs beside it, then a rerun sends nothing", function()
  local client = fresh_client()
  local dir = S.dir("batch")
  local m = manifest(dir .. "\\jobs.jsonl", {
    { prompt = "win one", out = "img\\one.png" },
    { prompt = "win two", out = "img/two.png" },
  })
  local s, err = batch.run(client, assert(batch.load(m)), opts { journal = m .. ".journal" })
  assert(s, tostring(err))
  S.eq(true, s.ok, "every job saved: " .. tostring(s.failures[1] and s.failures[1].message))
  S.eq(2, s.stats.saved, "saved")
  png(dir .. "\\img\\one.png")
  png(dir .. "\\img\\two.png")
  S.eq("img jobs.jsonl jobs.jsonl.journal", table.concat(S.ls(dir), " "), "the manifest's folder")
  S.eq(2, submissions(), "submissions")
  local again = assert(batch.run(client, assert(batch.load(m)), opts { journal = m .. ".journal" }))
  S.eq(2, again.stats.skipped, "skipped by the rerun")
  S.eq(2, submissions(), "submissions after the rerun")
end)

test("out_dir joins relative outputs; a drive path or a rooted path stays itself", function()
  local client = fresh_client()
  local dir = S.dir("outdir")
  local drive = dir .. "\\abs\\a.png"
  local rooted = dir:gsub("^%a:", "") .. "\\rooted\\c.png" -- \path on the current drive
  local s, err = batch.run(client, {
    { prompt = "absolute", out = drive },
    { prompt = "relative", out = "rel\\b.png" },
    { prompt = "rooted", out = rooted },
  }, opts { journal = dir .. "\\o.journal", out_dir = dir .. "\\base\\" })
  assert(s, tostring(err))
  S.eq(true, s.ok, "every job saved: " .. tostring(s.failures[1] and s.failures[1].message))
  png(drive)
  png(dir .. "\\base\\rel\\b.png")
  png(dir .. "\\rooted\\c.png")
  S.eq("abs base o.journal rooted", table.concat(S.ls(dir), " "), "the folder")
end)

test("a journal another run holds is refused, and nothing is sent", function()
  local client = fresh_client()
  local dir = S.dir("lock")
  local path = dir .. "\\held.journal"
  local held = assert(journal.open(path))
  local s, err = batch.run(client, { { prompt = "locked out", out = dir .. "\\x.png" } }, opts { journal = path })
  S.eq(nil, s, "summary")
  S.eq("io", err.kind, "error kind")
  S.matches("in use by another run", err.message, "the message")
  S.eq(0, submissions(), "submissions")
  held:close()
  s = assert(batch.run(client, { { prompt = "let in", out = dir .. "\\x.png" } }, opts { journal = path }))
  S.eq(true, s.ok, "the run after the lock was released")
  S.eq(1, submissions(), "submissions")
end)
