-- Proxies: the `proxy` option, and libcurl's https_proxy / http_proxy /
-- no_proxy variables when the option is not given, against a recording
-- proxy on loopback (emulator/faultd.lua). Over https the proxy only
-- relays a tunnel: the CONNECT request it sees carries neither the token
-- nor the password. Tests that need their own environment run the client
-- in a child Lua.
local cjson = require "cjson"
local cs = require "chronosheets"
local helpers = require "helpers"

local ada = helpers.ada

-- Every proxy variable libcurl reads, unset unless a test sets it.
local function environment(vars)
  local env = { http_proxy = false, https_proxy = false, HTTPS_PROXY = false, HTTP_PROXY = false,
                all_proxy = false, ALL_PROXY = false, no_proxy = false, NO_PROXY = false }
  for k, v in pairs(vars) do env[k] = v end
  return env
end

-- In a child Lua with env: a client on url (with ca_file for https, and
-- the proxy option when given) logs in and reads the profile. Returns
-- "ok", or "err KIND CODE MESSAGE".
local CHILD = [[
local cs = require "chronosheets"
local options = { base_url = os.getenv("T_URL"), ca_file = os.getenv("T_CA"), timeout = 5 }
options.proxy = os.getenv("T_PROXY")
local client = cs.client(options)
local login, err = client:login{ username_or_email = "ada", password = "correct horse" }
if login then
  local profile
  profile, err = client:get_my_profile(login.cs_auth_token)
  if profile then io.write("ok") return end
end
io.write("err ", err.kind, " ", tostring(err.curl_code), " ", err.message)
]]

local function child(env, url, ca_file, proxy)
  env = environment(env)
  env.T_URL, env.T_CA, env.T_PROXY = url, ca_file or false, proxy or false
  return helpers.run_lua(env, CHILD)
end

describe("proxy", function()
  local places, tls_target

  setup(function()
    places = helpers.faults()
    tls_target = places.tls_url:match("^https://(.*)$")
  end)
  before_each(helpers.reset)

  -- The proxy's record, each entry checked for secrets.
  local function proxied(token)
    local entries = helpers.recorded().proxy
    for _, e in ipairs(entries) do
      if e.method == "CONNECT" then
        assert.is_nil(e.head:find(ada.password, 1, true), "the password reached the proxy")
        assert.is_nil(e.headers["x-chronosheets-auth"], "the token reached the proxy")
        if token then assert.is_nil(e.head:find(token, 1, true), "the token reached the proxy") end
      end
    end
    return entries
  end

  describe("option", function()
    it("tunnels https through the proxy; the CONNECT carries no token and no password", function()
      local client = cs.client{ base_url = places.tls_url, ca_file = places.ca_file, proxy = places.proxy_url }
      local token = helpers.token(client)
      assert.equal("Ada", assert(client:get_my_profile(token)).first_name)
      assert.is_true(client:logout(token))
      local entries = proxied(token)
      assert.is_true(#entries >= 1)
      for _, e in ipairs(entries) do
        assert.equal("CONNECT", e.method)
        assert.equal(tls_target, e.target)
      end
      client:close()
    end)

    it("sends plain http through the proxy in full (absolute form): use https with a proxy", function()
      local client = cs.client{ base_url = helpers.base_url, proxy = places.proxy_url }
      local token = helpers.token(client)
      assert(client:get_my_profile(token))
      local entries = helpers.recorded().proxy
      assert.equal(2, #entries)
      assert.equal("PUT", entries[1].method)
      assert.equal(helpers.base_url .. "/UserProfile/DoLogin", entries[1].target)
      assert.truthy(entries[1].body:find(ada.password, 1, true))
      -- a plain http proxy is in the middle of everything, token included
      assert.equal(token, entries[2].headers["x-chronosheets-auth"])
      client:close()
    end)

    it("a proxy that is down: transport, at once", function()
      local client = cs.client{ base_url = places.tls_url, ca_file = places.ca_file,
                                proxy = helpers.refused_url, connect_timeout = 2 }
      local elapsed, result, err = helpers.timed(client.login, client,
                                                 { username_or_email = "ada", password = ada.password })
      assert.is_nil(result)
      assert.equal("transport", err.kind)
      assert.equal(7, err.curl_code)   -- CURLE_COULDNT_CONNECT
      assert.is_true(elapsed < 1 * helpers.time_factor, "took " .. elapsed .. " s")
      client:close()
    end)

    it("a proxy that refuses the tunnel: transport; what it saw holds no secret", function()
      -- the recording proxy only serves loopback, so the real service's
      -- CONNECT gets a 403 and nothing leaves this machine
      local client = cs.client{ proxy = places.proxy_url, timeout = 5 }
      local _, err = client:login{ username_or_email = "ada", password = ada.password }
      assert.equal("transport", err.kind)
      assert.equal(56, err.curl_code)   -- CURLE_RECV_ERROR
      assert.matches("CONNECT tunnel failed, response 403", err.message)
      local entries = proxied()
      assert.equal(1, #entries)
      assert.equal("api.chronosheets.com:443", entries[1].target)
      client:close()
    end)

    it("\"\" means no proxy, whatever https_proxy says", function()
      assert.equal("ok", child({ https_proxy = helpers.refused_url }, places.tls_url, places.ca_file, ""))
      assert.equal(0, #helpers.recorded().proxy)
    end)

    it("wins over https_proxy", function()
      assert.equal("ok", child({ https_proxy = helpers.refused_url }, places.tls_url, places.ca_file,
                               places.proxy_url))
      assert.equal(tls_target, proxied()[1].target)
    end)
  end)

  describe("environment, without the option", function()
    for _, name in ipairs{ "https_proxy", "HTTPS_PROXY", "all_proxy" } do
      it(name .. " tunnels https through the proxy", function()
        assert.equal("ok", child({ [name] = places.proxy_url }, places.tls_url, places.ca_file))
        local entries = proxied()
        assert.is_true(#entries >= 1)
        assert.equal("CONNECT", entries[1].method)
        assert.equal(tls_target, entries[1].target)
      end)
    end

    for _, no_proxy in ipairs{ "127.0.0.1", "localhost,127.0.0.1", "*" } do
      it("no_proxy=" .. no_proxy .. " goes direct despite https_proxy", function()
        assert.equal("ok", child({ https_proxy = places.proxy_url, no_proxy = no_proxy },
                                 places.tls_url, places.ca_file))
        assert.equal(0, #helpers.recorded().proxy)
      end)
    end

    it("NO_PROXY in capitals works too", function()
      assert.equal("ok", child({ https_proxy = places.proxy_url, NO_PROXY = "127.0.0.1" },
                               places.tls_url, places.ca_file))
      assert.equal(0, #helpers.recorded().proxy)
    end)

    it("http_proxy carries plain http", function()
      assert.equal("ok", child({ http_proxy = places.proxy_url }, helpers.base_url))
      assert.equal(2, #helpers.recorded().proxy)
    end)

    it("HTTP_PROXY in capitals is ignored, as libcurl does (httpoxy)", function()
      assert.equal("ok", child({ HTTP_PROXY = places.proxy_url }, helpers.base_url))
      assert.equal(0, #helpers.recorded().proxy)
    end)

    it("https_proxy pointing at nothing: transport, and the child says so", function()
      local out = child({ https_proxy = helpers.refused_url }, places.tls_url, places.ca_file)
      assert.matches("^err transport 7 ", out)
      assert.is_nil(out:find(ada.password, 1, true))
      assert.equal(0, #helpers.recorded().proxy, cjson.encode(helpers.recorded()))
    end)
  end)
end)
