-- client:login and what comes back.
local helpers = require "helpers"

local ada = helpers.ada

describe("client:login", function()
  local client
  setup(function() client = helpers.client() end)
  teardown(function() client:close() end)
  before_each(helpers.reset)

  it("logs in by user name and returns the token and the user, snake_case", function()
    local login, err = client:login{ username_or_email = "ada", password = ada.password }
    assert.is_nil(err)
    assert.is_string(login.cs_auth_token)
    assert.equal(64, #login.cs_auth_token)
    local user = login.logged_in_user
    assert.equal(ada.id, user.id)
    assert.equal(ada.organisation_id, user.organisation_id)
    assert.equal("ada", user.user_name)
    assert.equal("Ada", user.first_name)
    assert.equal("Lovelace", user.last_name)
    assert.equal("ada@example.com", user.email_address)
    assert.equal(15, user.roles)
    assert.equal(3, user.alert_settings)
    assert.is_false(user.setup_wizard_required)
    assert.is_false(user.is_subscribed_to_newsletter)
    assert.is_true(user.is_primary_account)
    local org = user.organisation
    assert.equal(7, org.id)
    assert.equal("Analytical Engines Pty Ltd", org.name)
    assert.equal("Marylebone", org.suburb)
    assert.is_true(org.is_active)
    assert.equal("2026-01-01T00:00:00Z", org.subscription_cycle_start)
    assert.same({ { plan_id = "pro", quantity = 5 } }, org.pricing_plans)
  end)

  it("gives integers as Lua integers", function()
    if not math.type then return end -- Lua 5.1/5.2 and LuaJIT have one number type
    local user = client:login{ username_or_email = "ada", password = ada.password }.logged_in_user
    assert.equal("integer", math.type(user.id))
    assert.equal("integer", math.type(user.organisation_id))
    assert.equal("integer", math.type(user.roles))
    assert.equal("integer", math.type(user.organisation.pricing_plans[1].quantity))
  end)

  it("logs in by e-mail address, in any case", function()
    local login = assert(client:login{ username_or_email = "ADA@Example.com", password = ada.password })
    assert.equal(1, login.logged_in_user.id)
  end)

  it("sends remember_me as RememberMe", function()
    assert(client:login{ username_or_email = "grace", password = helpers.grace.password, remember_me = true })
    assert.same({ UsernameOrEmail = "grace", Password = helpers.grace.password, RememberMe = true },
      helpers.last_request().parsed)
  end)

  it("gives an UnAuthorized api error for a wrong password", function()
    local login, err = client:login{ username_or_email = "ada", password = "incorrect horse" }
    assert.is_nil(login)
    assert.equal("api", err.kind)
    assert.equal("UnAuthorized", err.status)
    assert.equal(401, err.http_status)
    assert.equal("Invalid username/email or password", err.message)
    assert.same({}, err.validation_errors)
    assert.equal("chronosheets api error (UnAuthorized, HTTP 401): Invalid username/email or password",
      tostring(err))
  end)

  it("gives the same error for an unknown user", function()
    local _, err = client:login{ username_or_email = "babbage", password = "x" }
    assert.equal("UnAuthorized", err.status)
  end)

  it("raises before sending when a field is missing, empty, unknown or of the wrong type", function()
    helpers.raises("missing field 'username_or_email'", function() client:login{ password = "p" } end)
    helpers.raises("missing field 'password'", function() client:login{ username_or_email = "ada" } end)
    helpers.raises("field 'username_or_email' must not be empty", function() client:login{ username_or_email = "", password = "p" } end)
    helpers.raises("unknown field 'remember'", function() client:login{ username_or_email = "ada", password = "p", remember = true } end)
    helpers.raises("field 'password' must be a string, got number", function() client:login{ username_or_email = "ada", password = 12 } end)
    helpers.raises("field 'remember_me' must be a boolean, got string", function() client:login{ username_or_email = "ada", password = "p", remember_me = "yes" } end)
    assert.has_error(function() client:login("ada") end)
    assert.equal(0, helpers.session_count())
  end)

  it("sends a password byte for byte: quotes, backslashes, Unicode, control bytes", function()
    local password = 'a"b\\c/é\0\n\t€😀'
    local _, err = client:login{ username_or_email = "ada", password = password }
    assert.equal("UnAuthorized", err.status)
    assert.equal(password, helpers.last_request().parsed.Password)
  end)

  it("raises on a password that is not valid UTF-8", function()
    helpers.raises("field 'password' is not valid UTF-8", function() client:login{ username_or_email = "ada", password = "\255" } end)
  end)
end)
