-- TLS: the emulator also serves the API over https with certificates from
-- a throwaway CA that `emulator start --test` makes with openssl. The
-- client verifies certificates and host names by default; a certificate
-- it cannot trust ends the call before the request (and its body) is sent.
local cjson = require "cjson"
local cs = require "chronosheets"
local helpers = require "helpers"

local ada = helpers.ada

-- No request reached the API since the last reset.
local function nothing_sent()
  local last = helpers.last_request()
  assert.is_true(last == nil or last == cjson.null, "a request reached the server: " .. cjson.encode(last))
end

describe("TLS", function()
  local places

  setup(function() places = helpers.faults() end)
  before_each(helpers.reset)

  local function timed_login(client)
    return helpers.timed(client.login, client, { username_or_email = "ada", password = ada.password })
  end

  -- A failed handshake: transport, curl's reason, in time, and nothing of
  -- the request reached the server.
  local function refused(options, reason)
    options.connect_timeout = options.connect_timeout or 2
    options.timeout = options.timeout or 5
    local client = cs.client(options)
    for _ = 1, 2 do   -- the same client fails the same way again: nothing wedged
      local elapsed, result, err = timed_login(client)
      assert.is_nil(result)
      assert.equal("transport", err.kind)
      assert.equal(60, err.curl_code)   -- CURLE_PEER_FAILED_VERIFICATION
      assert.truthy(err.message:find(reason, 1, true), err.message)
      assert.is_nil(tostring(err):find(ada.password, 1, true))
      assert.is_true(elapsed < 1 * helpers.time_factor, "took " .. elapsed .. " s")
      nothing_sent()
    end
    client:close()
  end

  it("works with ca_file naming the test CA: login, profile, logout", function()
    local client = cs.client{ base_url = places.tls_url, ca_file = places.ca_file }
    local login = assert(client:login{ username_or_email = "ada", password = ada.password })
    local token = login.cs_auth_token
    assert.equal("Ada", assert(client:get_my_profile(token)).first_name)
    assert.is_true(client:logout(token))
    local last = helpers.last_request()
    assert.equal("DELETE", last.method)
    client:close()
  end)

  it("works with the name localhost too (the certificate names 127.0.0.1 and localhost)", function()
    local url = places.tls_url:gsub("127%.0%.0%.1", "localhost")
    local client = cs.client{ base_url = url, ca_file = places.ca_file }
    assert.truthy(client:login{ username_or_email = "ada", password = ada.password })
    client:close()
  end)

  it("works through a session made by cs.login with ca_file", function()
    local session = assert(cs.login{ username_or_email = "ada", password = ada.password,
                                     base_url = places.tls_url, ca_file = places.ca_file })
    assert.equal("Ada", assert(session:profile()).first_name)
    assert.is_true(session:logout())
  end)

  it("refuses a certificate from a CA it does not trust (the system bundle): transport, nothing sent", function()
    refused({ base_url = places.tls_url }, "unable to get local issuer certificate")
  end)

  it("refuses an expired certificate: transport, nothing sent", function()
    refused({ base_url = places.tls_expired_url, ca_file = places.ca_file }, "certificate has expired")
  end)

  it("refuses a certificate for another host name: transport, nothing sent", function()
    refused({ base_url = places.tls_wrong_host_url, ca_file = places.ca_file },
            "no alternative certificate subject name matches target host name '127.0.0.1'")
  end)

  it("refuses a CA file that holds no certificate: transport", function()
    local empty = os.tmpname()
    local client = cs.client{ base_url = places.tls_url, ca_file = empty, timeout = 5 }
    local _, err = client:login{ username_or_email = "ada", password = ada.password }
    assert.equal("transport", err.kind)
    assert.equal(77, err.curl_code)   -- CURLE_SSL_CACERT_BADFILE
    nothing_sent()
    client:close()
    os.remove(empty)
  end)

  it("with verify_tls = false, accepts even an expired certificate (for testing only)", function()
    local client = cs.client{ base_url = places.tls_expired_url, verify_tls = false }
    assert.truthy(client:login{ username_or_email = "ada", password = ada.password })
    client:close()
  end)

  it("plain http spoken to the TLS port: an http error with the server's page", function()
    local url = places.tls_url:gsub("^https:", "http:")
    local client = cs.client{ base_url = url, timeout = 5 }
    local profile, err = client:get_my_profile("abc")
    assert.is_nil(profile)
    assert.equal("http", err.kind)
    assert.equal(400, err.http_status)
    assert.matches("plain HTTP request was sent to HTTPS port", err.message)
    client:close()
  end)

  it("https spoken to a plain http port: transport, at once", function()
    local url = helpers.base_url:gsub("^http:", "https:")
    local client = cs.client{ base_url = url, timeout = 5 }
    local elapsed, result, err = timed_login(client)
    assert.is_nil(result)
    assert.equal("transport", err.kind)
    assert.equal(35, err.curl_code)   -- CURLE_SSL_CONNECT_ERROR
    assert.is_true(elapsed < 1 * helpers.time_factor, "took " .. elapsed .. " s")
    nothing_sent()
    client:close()
  end)
end)
