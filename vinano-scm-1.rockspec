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
    structured errors, and a local ViNano-compatible mock server for tests.
    Builds for Lua 5.1 to 5.4 and LuaJIT.
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
  CURL = { header = "curl/curl.h", library = "curl" },
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
    ["vinano.client"] = "lua/vinano/client.lua",
    ["vinano.models"] = "lua/vinano/models.lua",
    ["vinano.validate"] = "lua/vinano/validate.lua",
  },
  install = {
    bin = { ["vinano-mock"] = "bin/vinano-mock" },
  },
}
