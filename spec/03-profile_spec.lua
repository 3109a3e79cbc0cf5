-- get_my_profile, update_my_profile, keep_session_alive, logout on the client.
local helpers = require "helpers"

local ada = helpers.ada

describe("the token endpoints", function()
  local client, token
  setup(function() client = helpers.client() end)
  teardown(function() client:close() end)
  before_each(function()
    helpers.reset()
    token = helpers.token(client)
  end)

  describe("get_my_profile", function()
    it("returns the logged-in user's profile, snake_case, integers as integers", function()
      local profile, err = client:get_my_profile(token)
      assert.is_nil(err)
      assert.same({
        id = 1, organisation_id = 7, user_name = "ada", first_name = "Ada", last_name = "Lovelace",
        email_address = "ada@example.com", is_subscribed_to_newsletter = false, roles = 15,
        alert_settings = 3, organisation_name = "Analytical Engines Pty Ltd",
        organisation_suburb = "Marylebone", organisation_country = "United Kingdom",
      }, profile)
      if math.type then assert.equal("integer", math.type(profile.id)) end
    end)

    it("is the profile of whoever the token belongs to", function()
      local grace = client:get_my_profile(helpers.token(client, helpers.grace))
      assert.equal(3, grace.id)
      assert.equal(9, grace.organisation_id)
      assert.equal("Compilers Inc", grace.organisation_name)
    end)

    it("sends the token as x-chronosheets-auth and asks for JSON", function()
      assert(client:get_my_profile(token))
      local seen = helpers.last_request()
      assert.equal("GET", seen.method)
      assert.equal("/UserProfile/GetMyProfile", seen.uri)
      assert.equal(token, seen.headers["x-chronosheets-auth"])
      assert.equal("application/json", seen.headers["accept"])
      assert.is_nil(seen.headers["content-type"])
      assert.matches("^chronosheets%-lua/0%.1%.0 libcurl/%d", seen.headers["user-agent"])
    end)

    it("gives SessionExpired for a token the server does not know", function()
      local profile, err = client:get_my_profile(("0"):rep(64))
      assert.is_nil(profile)
      assert.equal("api", err.kind)
      assert.equal("SessionExpired", err.status)
      assert.equal(401, err.http_status)
    end)

    it("raises before sending on a missing, empty or unsendable token", function()
      helpers.raises("token must be a string", function() client:get_my_profile() end)
      helpers.raises("token must be a string, got number", function() client:get_my_profile(42) end)
      helpers.raises("token must not be empty", function() client:get_my_profile("") end)
      for _, bad in ipairs{ "abc\r\nX-Evil: 1", "abc\n", "a\0b", "a b", "caf\195\169" } do
        helpers.raises("token holds a byte that cannot go into a header", function() client:get_my_profile(bad) end)
      end
      helpers.raises("token is too long", function() client:get_my_profile(("a"):rep(4097)) end)
    end)
  end)

  describe("update_my_profile", function()
    it("sends snake_case fields with their wire names and the update reads back", function()
      local result, err = client:update_my_profile(token, { first_name = "Augusta", last_name = "King",
                                                            is_subscribed_to_newsletter = true })
      assert.is_nil(err)
      assert.same({ organisation_id = 7, user_id = 1, validation_errors = {} }, result)
      local seen = helpers.last_request()
      assert.equal("PUT", seen.method)
      assert.equal("application/json; charset=utf-8", seen.headers["content-type"])
      assert.same({ FirstName = "Augusta", LastName = "King", IsSubscribedToNewsletter = true }, seen.parsed)
      local profile = client:get_my_profile(token)
      assert.equal("Augusta", profile.first_name)
      assert.equal("King", profile.last_name)
      assert.is_true(profile.is_subscribed_to_newsletter)
    end)

    it("gives a ValidationError with the server's reasons, and changes nothing", function()
      local result, err = client:update_my_profile(token, { email_address = "not an address", first_name = "" })
      assert.is_nil(result)
      assert.equal("api", err.kind)
      assert.equal("ValidationError", err.status)
      assert.equal(200, err.http_status)
      table.sort(err.validation_errors)
      assert.same({ "Email address is not valid", "First name is required" }, err.validation_errors)
      assert.matches("Email address is not valid", tostring(err))
      assert.equal("Ada", client:get_my_profile(token).first_name)
    end)

    it("changes the password: the old one is refused and the new one accepted", function()
      local result, err = client:update_my_profile(token, {
        wants_to_change_password = true, old_password = ada.password,
        new_password = "analytical engine", confirm_new_password = "analytical engine",
      })
      assert.is_nil(err)
      assert.same({}, result.validation_errors)
      local _, refused = client:login{ username_or_email = "ada", password = ada.password }
      assert.equal("UnAuthorized", refused.status)
      assert.truthy(client:login{ username_or_email = "ada", password = "analytical engine" })
    end)

    it("refuses a password change with a wrong old password", function()
      local _, err = client:update_my_profile(token, {
        wants_to_change_password = true, old_password = "wrong",
        new_password = "analytical engine", confirm_new_password = "analytical engine",
      })
      assert.equal("ValidationError", err.status)
      assert.same({ "Old password is incorrect" }, err.validation_errors)
    end)

    it("raises before sending on an unknown key or a wrong type, naming it", function()
      helpers.raises("unknown field 'frist_name'", function() client:update_my_profile(token, { frist_name = "A" }) end)
      helpers.raises("field 'first_name' must be a string, got number", function() client:update_my_profile(token, { first_name = 1 }) end)
      helpers.raises("field 'is_subscribed_to_newsletter' must be a boolean, got string", function()
        client:update_my_profile(token, { is_subscribed_to_newsletter = "yes" }) end)
      helpers.raises("keys must be field names, got a number key", function() client:update_my_profile(token, { "Ada" }) end)
      helpers.raises("field 'last_name' is too long", function() client:update_my_profile(token, { last_name = ("x"):rep(70000) }) end)
      assert.has_error(function() client:update_my_profile(token) end)
      assert.has_error(function() client:update_my_profile(nil, { first_name = "A" }) end)
      assert.equal("Ada", client:get_my_profile(token).first_name)
    end)

    it("reads the fields table raw: a metatable on it is never consulted", function()
      local fields = setmetatable({ first_name = "Ada" }, {
        __index = function() error("metatable consulted") end,
        __pairs = function() error("metatable consulted") end,
      })
      assert.truthy(client:update_my_profile(token, fields))
    end)
  end)

  describe("keep_session_alive", function()
    it("returns true", function()
      assert.is_true(client:keep_session_alive(token))
    end)

    it("extends a session that was about to expire", function()
      helpers.advance_clock(3500)
      assert.is_true(client:keep_session_alive(token))
      helpers.advance_clock(3500)   -- 7000 s after login: alive only thanks to the keep-alive
      assert.truthy(client:get_my_profile(token))
    end)

    it("cannot revive an expired session", function()
      helpers.advance_clock(3601)
      local ok, err = client:keep_session_alive(token)
      assert.is_nil(ok)
      assert.equal("SessionExpired", err.status)
      local _, again = client:get_my_profile(token)
      assert.equal("SessionExpired", again.status)
    end)
  end)

  describe("logout", function()
    it("returns true and the token is refused afterwards", function()
      assert.is_true(client:logout(token))
      assert.equal("DELETE", helpers.last_request().method)
      local profile, err = client:get_my_profile(token)
      assert.is_nil(profile)
      assert.equal("SessionExpired", err.status)
      assert.equal(0, helpers.session_count())
    end)
  end)

  it("reuses one connection for every call of a client", function()
    local other = helpers.client()
    local t = helpers.token(other)
    assert(other:get_my_profile(t))
    local first = helpers.last_request().connection
    assert(other:keep_session_alive(t))
    assert(other:update_my_profile(t, { first_name = "Ada" }))
    assert(other:get_my_profile(t))
    local last = helpers.last_request()
    assert.equal(first, last.connection)
    assert.equal(5, last.connection_requests)   -- login, profile, keep-alive, update, profile
    other:close()
  end)
end)
