-- The client object: options, checks on them, lifetime.
local cs = require "chronosheets"
local helpers = require "helpers"

describe("cs.client", function()
  it("exposes the version", function()
    assert.equal("0.1.0", cs.VERSION)
    assert.equal("0.1.0", cs._VERSION)
  end)

  it("accepts every documented option", function()
    local client = cs.client{
      base_url = helpers.base_url, timeout = 5, connect_timeout = 2.5, ca_file = "/etc/ssl/certs/ca-certificates.crt",
      verify_tls = true, proxy = "", user_agent = "my-app/1.0", max_response_bytes = 65536,
      low_speed_limit = 10, low_speed_time = 5, allow_insecure_http = false,
    }
    assert.matches("chronosheets.client %(http://127.0.0.1:%d+%)", tostring(client))
    client:close()
  end)

  it("defaults to the real service over https", function()
    local client = cs.client()
    assert.equal("chronosheets.client (https://api.chronosheets.com)", tostring(client))
    client:close()
  end)

  it("drops trailing slashes of base_url", function()
    local client = cs.client{ base_url = "http://localhost:8089//" }
    assert.equal("chronosheets.client (http://localhost:8089)", tostring(client))
  end)

  it("raises on an unknown option, naming it", function()
    helpers.raises("unknown option 'timeuot'", function() cs.client{ timeuot = 5 } end)
  end)

  it("raises on an option of the wrong type, naming it", function()
    helpers.raises("option 'timeout' must be a positive number of seconds, got string", function() cs.client{ timeout = "5" } end)
    helpers.raises("option 'verify_tls' must be a boolean, got number", function() cs.client{ verify_tls = 1 } end)
    helpers.raises("option 'max_response_bytes' must be a positive integer, got number", function() cs.client{ max_response_bytes = 1.5 } end)
    -- out of range of an integer, and NaN: refused on every Lua (5.1 and LuaJIT have no integer subtype)
    for _, n in ipairs{ 1e300, 2^63, 0/0, 1/0 } do
      helpers.raises("option 'max_response_bytes' must be a positive integer", function() cs.client{ max_response_bytes = n } end)
    end
    helpers.raises("option 'timeout' must be a positive number of seconds", function() cs.client{ timeout = -1 } end)
    assert.has_error(function() cs.client("http://x") end)
  end)

  it("refuses a base_url that is not http(s), holds credentials, or has a CR/LF", function()
    helpers.raises("option 'base_url' must start with http:// or https://", function() cs.client{ base_url = "ftp://example.com" } end)
    helpers.raises("option 'base_url' must not hold a user name or password", function() cs.client{ base_url = "https://user:pw@example.com" } end)
    helpers.raises("option 'base_url' holds a control character", function() cs.client{ base_url = "https://example.com\r\nX: y" } end)
  end)

  it("refuses plain http to a host other than loopback unless told to allow it", function()
    assert.has_error(function() cs.client{ base_url = "http://api.chronosheets.com" } end)
    local ok, err = pcall(cs.client, { base_url = "http://example.com" })
    assert.is_false(ok)
    assert.matches("allow_insecure_http", err)
    cs.client{ base_url = "http://example.com", allow_insecure_http = true }:close()
    cs.client{ base_url = "http://127.0.0.2:9" }:close()
    cs.client{ base_url = "http://[::1]:9" }:close()
    cs.client{ base_url = "http://localhost" }:close()
  end)

  describe("close", function()
    it("is idempotent and makes every later call raise 'client is closed'", function()
      local client = helpers.client()
      client:close()
      client:close()
      assert.equal("chronosheets.client (closed)", tostring(client))
      helpers.raises("client is closed", function() client:get_my_profile("abc") end)
      assert.has_error(function() client:login{ username_or_email = "a", password = "b" } end)
      collectgarbage()
      collectgarbage()
    end)

    it("runs from the garbage collector on a client never closed", function()
      local client = helpers.client()
      assert.truthy(client:login{ username_or_email = "ada", password = "correct horse" })
      client = nil -- luacheck: ignore 311 (dropping the last reference is the test)
      collectgarbage()
      collectgarbage()
    end)
  end)
end)
