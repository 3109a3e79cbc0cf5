-- Everything that can go wrong on the wire comes back as nil, err with the
-- right kind; the client stays usable.
local cjson = require "cjson"
local helpers = require "helpers"

local ada = helpers.ada

local function envelope(data, status, message)
  return cjson.encode{ Data = data, Status = status or "Succeeded", Message = message or "" }
end

describe("errors", function()
  local client, token
  setup(function() client = helpers.client{ timeout = 5 } end)
  teardown(function() client:close() end)
  before_each(function()
    helpers.reset()
    token = helpers.token(client)
  end)
  after_each(function()
    -- whatever a test did to it, the client still works
    assert.equal("Ada", assert(client:get_my_profile(token)).first_name)
  end)

  describe("api", function()
    it("comes from a non-Succeeded Status with HTTP 200 too", function()
      helpers.next_reply{ status = 200, content_type = "application/json",
                          body = envelope(cjson.null, "GeneralError", "Something broke") }
      local profile, err = client:get_my_profile(token)
      assert.is_nil(profile)
      assert.equal("api", err.kind)
      assert.equal("GeneralError", err.status)
      assert.equal("Something broke", err.message)
      assert.equal(200, err.http_status)
      assert.equal("chronosheets api error (GeneralError, HTTP 200): Something broke", tostring(err))
    end)

    it("comes from an envelope on a 5xx", function()
      helpers.next_reply{ status = 500, content_type = "application/json",
                          body = envelope(cjson.null, "FatalException", "Oops") }
      local _, err = client:keep_session_alive(token)
      assert.equal("api", err.kind)
      assert.equal("FatalException", err.status)
      assert.equal(500, err.http_status)
    end)
  end)

  describe("http", function()
    it("comes from a 502 with an HTML page, with the first bytes in the message", function()
      helpers.next_reply{ status = 502, content_type = "text/html",
                          body = "<html><body><h1>502 Bad Gateway</h1></body></html>" }
      local _, err = client:get_my_profile(token)
      assert.equal("http", err.kind)
      assert.equal(502, err.http_status)
      assert.is_nil(err.status)
      assert.matches("HTTP 502", err.message)
      assert.matches("text/html", err.message)
      assert.matches("<h1>502 Bad Gateway</h1>", err.message, 1, true)
    end)

    it("comes from an unknown path", function()
      local _, err = client:request("GET", "/NoSuchThing")
      assert.equal("http", err.kind)
      assert.equal(404, err.http_status)
    end)

    it("comes from a redirect, which is not followed", function()
      helpers.next_reply{ status = 302, content_type = "text/html", body = "moved",
                          headers = { Location = helpers.refused_url .. "/UserProfile/GetMyProfile" } }
      local _, err = client:get_my_profile(token)
      assert.equal("http", err.kind)
      assert.equal(302, err.http_status)
    end)

    it("comes from an empty 503", function()
      helpers.next_reply{ status = 503, content_type = "text/plain", body = "" }
      local _, err = client:get_my_profile(token)
      assert.equal("http", err.kind)
      assert.equal(503, err.http_status)
      assert.matches("empty body", err.message)
    end)
  end)

  describe("decode", function()
    local cases = {
      { "an HTML page with 200", "text/html", "<html>hello</html>", "not JSON" },
      { "truncated JSON", "application/json", '{"Data":{"Id":1,', "not JSON" },
      { "a top-level array", "application/json", "[1,2,3]", "not a JSON object" },
      { "a top-level string", "application/json", '"Succeeded"', "not a JSON object" },
      { "NaN", "application/json", '{"Status":"Succeeded","Data":{"Id":NaN}}', "not JSON" },
      { "a hex number", "application/json", '{"Status":"Succeeded","Data":{"Id":0x10}}', "not JSON" },
      { "no Status", "application/json", '{"Data":{}}', "no Status string" },
      { "a Status that is not a string", "application/json", '{"Data":{},"Status":1}', "no Status string" },
      { "Data that is not an object", "application/json", envelope("profile"), "Data should be UserProfile, got string" },
      { "a member of the wrong type", "application/json", envelope{ Id = "one" },
        "member Id of UserProfile should be an integer, got string" },
      { "a fractional integer", "application/json", envelope{ Id = 1.5 },
        "member Id of UserProfile should be an integer, got number" },
      { "JSON nested too deep", "application/json", ("["):rep(100000) .. ("]"):rep(100000), "not JSON" },
    }
    for _, case in ipairs(cases) do
      it("comes from " .. case[1], function()
        helpers.next_reply{ status = 200, content_type = case[2], body = case[3] }
        local profile, err = client:get_my_profile(token)
        assert.is_nil(profile)
        assert.equal("decode", err.kind)
        assert.equal(200, err.http_status)
        assert.truthy(err.message:find(case[4], 1, true), err.message)
        assert.truthy(err.message:find("HTTP 200, " .. case[2], 1, true), err.message)
      end)
    end

    for name, token_json in pairs{ missing = "", null = '"CSAuthToken":null,', empty = '"CSAuthToken":"",',
                                   ["not a string"] = '"CSAuthToken":12,',
                                   ["holding CR LF"] = '"CSAuthToken":"abc\\r\\nX-Evil: 1",',
                                   ["holding NUL"] = '"CSAuthToken":"abc\\u0000def",',
                                   ["over 4 KiB"] = '"CSAuthToken":"' .. ("a"):rep(4097) .. '",' } do
      it("comes from a login reply whose token is " .. name, function()
        helpers.next_reply{ status = 200, content_type = "application/json",
                            body = '{"Data":{' .. token_json .. '"LoggedInUser":{"Id":1}},"Status":"Succeeded","Message":""}' }
        local login, err = client:login{ username_or_email = "ada", password = ada.password }
        assert.is_nil(login)
        assert.equal("decode", err.kind)
      end)
    end
  end)

  describe("transport", function()
    it("comes from a refused connection, at once", function()
      local refused = helpers.client{ base_url = helpers.refused_url, connect_timeout = 2 }
      local started = helpers.now()
      local profile, err = refused:get_my_profile(token)
      assert.is_nil(profile)
      assert.equal("transport", err.kind)
      assert.equal(7, err.curl_code)   -- CURLE_COULDNT_CONNECT
      assert.is_nil(err.http_status)
      assert.matches("chronosheets transport error: ", tostring(err))
      assert.is_true(helpers.now() - started < 2)
      refused:close()
    end)

    it("comes from a reply slower than the timeout, within about the timeout", function()
      local impatient = helpers.client{ timeout = 0.5 }
      helpers.set_delay(3000)
      local started = helpers.now()
      local profile, err = impatient:get_my_profile(token)
      local elapsed = helpers.now() - started
      helpers.set_delay(0)
      assert.is_nil(profile)
      assert.equal("transport", err.kind)
      assert.equal(28, err.curl_code)  -- CURLE_OPERATION_TIMEDOUT
      assert.matches("timed out", err.message)
      assert.is_true(elapsed >= 0.45 and elapsed < 1.5 * helpers.time_factor, "took " .. elapsed .. " s")
      assert.truthy(impatient:get_my_profile(token))
      impatient:close()
    end)

    it("comes from a reply over max_response_bytes", function()
      local small = helpers.client{ max_response_bytes = 100 }
      local _, err = small:get_my_profile(token)
      assert.equal("transport", err.kind)
      assert.matches("larger than max_response_bytes", err.message)
      small:close()
    end)
  end)

  describe("mapping", function()
    it("drops JSON nulls and keeps unknown members in snake_case", function()
      helpers.next_reply{ status = 200, content_type = "application/json", body = envelope{
        Id = 1, FirstName = cjson.null, LastLoginUtc = "2026-12-01T10:00:00Z",
        CustomFields = { FavouriteColour = "blue", ShoeSize = 42, Nothing = cjson.null },
      } }
      local profile = assert(client:get_my_profile(token))
      assert.is_nil(profile.first_name)
      assert.equal("2026-12-01T10:00:00Z", profile.last_login_utc)
      assert.same({ favourite_colour = "blue", shoe_size = 42 }, profile.custom_fields)
      if math.type then assert.equal("integer", math.type(profile.custom_fields.shoe_size)) end
    end)
  end)

  describe("secrets", function()
    it("never puts the password or the token in an error, even when the server echoes them", function()
      local password = "canary-password-1234"
      helpers.next_reply{ status = 401, content_type = "application/json",
                          body = envelope(cjson.null, "UnAuthorized", "Wrong password " .. password) }
      local _, err = client:login{ username_or_email = "ada", password = password }
      assert.is_nil(tostring(err):find(password, 1, true))
      assert.equal("Wrong password ***", err.message)

      helpers.next_reply{ status = 500, content_type = "text/html", body = "<p>token " .. token .. "</p>" }
      local _, err2 = client:get_my_profile(token)
      assert.is_nil(tostring(err2):find(token, 1, true))
      assert.matches("token %*%*%*", err2.message)
    end)
  end)
end)
