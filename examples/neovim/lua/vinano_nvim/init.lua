-- The plugin's Lua side: configuration, one client, and generation tasks on
-- vinano.async driven by the luv driver on vim.loop (uv poll handles on
-- libcurl's sockets and one uv timer: no ticking while the server works).
--
-- By default the driver resumes tasks through vim.schedule, on the main
-- loop, where a task may call the Vim API directly.  With
-- setup{ fast_context = true } tasks run inside luv callbacks instead
-- (async.luv(uv, { schedule = false })), a "fast" context where most of the
-- Vim API is off limits: this plugin's tasks only do Lua and vinano calls,
-- and hand messages and the on_done callback to vim.schedule either way.
--
-- NEVER call client:generate (or any blocking vinano call) inside a
-- plenary.async or nvim-nio coroutine: vinano does not own those coroutines,
-- so the call blocks the editor for the whole request.  Wrap the callback
-- form instead (see M.generate_with_nio below and the README).
local M = {}

local uv = vim.loop

local defaults = {
  token = nil,       -- default: $VINANO_API_TOKEN
  base_url = nil,    -- default: $VINANO_BASE_URL or https://vinano.ai
  output_dir = nil,  -- default: stdpath("cache") .. "/vinano"
  timeout = 180,     -- seconds for one request
  params = {},       -- extra generate parameters (model, aspectRatio, ...)
  fast_context = false, -- true: tasks run inside luv callbacks (no Vim API there) instead of the main loop
  on_done = nil,     -- function(result, err), result = { path=, bytes=, url=, response= }
  notify = true,     -- vim.notify when a generation starts, ends or fails
}

M.config = vim.deepcopy(defaults)
M.driver = nil -- the luv driver (vinano.host.luv), once installed: .stats, .is_active()
local client = nil

function M.setup(opts)
  M.config = vim.tbl_extend("force", vim.deepcopy(defaults), opts or {})
  if client then
    client:close()
    client = nil
  end
  return M
end

local function notify(msg, level)
  if not M.config.notify then return end
  if msg:sub(1, 7) ~= "vinano:" then msg = "vinano: " .. msg end -- vinano's errors carry it already
  vim.schedule(function() vim.notify(msg, level or vim.log.levels.INFO) end)
end

local function finish(result, err)
  if err then
    notify(tostring(err), vim.log.levels.ERROR)
  else
    notify(("saved %s (%d bytes)"):format(result.path, result.bytes))
  end
  local cb = M.config.on_done
  if cb then vim.schedule(function() cb(result, err) end) end
end

-- vinano, its client, and the driver, made on first use.
local function get_client()
  if client then return client end
  local ok, vinano = pcall(require, "vinano")
  if not ok then
    return nil, "cannot load vinano (add its lua/ and build/luajit/ to package.path/cpath, see README): "
      .. tostring(vinano)
  end
  local token = M.config.token or os.getenv("VINANO_API_TOKEN")
  if not token or token == "" then
    return nil, "no API token: set $VINANO_API_TOKEN or setup{ token = ... }"
  end
  local async = require "vinano.async"
  if not M.driver then
    M.driver = async.luv(uv, { schedule = not M.config.fast_context and vim.schedule or false })
  end
  client = vinano.new { token = token, base_url = M.config.base_url, timeout = M.config.timeout }
  return client
end

local function file_name(res)
  local id = type(res.uuid) == "string" and res.uuid:gsub("[^%w%-_]", "") or ""
  if id == "" then id = os.date("%Y%m%d-%H%M%S") .. "-" .. uv.hrtime() end
  return "vinano-" .. id .. ".png"
end

-- Starts a generation; returns the vinano.async task (nil and a message when
-- it cannot start).  Call it from the main loop (a command, a mapping).
function M.generate(prompt, opts)
  opts = opts or {}
  local c, err = get_client()
  if not c then
    finish(nil, err)
    return nil, err
  end
  local dir = opts.output_dir or M.config.output_dir or (vim.fn.stdpath("cache") .. "/vinano")
  vim.fn.mkdir(dir, "p") -- here, not in the task: vim.fn is not allowed in a fast context
  local params = vim.tbl_extend("force", {}, M.config.params, opts.params or {}, { prompt = prompt })
  notify("generating: " .. prompt)
  return require("vinano.async").spawn(function()
    local ok, result, gerr = pcall(function()
      local res, e = c:generate(params)
      if not res then return nil, e end
      local url = res.images and res.images[1]
      if type(url) ~= "string" then return nil, "the response has no image URL" end
      local file, derr = c:download(url, dir .. "/" .. file_name(res))
      if not file then return nil, derr end
      return { path = file.path, bytes = file.bytes, url = url, response = res }
    end)
    if not ok then result, gerr = nil, result end
    finish(result, gerr)
  end)
end

-- The same generation as a plenary.async / nvim-nio coroutine: their wrap
-- turns the callback form into a call that yields their coroutine.  Needs
-- nvim-nio (https://github.com/nvim-neotest/nvim-nio); returns its task.
-- Inside nio.run, client:generate{...} itself would BLOCK the editor.
function M.generate_with_nio(prompt)
  local nio = require "nio"
  local c, err = get_client() -- installs the luv driver: generate_cb raises without one
  if not c then return finish(nil, err) end
  local generate = nio.wrap(function(params, cb) c:generate_cb(params, cb) end, 2)
  return nio.run(function()
    local res, gerr = generate(vim.tbl_extend("force", {}, M.config.params, { prompt = prompt }))
    if not res then return finish(nil, gerr) end
    notify("generated " .. tostring(res.images and res.images[1]))
  end)
end

return M
