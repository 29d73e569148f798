-- `require "vinano"` loads no C code: libcurl (through vinano.core) comes
-- with the first vinano.new, so a Neovim plugin that requires vinano at
-- start-up pays nothing for it.  Checked in a fresh interpreter, by what it
-- has loaded and by the libraries mapped into the process.
local env = require "spec.support.env"

local function run(code)
  local q = require("spec.support.mock_process").quote
  return env.sh(env.child_lua() .. " -e " .. q(code) .. " 2>&1")
end

describe("require \"vinano\"", function()
  it("loads neither vinano.core nor libcurl until the first vinano.new", function()
    local out = run([[
      local function curl_mapped()
        local f = io.open("/proc/self/maps", "r")
        local maps = f:read("*a"); f:close()
        return maps:find("libcurl", 1, true) ~= nil
      end
      local vinano = require "vinano"
      local est = vinano.estimate_credits { hdPro = true }
      io.write(tostring(package.loaded["vinano.core"] ~= nil), " ", tostring(curl_mapped()), " ", est, " ")
      local c = vinano.new { token = "t" }
      io.write(tostring(package.loaded["vinano.core"] ~= nil), " ", tostring(curl_mapped()))
      c:close()]])
    assert.are.equal("false false 30 true true", out)
  end)
end)
