package = "vinano"
version = "0.1.0-1"
rockspec_format = "3.0"
source = {
  url = "git+https://github.com/vinano/vinano-lua.git",
  tag = "v0.1.0",
}
description = {
  summary = "Lua client for the ViNano image generation API (C core on libcurl)",
  detailed = [[
    Sync and async image generation with the ViNano API: multipart uploads
    streamed from disk by libcurl, JSON through lua-cjson, connection reuse,
    structured errors, resumable batches and the `vinano` command (the mock
    server for tests is its own rock, vinano-mock).
    Builds for Lua 5.1 to 5.4 and LuaJIT.
  ]],
  license = "MIT",
  labels = { "http", "api", "image", "curl" },
}
dependencies = {
  "lua >= 5.1, < 5.5",
  "lua-cjson",
  "argparse", -- the `vinano` command only (Debian: lua-argparse)
}
external_dependencies = {
  -- the library only: Debian keeps curl.h in a multiarch directory LuaRocks
  -- does not search, where the compiler finds it by itself
  CURL = { library = "curl" },
}
-- `luarocks test` runs the specs that need only Lua and libcurl (make
-- check-core) for the Lua LuaRocks runs (--lua-version), with busted, lua-cjson
-- and LuaSocket as installed for that Lua (Debian: lua-busted, lua-cjson,
-- lua-socket; elsewhere: luarocks install busted luasocket).  A command
-- rather than type "busted": LuaRocks' busted runner insists on a busted
-- *rock*, which Debian's lua-busted is not, and fetches one otherwise.
test = {
  type = "command",
  script = "scripts/luarocks-test.lua",
}
-- The C sources are listed one by one (no glob): spec/packaging_spec.lua
-- checks that every src/*.c is listed and every listed file exists.
build = {
  type = "builtin",
  modules = {
    ["vinano.core"] = {
      sources = { "src/buffer.c", "src/class.c", "src/client.c", "src/compat.c", "src/core.c", "src/form.c", "src/headers.c", "src/json.c", "src/platform.c", "src/pool.c", "src/sink.c", "src/trace.c", "src/transfer.c" },
      defines = { "_POSIX_C_SOURCE=200809L" },
      libraries = { "curl" },
      incdirs = { "$(CURL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)" },
    },
    ["vinano"] = "lua/vinano.lua",
    ["vinano.api"] = "lua/vinano/api.lua",
    ["vinano.async"] = "lua/vinano/async.lua",
    ["vinano.batch"] = "lua/vinano/batch.lua",
    ["vinano.batch.fs"] = "lua/vinano/batch/fs.lua",
    ["vinano.batch.jobs"] = "lua/vinano/batch/jobs.lua",
    ["vinano.batch.journal"] = "lua/vinano/batch/journal.lua",
    ["vinano.batch.timing"] = "lua/vinano/batch/timing.lua",
    ["vinano.call"] = "lua/vinano/call.lua",
    ["vinano.cli"] = "lua/vinano/cli.lua",
    ["vinano.cli.batch"] = "lua/vinano/cli/batch.lua",
    ["vinano.cli.display"] = "lua/vinano/cli/display.lua",
    ["vinano.cli.explain"] = "lua/vinano/cli/explain.lua",
    ["vinano.cli.generate"] = "lua/vinano/cli/generate.lua",
    ["vinano.cli.models"] = "lua/vinano/cli/models.lua",
    ["vinano.client"] = "lua/vinano/client.lua",
    ["vinano.errors"] = "lua/vinano/errors.lua",
    ["vinano.health"] = "lua/vinano/health.lua",
    ["vinano.host.blocking"] = "lua/vinano/host/blocking.lua",
    ["vinano.host.frame"] = "lua/vinano/host/frame.lua",
    ["vinano.host.luv"] = "lua/vinano/host/luv.lua",
    ["vinano.progress"] = "lua/vinano/progress.lua",
    ["vinano.many"] = "lua/vinano/many.lua",
    ["vinano.ratelimit"] = "lua/vinano/ratelimit.lua",
    ["vinano.response"] = "lua/vinano/response.lua",
    ["vinano.retry"] = "lua/vinano/retry.lua",
    ["vinano.route"] = "lua/vinano/route.lua",
    ["vinano.options"] = "lua/vinano/options.lua",
    ["vinano.suggest"] = "lua/vinano/suggest.lua",
    ["vinano.transport"] = "lua/vinano/transport.lua",
    ["vinano.types"] = "lua/vinano/types.lua",
    ["vinano.validate"] = "lua/vinano/validate.lua",
  },
  install = {
    bin = { ["vinano"] = "bin/vinano" },
    -- Neovim's runtime files under share/lua/<version>/vinano/nvim (the
    -- folder doc/vinano.txt's install section puts on 'runtimepath'):
    -- :checkhealth finds lua/vinano/health.lua there, :help the doc and tags
    lua = {
      ["vinano.nvim.lua.vinano.health"] = "lua/vinano/health.lua",
      ["vinano.nvim.doc.vinano"] = "doc/vinano.txt",
      ["vinano.nvim.doc.tags"] = "doc/tags",
    },
  },
  -- the rock's own folder (luarocks show --rock-dir vinano): doc/vinano.1,
  -- the man page, and completions/ for bash and zsh (also: vinano completion)
  copy_directories = { "doc", "completions" },
}
