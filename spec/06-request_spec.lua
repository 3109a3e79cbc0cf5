-- client:request: the rest of the ChronoSheets API, with the same checks.
local helpers = require "helpers"

describe("client:request", function()
  local client, token
  setup(function() client = helpers.client() end)
  teardown(function() client:close() end)
  before_each(function()
    helpers.reset()
    token = helpers.token(client)
  end)

  it("returns the decoded envelope in snake_case", function()
    local envelope, err = client:request("GET", "/UserProfile/GetMyProfile", { token = token })
    assert.is_nil(err)
    assert.equal("Succeeded", envelope.status)
    assert.equal("", envelope.message)
    assert.equal("Ada", envelope.data.first_name)
    if math.type then assert.equal("integer", math.type(envelope.data.id)) end
  end)

  it("sends a table body as JSON, as given (wire names)", function()
    local envelope = assert(client:request("PUT", "/UserProfile/DoLogin",
      { body = { UsernameOrEmail = "ada", Password = helpers.ada.password } }))
    assert.equal(64, #envelope.data.cs_auth_token)
  end)

  it("sends a string body as it is", function()
    local envelope = assert(client:request("PUT", "/UserProfile/UpdateMyProfile",
      { token = token, body = '{"LastName":"Byron"}' }))
    assert.same({}, envelope.data.validation_errors)
    assert.equal('{"LastName":"Byron"}', helpers.last_request().body)
  end)

  it("returns api errors like the endpoint methods", function()
    local _, err = client:request("GET", "/UserProfile/GetMyProfile", { token = ("f"):rep(64) })
    assert.equal("api", err.kind)
    assert.equal("SessionExpired", err.status)
  end)

  it("raises on a bad method, path or option", function()
    helpers.raises("invalid option 'FETCH'", function() client:request("FETCH", "/x") end)
    helpers.raises("invalid option 'get'", function() client:request("get", "/x") end)
    helpers.raises("path must start with '/'", function() client:request("GET", "x") end)
    helpers.raises("path holds a space", function() client:request("GET", "/a b") end)
    helpers.raises("path holds a space", function() client:request("GET", "/a\r\nHost: evil") end)
    helpers.raises("unknown option 'tokn'", function() client:request("GET", "/x", { tokn = token }) end)
    helpers.raises("body must be a table or a string, got number", function() client:request("PUT", "/x", { body = 1 }) end)
    helpers.raises("body cannot be encoded as JSON", function() client:request("PUT", "/x", { body = { f = print } }) end)
    helpers.raises("token holds a byte", function() client:request("GET", "/x", { token = "a\nb" }) end)
    -- the token comes from the options table, so the error blames that argument
    helpers.raises("bad argument #3 to 'request' (token must be a string, got table)",
      function() client:request("GET", "/x", { token = {} }) end)
  end)
end)
