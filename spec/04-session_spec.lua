-- The Lua layer: sessions hold the token, and forget it.
local cs = require "chronosheets"
local helpers = require "helpers"

local ada = helpers.ada

local function login(extra)
  local options = { username_or_email = "ada", password = ada.password, base_url = helpers.base_url }
  for k, v in pairs(extra or {}) do options[k] = v end
  return cs.login(options)
end

describe("sessions", function()
  before_each(helpers.reset)

  it("cs.login returns a session with the token and the user", function()
    local session, err = login()
    assert.is_nil(err)
    assert.equal(64, #session.token)
    assert.equal(1, session.user.id)
    assert.equal("Analytical Engines Pty Ltd", session.user.organisation.name)
    session:logout()
  end)

  it("cs.login returns nil and the error for wrong credentials", function()
    local session, err = cs.login{ username_or_email = "ada", password = "nope", base_url = helpers.base_url }
    assert.is_nil(session)
    assert.equal("UnAuthorized", err.status)
  end)

  it("cs.login passes client options through and checks them", function()
    helpers.raises("unknown option 'timeuot'", function() login{ timeuot = 1 } end)
    local session = assert(login{ timeout = 5, user_agent = "my-app/2" })
    assert(session:profile())
    assert.equal("my-app/2", helpers.last_request().headers["user-agent"])
    session:logout()
  end)

  it("profile, update, keep_alive work through the session", function()
    local session = assert(login())
    assert.equal("Ada", session:profile().first_name)
    assert.same({ organisation_id = 7, user_id = 1, validation_errors = {} }, session:update{ last_name = "King" })
    assert.equal("King", session:profile().last_name)
    assert.is_true(session:keep_alive())
    session:logout()
  end)

  it("change_password sends all four password members", function()
    local session = assert(login())
    assert(session:change_password(ada.password, "n3w password"))
    assert.same({ WantsToChangePassword = true, OldPassword = ada.password,
                  NewPassword = "n3w password", ConfirmNewPassword = "n3w password" },
      helpers.last_request().parsed)
    session:logout()
    assert.is_nil(login())
    assert.truthy(cs.login{ username_or_email = "ada", password = "n3w password", base_url = helpers.base_url })
  end)

  it("change_password reports validation errors as values", function()
    local session = assert(login())
    local ok, err = session:change_password("wrong", "short")
    assert.is_nil(ok)
    assert.equal("ValidationError", err.status)
    assert.is_true(#err.validation_errors >= 2)
    helpers.raises("old password must be a string", function() session:change_password(nil, "x") end)
    session:logout()
  end)

  it("logout is idempotent and later calls raise a clear error", function()
    local session = assert(login())
    assert.is_true(session:logout())
    assert.is_true(session:logout())
    assert.is_nil(session.token)
    helpers.raises("the session is logged out", function() session:profile() end)
    helpers.raises("the session is logged out", function() session:keep_alive() end)
    helpers.raises("the session is logged out", function() session:update{ first_name = "A" } end)
    assert.equal(0, helpers.session_count())
  end)

  it("logout of a session cs.login made closes its client", function()
    local session = assert(login())
    session:logout()
    assert.equal("chronosheets.client (closed)", tostring(session.client))
  end)

  it("client:session logs in on a client the session does not own", function()
    local client = helpers.client()
    local session = assert(client:session{ username_or_email = "grace", password = helpers.grace.password })
    assert.equal(3, session.user.id)
    assert.equal(3, session:profile().id)
    session:logout()
    assert.matches("^chronosheets.client %(http", tostring(client))
    local _, err = client:session{ username_or_email = "grace", password = "x" }
    assert.equal("UnAuthorized", err.status)
    client:close()
  end)

  it("forgets the token once the server says the session expired", function()
    local session = assert(login())
    helpers.advance_clock(3601)
    local profile, err = session:profile()
    assert.is_nil(profile)
    assert.equal("SessionExpired", err.status)
    assert.is_nil(session.token)
    helpers.raises("the session is logged out", function() session:profile() end)
    assert.is_true(session:logout())
  end)

  it("remember_me keeps a session past the default hour", function()
    local session = assert(login{ remember_me = true })
    helpers.advance_clock(2 * 86400)
    assert.truthy(session:profile())
    session:logout()
  end)

  it("never shows the token in tostring, pairs or errors", function()
    local session = assert(login())
    local token = session.token
    assert.equal("chronosheets.session (ada, logged in)", tostring(session))
    for k, v in pairs(session) do
      assert.not_equal(token, v, "pairs shows the token under " .. tostring(k))
    end
    helpers.advance_clock(3601)
    local _, err = session:profile()
    assert.is_nil(tostring(err):find(token, 1, true))
    assert.equal("chronosheets.session (ada, logged out)", tostring(session))
  end)

  if _VERSION == "Lua 5.4" then
    it("a <close> variable logs out when its scope ends, even by an error", function()
      local chunk = assert(load([[
        local cs, options = ...
        local session <close> = assert(cs.login(options))
        assert(session:profile())
        error("leaving the scope")
      ]]))
      local ok, err = pcall(chunk, cs, { username_or_email = "ada", password = ada.password,
                                         base_url = helpers.base_url })
      assert.is_false(ok)
      assert.matches("leaving the scope", err)
      assert.equal(0, helpers.session_count())
    end)
  end
end)
