-- The error kinds, max_credits, a misspelt option, and the token kept out of
-- every error.
local test, S = ...
local vinano = require "vinano"

local function fails(kind, status, res, err)
  S.eq(nil, res, "result")
  assert(err, "no error")
  S.eq(kind, err.kind, "kind (" .. tostring(err) .. ")")
  S.eq(status, err.status, "status")
  return err
end

test("400: the server's refusal, with its message", function()
  local res, err = S.client { validate = false }:generate { prompt = "x", aspectRatio = "7:5" }
  fails("bad_request", 400, res, err)
  S.matches("aspectRatio", err.message, "message")
  S.eq(1, #S.api_requests(), "requests")
end)

test("401: a wrong token is unauthorized, and the error does not carry it", function()
  local wrong = "wrong-" .. S.token
  local res, err = S.client { token = wrong }:generate { prompt = "x" }
  fails("unauthorized", 401, res, err)
  assert(not tostring(err):find(wrong, 1, true), "the token in: " .. tostring(err))
  S.eq(1, #S.api_requests(), "requests")
end)

test("429: Retry-After is honoured, then the request goes through", function()
  S.set { rate_limit = 1, rate_window = 2 }
  local client = S.client()
  assert(client:generate { prompt = "first" })
  local retries = {}
  local res, err = client:generate({ prompt = "second" }, { on_retry = function(attempt, e, delay)
    retries[#retries + 1] = { attempt = attempt, kind = e.kind, retry_after = e.retry_after, delay = delay }
  end })
  assert(res, tostring(err))
  S.eq(2, res.attempts, "attempts")
  S.eq(1, #retries, "retries")
  S.eq("rate_limited", retries[1].kind, "the retried error")
  assert(retries[1].retry_after and retries[1].retry_after > 0, "retry_after: " .. tostring(retries[1].retry_after))
  assert(retries[1].delay >= retries[1].retry_after,
    "waited " .. retries[1].delay .. " s of " .. retries[1].retry_after)
  local log, statuses = S.api_requests(), {}
  for i, e in ipairs(log) do statuses[i] = ("%d"):format(e.status) end
  S.eq("200 429 200", table.concat(statuses, " "), "statuses at the mock")
  -- the mock's own clock: the retry arrived no sooner than Retry-After said
  local gap = log[3].time - log[2].time
  assert(gap >= retries[1].retry_after - 0.05, ("the retry came %.2f s after the 429"):format(gap))
end)

test("429 with max_retries = 0 fails at once with retry_after", function()
  S.set { rate_limit = 1, rate_window = 30 }
  local client = S.client()
  assert(client:generate { prompt = "first" })
  local res, err = client:generate({ prompt = "second" }, { max_retries = 0 })
  fails("rate_limited", 429, res, err)
  assert(err.retry_after and err.retry_after > 0, "retry_after")
end)

test("495: no credits left", function()
  S.set { credits = 0 }
  local res, err = S.client():generate { prompt = "x" }
  fails("insufficient_credits", 495, res, err)
end)

test("500: a server error on a POST is not sent again, and the echoed token is redacted", function()
  S.fault { action = "status", status = 500, times = 1, path = "/api/v2/images/generate",
    body = '{"status":500,"message":"boom for token ' .. S.token .. '"}' }
  local res, err = S.client():generate { prompt = "x" }
  fails("server", 500, res, err)
  S.matches("boom", err.message, "message")
  assert(not tostring(err):find(S.token, 1, true), "the token in: " .. tostring(err))
  assert(not err.message:find(S.token, 1, true), "the token in the message")
  S.eq(1, #S.api_requests(), "requests (no retry of a POST that reached the server)")
end)

test("max_credits refuses a dearer request before sending it", function()
  local res, err = S.client { max_credits = 5 }:generate { prompt = "x" } -- 10 credits
  fails("invalid_request", nil, res, err)
  S.matches("max_credits", err.message, "message")
  S.eq(0, #S.api_requests(), "requests")
end)

test("a misspelt option raises, naming it and the likely one", function()
  S.raises("unknown option; did you mean 'timeout'?", function() vinano.new { token = "x", timout = 5 } end)
end)

test("the token is in no error string, whatever failed", function()
  local errs = {}
  local client = S.client()
  local _, e1 = client:generate { prompt = "x", aspectRatio = "99:1" } -- refused locally
  errs[#errs + 1] = e1
  local refused = S.client { base_url = "http://127.0.0.1:9", connect_timeout = 2, max_retries = 0 }
  local _, e2 = refused:generate { prompt = "x" }
  errs[#errs + 1] = e2
  S.fault { action = "status", status = 403, times = 1, body = S.token }
  local _, e3 = client:generate { prompt = "x" }
  errs[#errs + 1] = e3
  S.eq(3, #errs, "errors")
  for _, e in ipairs(errs) do
    assert(not tostring(e):find(S.token, 1, true), "the token in: " .. tostring(e))
  end
  S.eq("invalid_request network forbidden", errs[1].kind .. " " .. errs[2].kind .. " " .. errs[3].kind, "kinds")
  assert(not tostring(client):find(S.token, 1, true), "the token in tostring(client)")
end)
