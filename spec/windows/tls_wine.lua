-- HTTPS through Schannel: the mock behind a local TLS server (socat), whose
-- certificate a test CA signed; ca_file names that CA.  A certificate that
-- CA did not sign is refused before the request (and the token) is sent.
-- With ca_file, libcurl 7.88's Schannel checks the certificate's DNS names
-- only, so the URLs name localhost.  Not tested: the system's store (no ca_file).  Wine's Schannel accepts any
-- certificate then (it does not validate in InitializeSecurityContext, as
-- Windows does), so only real Windows could show that refusal.
local test, S = ...

test("HTTPS with ca_file: Schannel verifies the chain and the request arrives", function()
  local client = S.client { base_url = S.tls_url, ca_file = S.tls_ca }
  local res, err = client:generate { prompt = "over TLS" }
  assert(res, tostring(err))
  local log = S.api_requests()
  S.eq(1, #log, "requests")
  S.eq("over TLS", log[1].parts[1].value, "prompt")
  S.eq("Bearer <token:1>", log[1].headers.authorization, "Authorization")
end)

test("a certificate the CA did not sign is refused, and nothing is sent", function()
  local res, err = S.client({ base_url = S.tls_bad_url, ca_file = S.tls_ca, max_retries = 0 })
    :generate { prompt = "never sent" }
  S.eq(nil, res, "result")
  S.eq("network", err.kind, "kind (" .. tostring(err) .. ")")
  S.eq(false, err.request_sent, "request_sent")
  assert(err.curl_code == 60 or err.curl_code == 35, "curl_code " .. tostring(err.curl_code) .. ": " .. tostring(err))
  S.eq(0, #S.api_requests(), "requests")
end)

test("with ca_file, an IP address URL fails the name check: libcurl 7.88's Schannel matches DNS names only", function()
  -- the same server and certificate (whose names are DNS:localhost and IP:127.0.0.1)
  local url = S.tls_url:gsub("//localhost:", "//127.0.0.1:")
  local res, err = S.client({ base_url = url, ca_file = S.tls_ca, max_retries = 0 }):generate { prompt = "never sent" }
  S.eq(nil, res, "result")
  S.eq("network", err.kind, "kind (" .. tostring(err) .. ")")
  S.matches("connection hostname %(127%.0%.0%.1%)", err.message, "message")
  S.eq(0, #S.api_requests(), "requests")
end)
