package = "vinano"
version = "scm-1"
rockspec_format = "3.0"
source = {
  url = "git+https://github.com/vinano/vinano-lua.git",
}
description = {
  summary = "Lua client for the ViNano image generation API (C core on libcurl)",
  detailed = [[
    Sync and async image generation with the ViNano API: multipart uploads
    streamed from disk by libcurl, JSON through lua-cjson, connection reuse,
    structured errors. Builds for Lua 5.1 to 5.4 and LuaJIT. The local
    ViNano-compatible mock server for tests is its own rock, vinano-mock.
  ]],
  license = "MIT",
  labels = { "http", "api", "image", "curl" },
}
dependencies = {
  "lua >= 5.1, < 5.5",
  "lua-cjson",
}
test_dependencies = { "busted", "luasocket" }
external_dependencies = {
  -- the library only: Debian keeps curl.h in a multiarch directory LuaRocks
  -- does not search, where the compiler finds it by itself
  CURL = { library = "curl" },
}
build = {
  type = "builtin",
  modules = {
    ["vinano.core"] = {
      sources = { "src/core.c", "src/client.c", "src/request.c", "src/form.c", "src/response.c",
        "src/download.c", "src/compat.c" },
      defines = { "_POSIX_C_SOURCE=200809L" },
      libraries = { "curl" },
      incdirs = { "$(CURL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)" },
    },
    ["vinano"] = "lua/vinano.lua",
    ["vinano.async"] = "lua/vinano/async.lua",
    ["vinano.client"] = "lua/vinano/client.lua",
    ["vinano.execute"] = "lua/vinano/execute.lua",
    ["vinano.models"] = "lua/vinano/models.lua",
    ["vinano.progress"] = "lua/vinano/progress.lua",
    ["vinano.ratelimit"] = "lua/vinano/ratelimit.lua",
    ["vinano.retry"] = "lua/vinano/retry.lua",
    ["vinano.validate"] = "lua/vinano/validate.lua",
  },
}
