-- The client's API knowledge (lua/vinano/api.lua) and the mock's own
-- tables (mock/lua/vinano/mock/rules.lua) are written apart, each from the
-- API page, so that a mistake in one is not copied into the other. This
-- spec holds them to agree on every model, aspect ratio, image size and
-- price: by their tables, and by what the mock actually accepts and charges.
-- Pure Lua on both sides: no server, no core.
package.path = "./lua/?.lua;./mock/lua/?.lua;" .. package.path

local api = require "vinano.api"
local rules = require "vinano.mock.rules"

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- The multipart parts the mock would parse for these text fields.
local function parts(fields)
  local out = {}
  for _, name in ipairs(sorted_keys(fields)) do out[#out + 1] = { name = name, data = fields[name] } end
  return out
end

local function accepted(fields)
  local p, err = rules.validate(parts(fields))
  return p ~= nil, err
end

local ALL_RATIOS = {}
for _, r in ipairs(api.base_ratios) do ALL_RATIOS[#ALL_RATIOS + 1] = r end
for _, r in ipairs(api.extended_ratios) do ALL_RATIOS[#ALL_RATIOS + 1] = r end

describe("the client's API table and the mock agree", function()
  it("on the list of models and the default model", function()
    assert.are.same(sorted_keys(api.models), sorted_keys(rules.MODELS))
    assert.are.equal(api.default_model, rules.DEFAULT_MODEL)
  end)

  it("on the aspect ratios and the image sizes", function()
    assert.are.same(api.base_ratios, rules.BASE_RATIOS)
    assert.are.same(api.extended_ratios, rules.EXTRA_RATIOS)
    assert.are.same(api.img_sizes, rules.SIZE_LIST)
  end)

  it("the mock serves an image of exactly each ratio", function()
    for _, ratio in ipairs(ALL_RATIOS) do
      local w, h = rules.dimensions(ratio)
      local a, b = ratio:match("^(%d+):(%d+)$")
      if ratio == "auto" then a, b = 1, 1 end
      assert.are.equal(w * tonumber(b), h * tonumber(a), ratio)
    end
  end)

  for _, model in ipairs(sorted_keys(api.models)) do
    local info = api.models[model]
    describe(model, function()
      it("accepts the same aspect ratios", function()
        for _, ratio in ipairs(ALL_RATIOS) do
          local client_allows = api.base_ratio_set[ratio] or (info.extended_ratios == true)
          local ok, err = accepted { prompt = "p", model = model, aspectRatio = ratio }
          assert.are.equal(client_allows and true or false, ok, model .. " " .. ratio .. ": " .. tostring(err))
        end
      end)

      it("accepts img_size where the client prices sizes, and only there", function()
        for _, size in ipairs(api.img_sizes) do
          local ok, err = accepted { prompt = "p", model = model, img_size = size }
          if info.checked == false then
            -- the page is ambiguous: neither side may refuse what the server might take
            assert.is_true(ok, tostring(err))
          else
            assert.are.equal(info.size_credits ~= nil, ok, model .. " " .. size .. ": " .. tostring(err))
          end
        end
        assert.is_false((accepted { prompt = "p", model = model, img_size = "8k" }) and info.checked ~= false)
      end)

      it("accepts googleSearch = true where the client does", function()
        local ok, err = accepted { prompt = "p", model = model, googleSearch = "true" }
        if info.checked == false then
          assert.is_true(ok, tostring(err))
        else
          assert.are.equal(info.google_search == true, ok, tostring(err))
        end
        assert.is_true((accepted { prompt = "p", model = model, googleSearch = "false" }))
      end)

      it("accepts image input where the client does", function()
        local ok, err = accepted { model = model, imageUrl = "https://example.com/a.png" }
        assert.are.equal(info.image_input, ok, tostring(err))
        local p = rules.validate { { name = "model", data = model },
          { name = "image", filename = "a.png", data = "x" } }
        assert.are.equal(info.image_input, p ~= nil)
      end)

      it("charges what the client estimates, for every size and hdPro", function()
        local sizes = { false }
        if info.size_credits then for _, s in ipairs(api.img_sizes) do sizes[#sizes + 1] = s end end
        for _, size in ipairs(sizes) do
          for _, hd in ipairs { false, true } do
            local fields = { prompt = "p", model = model, hdPro = tostring(hd), img_size = size or nil }
            local p = assert(rules.validate(parts(fields)))
            local estimate = api.estimate_credits { model = model, hdPro = hd, img_size = size or nil }
            assert.are.equal(estimate, rules.cost(p), model .. " " .. tostring(size) .. " hdPro=" .. tostring(hd))
          end
        end
      end)
    end)
  end

  it("on the page's prices themselves", function()
    assert.are.equal(10, api.credits.normal)
    assert.are.equal(30, api.credits.hd)
    assert.are.equal(10, rules.cost(assert(rules.validate(parts { prompt = "p" }))))
    assert.are.equal(30, rules.cost(assert(rules.validate(parts { prompt = "p", hdPro = "true" }))))
    -- the default model when none is named
    assert.are.equal(api.estimate_credits { prompt = "p" }, rules.cost(assert(rules.validate(parts { prompt = "p" }))))
  end)
end)
