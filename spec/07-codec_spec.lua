-- cs.use_json: a host without lua-cjson hands the module its own JSON codec
-- (Neovim's vim.json, say); here dkjson (Debian's lua-dkjson), pure Lua,
-- stands in for it. The results are the same either way: integers as
-- integers, JSON nulls dropped, keys in snake_case.
local dkjson = require "dkjson"
local cs = require "chronosheets"
local helpers = require "helpers"

local ada = helpers.ada

-- The codec contract (README, "Other functions"): decode raises on bad
-- JSON and gives `null` for a JSON null; encode gives a string. dkjson
-- returns nil, position, message instead of raising, and gives nil for a
-- null unless asked for its sentinel, so it is wrapped. Calls are counted
-- to show the module really uses the codec it was given.
local calls = { decode = 0, encode = 0 }
local dkjson_codec = {
  decode = function(text)
    calls.decode = calls.decode + 1
    local value, _, err = dkjson.decode(text, 1, dkjson.null)
    if err then error(err, 0) end
    return value
  end,
  encode = function(value)
    calls.encode = calls.encode + 1
    return dkjson.encode(value)
  end,
  null = dkjson.null,
}

-- A reply with JSON nulls, numbers written as floats ("1.0", "4.2e1") and
-- a member the schema does not know.
local NULLS_REPLY = '{"Status":"Succeeded","Message":"","Data":{"Id":1.0,"OrganisationId":7,'
  .. '"FirstName":null,"LastName":"Lovelace","LastLoginUtc":"2026-12-01T10:00:00Z",'
  .. '"CustomFields":{"FavouriteColour":"blue","ShoeSize":4.2e1,"Nothing":null,"Nested":{"InnerValue":null}}}}'

-- The fields of an error table (its metatable aside).
local function fields(err)
  local t = {}
  for k, v in pairs(err) do t[k] = v end
  return t
end

-- Every main flow on a fresh client, against a fresh emulator; what each
-- returned, with the token (new at every login) left out.
local function flows()
  helpers.reset()
  local results = {}
  local client = helpers.client()
  local login = assert(client:login{ username_or_email = "ada", password = ada.password })
  local token = login.cs_auth_token
  results.token_length = #token
  login.cs_auth_token = nil
  results.login = login
  results.profile = assert(client:get_my_profile(token))
  results.update = assert(client:update_my_profile(token, { first_name = "Augusta",
                                                            is_subscribed_to_newsletter = true }))
  results.updated = assert(client:get_my_profile(token))
  results.keep_alive = assert(client:keep_session_alive(token))
  results.request = assert(client:request("PUT", "/UserProfile/UpdateMyProfile",
                                          { token = token, body = { LastName = "Byron" } }))
  results.request_sent = helpers.last_request().parsed
  helpers.next_reply{ status = 200, content_type = "application/json", body = NULLS_REPLY }
  results.nulls = assert(client:get_my_profile(token))
  local _, wrong_password = client:login{ username_or_email = "ada", password = "incorrect horse" }
  results.wrong_password = fields(wrong_password)
  results.logout = assert(client:logout(token))
  local _, expired = client:get_my_profile(token)
  results.expired = fields(expired)
  client:close()

  local session = assert(cs.login{ base_url = helpers.base_url, username_or_email = "grace",
                                   password = helpers.grace.password })
  results.session_profile = assert(session:profile())
  results.session_logout = assert(session:logout())
  return results
end

describe("cs.use_json", function()
  before_each(function()
    calls.decode, calls.encode = 0, 0
    cs.use_json(dkjson_codec)
  end)
  after_each(function() cs.use_json(helpers.default_codec()) end)

  it("with dkjson gives what lua-cjson gives, flow by flow", function()
    cs.use_json(helpers.default_codec())
    local with_cjson = flows()
    assert.equal(0, calls.decode)
    cs.use_json(dkjson_codec)
    local with_dkjson = flows()
    assert.same(with_cjson, with_dkjson)
    -- every reply went through dkjson, and the one table body too
    assert.is_true(calls.decode >= 10)
    assert.equal(1, calls.encode)
  end)

  it("with dkjson gives integers as integers, even from 1.0 and 4.2e1", function()
    local r = flows()
    assert.equal(1, r.profile.id)
    assert.equal(1, r.nulls.id)
    assert.equal(42, r.nulls.custom_fields.shoe_size)
    assert.equal(15, r.login.logged_in_user.roles)
    if math.type then
      assert.equal("integer", math.type(r.login.logged_in_user.id))
      assert.equal("integer", math.type(r.login.logged_in_user.organisation.pricing_plans[1].quantity))
      assert.equal("integer", math.type(r.profile.organisation_id))
      assert.equal("integer", math.type(r.nulls.id))
      assert.equal("integer", math.type(r.nulls.custom_fields.shoe_size))
      assert.equal("integer", math.type(r.update.user_id))
      assert.equal("integer", math.type(r.request.data.user_id))
    end
  end)

  it("with dkjson drops JSON nulls, its sentinel included, and gives snake_case keys", function()
    local r = flows()
    assert.same({ id = 1, organisation_id = 7, last_name = "Lovelace", last_login_utc = "2026-12-01T10:00:00Z",
                  custom_fields = { favourite_colour = "blue", shoe_size = 42, nested = {} } }, r.nulls)
    assert.same({ organisation_id = 7, user_id = 1, validation_errors = {} }, r.update)
    assert.equal("Succeeded", r.request.status)
    assert.same({ LastName = "Byron" }, r.request_sent)
    assert.equal("Augusta", r.updated.first_name)
    assert.is_true(r.updated.is_subscribed_to_newsletter)
    assert.equal("Analytical Engines Pty Ltd", r.login.logged_in_user.organisation.name)
    assert.equal(64, r.token_length)
  end)

  it("with dkjson gives api errors with the server's status and message", function()
    local r = flows()
    assert.equal("api", r.wrong_password.kind)
    assert.equal("UnAuthorized", r.wrong_password.status)
    assert.equal(401, r.wrong_password.http_status)
    assert.equal("api", r.expired.kind)
    assert.equal("SessionExpired", r.expired.status)
  end)

  it("with dkjson turns a reply that is not JSON into a decode error with dkjson's reason", function()
    helpers.reset()
    local client = helpers.client()
    local token = helpers.token(client)
    helpers.next_reply{ status = 200, content_type = "text/html", body = "<html>maintenance</html>" }
    local profile, err = client:get_my_profile(token)
    assert.is_nil(profile)
    assert.equal("decode", err.kind)
    assert.matches("the reply is not JSON %(no valid JSON value at line 1, column 1%)", err.message)
    -- and the next call works
    assert.equal("Ada", assert(client:get_my_profile(token)).first_name)
    client:close()
  end)

  it("raises on a codec without decode and encode functions", function()
    helpers.raises("a JSON codec needs decode and encode functions",
      function() cs.use_json{ decode = dkjson_codec.decode } end)
    helpers.raises("a JSON codec needs decode and encode functions",
      function() cs.use_json{ decode = dkjson_codec.decode, encode = "dkjson" } end)
  end)

  it("can go back to lua-cjson, whose null is then dropped again", function()
    cs.use_json(helpers.default_codec())
    local r = flows()
    assert.equal(0, calls.decode)
    assert.is_nil(r.nulls.first_name)
    assert.same({ favourite_colour = "blue", shoe_size = 42, nested = {} }, r.nulls.custom_fields)
  end)
end)
