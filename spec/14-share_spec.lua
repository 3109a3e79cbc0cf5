-- The share option: clients created with share = true in one process use
-- one libcurl share handle, so they reuse each other's connections, TLS
-- sessions and DNS answers. Seen here through the emulator's recording
-- proxy, which logs one CONNECT per connection made to the TLS listener.
local cs = require "chronosheets"
local helpers = require "helpers"

describe("the share option", function()
  local places

  setup(function() places = helpers.faults() end)
  before_each(helpers.reset)

  local function connects()
    local n = 0
    for _, e in ipairs(helpers.recorded().proxy) do
      if e.method == "CONNECT" then n = n + 1 end
    end
    return n
  end

  local function tls_client(share)
    return cs.client{ base_url = places.tls_url, ca_file = places.ca_file,
                      proxy = places.proxy_url, share = share }
  end

  it("lets clients created with share = true reuse one connection", function()
    local a, b = tls_client(true), tls_client(true)
    local token = helpers.token(a)
    for _ = 1, 3 do
      assert.equal("Ada", assert(a:get_my_profile(token)).first_name)
      assert.equal("Ada", assert(b:get_my_profile(token)).first_name)
    end
    assert.equal(1, connects())
    -- The connection outlives the client that made it.
    a:close()
    assert(b:get_my_profile(token))
    assert.equal(1, connects())
    b:close()
  end)

  it("keeps each client's connections to itself by default", function()
    local a, b = tls_client(nil), tls_client(false)
    local token = helpers.token(a)
    assert(a:get_my_profile(token))
    assert(b:get_my_profile(token))
    assert.equal(2, connects())
    a:close()
    b:close()
  end)

  it("makes a new share once every sharing client is gone", function()
    local a = tls_client(true)
    assert(helpers.token(a))
    a:close()
    collectgarbage()
    local b = tls_client(true)
    assert(helpers.token(b))
    b:close()
    assert.equal(2, connects())
  end)

  it("must be a boolean", function()
    helpers.raises("option 'share' must be a boolean", function() cs.client{ share = 1 } end)
  end)
end)
