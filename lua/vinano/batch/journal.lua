-- The journal: an append-only JSON Lines file, one line per state change of
-- a job.  Every line is flushed and fsynced before the step that depends on
-- it (above all: `submitting` is on disk before the request leaves), so a
-- process killed at any moment leaves a journal that says what may have
-- been paid for.  Reading folds the lines into one record per job; a last
-- line cut short by a kill is ignored.
-- vinano: internal (not part of the public API; see docs/architecture.md)
local cjson = require("cjson").new()
local core = require "vinano.core"
local vinano = require "vinano"

-- URLs stay readable in the file (lua-cjson 2.1.1+; 2.1.0 writes "\/")
if cjson.encode_escape_forward_slash then cjson.encode_escape_forward_slash(false) end
cjson.encode_sparse_array(true)

local M = {}

local Journal = {}
Journal.__index = Journal

--- Credits a job's record says were (or may have been) spent: reported costs
--- of its tasks, plus estimates of submissions whose outcome is unknown.
---@param rec table|nil a record of read()
---@return number credits
function M.committed(rec)
  if not rec then return 0 end
  return (rec.carried or 0) + (rec.spent or 0) + (rec.maybe or 0) + (rec.uncertain and rec.estimate or 0)
end

-- Folds one line into the records.  A `submitting` line whose parameters
-- differ from the job's record starts the job over: changed parameters are
-- a new job (what the old ones cost still counts against a budget).
local function fold(records, line)
  local id = line.id
  if type(id) ~= "string" or type(line.state) ~= "string" then return false end
  local rec = records[id]
  if line.state == "submitting" then
    if rec and rec.params ~= line.params then
      rec = { id = id, carried = M.committed(rec) }
      records[id] = rec
    elseif rec and rec.uncertain then
      -- the previous submission's fate stays unknown: it may have cost
      rec.maybe = (rec.maybe or 0) + (rec.estimate or 0)
    end
    rec = rec or { id = id }
    records[id] = rec
    rec.params = line.params
    rec.estimate = line.estimate
    rec.state = "submitting"
    rec.task_id, rec.images, rec.cost, rec.path, rec.size, rec.failed = nil, nil, nil, nil, nil, nil
    rec.uncertain = true
    rec.t = line.t
    return true
  end
  if not rec then return false end
  rec.state = line.state
  if line.state == "submitted" then
    rec.task_id, rec.uncertain = line.task_id, nil
    rec.cost = line.cost or rec.estimate
    rec.spent = (rec.spent or 0) + (rec.cost or 0)
    rec.t = line.t
  elseif line.state == "done" then
    rec.task_id = line.task_id or rec.task_id
    rec.images, rec.failed = line.images, nil
    if line.cost and rec.cost and line.cost ~= rec.cost then
      rec.spent = (rec.spent or 0) + line.cost - rec.cost
    end
    rec.cost = line.cost or rec.cost
  elseif line.state == "saved" then
    rec.path, rec.size, rec.failed = line.path, line.size, nil
  elseif line.state == "failed" then
    rec.failed = { phase = line.phase, kind = line.kind, message = line.message, status = line.status }
    -- only a submission can be uncertain; a refused one cost nothing
    if line.phase == "submit" then rec.uncertain = line.uncertain or nil end
    if line.phase == "task" then rec.task_id = nil end
  end
  return true
end

--- read(path) -> records (id -> record), info {lines=, ignored=, torn=}.
--- A missing file is an empty journal.
---@param path string
---@return table<string, table> records
---@return {lines: integer, ignored: integer, torn: boolean, ends_without_newline: boolean?} info
function M.read(path)
  local records, info = {}, { lines = 0, ignored = 0, torn = false }
  local f = io.open(path, "rb")
  if not f then return records, info end
  local text = f:read("*a")
  f:close()
  local pos = 1
  while pos <= #text do
    local nl = text:find("\n", pos, true)
    if not nl then
      -- no newline: the write of this line never finished
      info.torn = true
      info.ignored = info.ignored + 1
      break
    end
    local line = text:sub(pos, nl - 1)
    pos = nl + 1
    if line:find("%S") then
      local ok, v = pcall(cjson.decode, line)
      if ok and type(v) == "table" and fold(records, v) then
        info.lines = info.lines + 1
      else
        info.ignored = info.ignored + 1
      end
    end
  end
  info.ends_without_newline = #text > 0 and text:sub(-1) ~= "\n"
  return records, info
end

--- open(path) -> journal, records, info; or nil and a message.  A new
--- journal is created 0600 (it records spending); the file stays locked
--- (exclusively, not waited for) until close, so a second batch on the same
--- journal is refused instead of paying for the same jobs again.
---@param path string
---@return table|nil journal with :write(line), :sync(text), :close()
---@return table<string, table>|string records, or the message
---@return table? info as read() gives it
function M.open(path)
  local made, why = core.create_private(path)
  if not made then return nil, ("journal %s: %s"):format(path, why) end
  local f, err = io.open(path, "ab")
  if not f then return nil, "journal: " .. tostring(err) end
  local locked, lerr, code = core.lock(f)
  if not locked then
    f:close()
    if code == "busy" then
      return nil, ("journal %s is in use by another run (it holds the file's lock): wait for that run to end, "
        .. "or give this one another journal"):format(path)
    end
    return nil, ("journal %s: cannot lock it: %s"):format(path, lerr)
  end
  -- read under the lock: what the other run wrote before it ended counts
  local records, info = M.read(path)
  local j = setmetatable({ path = path, fh = f, records = records }, Journal)
  if info.ends_without_newline then
    -- the torn line ends here, so the next record starts on its own line
    local ok, werr = j:sync("\n")
    if not ok then
      f:close()
      return nil, werr
    end
  end
  return j, records, info
end

--- Writes text, flushes and fsyncs.  Returns true, or nil and a message.
---@param text string
---@return true|nil ok
---@return string|nil err
function Journal:sync(text)
  local ok, err = self.fh:write(text)
  if ok then ok, err = vinano.fsync(self.fh) end
  if not ok then return nil, "journal " .. self.path .. ": " .. tostring(err) end
  return true
end

local function finite(v)
  return type(v) == "number" and v == v and v > -math.huge and v < math.huge
end

-- What a line may hold, whatever the server sent: the task id first (a
-- string, or a finite number, else its text), strings as strings, finite
-- numbers, image URL strings; anything else is dropped.  cjson can encode
-- every line this returns.
local function sanitised(line)
  local out = {}
  for k, v in pairs(line) do
    if k == "images" then
      if type(v) == "table" then
        local urls = {}
        for i = 1, #v do
          if type(v[i]) == "string" then urls[#urls + 1] = v[i] end
        end
        out.images = urls
      end
    elseif k == "task_id" then
      out.task_id = (type(v) == "string" or finite(v)) and v or tostring(v)
    elseif k == "cost" then
      out.cost = finite(v) and v >= 0 and v or nil
    elseif type(v) == "string" or type(v) == "boolean" or finite(v) then
      out[k] = v
    end
  end
  return out
end

--- Appends one line for a job and folds it into the records; returns only
--- once it is flushed and fsynced.  Returns true, or nil and a message.
--- The server's data is sanitised first: a line is never lost to a value
--- JSON cannot hold (NaN, inf, deep nesting).
---@param line table {id=, state=, ...}; `t` (os.time()) is added
---@return true|nil ok
---@return string|nil err
function Journal:write(line)
  line.t = line.t or os.time()
  line = sanitised(line)
  local ok, err = self:sync(cjson.encode(line) .. "\n")
  if not ok then return nil, err end
  fold(self.records, line)
  return true
end

--- Closes the file.  Idempotent.
---@return nil
function Journal:close()
  if self.fh then
    self.fh:close()
    self.fh = nil
  end
end

return M
