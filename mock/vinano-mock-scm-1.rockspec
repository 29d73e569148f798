package = "vinano-mock"
version = "scm-1"
rockspec_format = "3.0"
source = {
  url = "git+https://github.com/vinano/vinano-lua.git",
  -- the rock lives in the mock/ folder of the client's repository
  dir = "vinano-lua/mock",
}
description = {
  summary = "A local ViNano-compatible API server for tests (vinano-mock)",
  detailed = [[
    Speaks the ViNano image generation API as its published page describes
    it (Bearer auth, parameter rules, 413, per-token rate limits with
    X-RateLimit-* and 429 + Retry-After, credits and 495, async tasks, real
    PNG images), records every request with the token redacted, and injects
    faults on demand. Pure Lua over LuaSocket; no dependency on the client.
    Run `vinano-mock --help`, or embed it with require("vinano.mock").
  ]],
  license = "MIT",
  labels = { "http", "testing", "mock", "server" },
}
dependencies = {
  "lua >= 5.1",
  "luasocket",
  "lua-cjson", -- decoding of the control API's JSON (vinano.mock.json)
}
build = {
  type = "builtin",
  modules = {
    ["vinano.mock"] = "lua/vinano/mock.lua",
    ["vinano.mock.api"] = "lua/vinano/mock/api.lua",
    ["vinano.mock.bounded"] = "lua/vinano/mock/bounded.lua",
    ["vinano.mock.checksum"] = "lua/vinano/mock/checksum.lua",
    ["vinano.mock.cli"] = "lua/vinano/mock/cli.lua",
    ["vinano.mock.config"] = "lua/vinano/mock/config.lua",
    ["vinano.mock.control"] = "lua/vinano/mock/control.lua",
    ["vinano.mock.faults"] = "lua/vinano/mock/faults.lua",
    ["vinano.mock.http"] = "lua/vinano/mock/http.lua",
    ["vinano.mock.json"] = "lua/vinano/mock/json.lua",
    ["vinano.mock.loop"] = "lua/vinano/mock/loop.lua",
    ["vinano.mock.multipart"] = "lua/vinano/mock/multipart.lua",
    ["vinano.mock.png"] = "lua/vinano/mock/png.lua",
    ["vinano.mock.requestlog"] = "lua/vinano/mock/requestlog.lua",
    ["vinano.mock.rules"] = "lua/vinano/mock/rules.lua",
    ["vinano.mock.text"] = "lua/vinano/mock/text.lua",
  },
  install = {
    bin = { ["vinano-mock"] = "bin/vinano-mock" },
  },
}
test_dependencies = { "busted" }
