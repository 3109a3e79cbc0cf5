-- Bad input from the caller: every public function, each argument wrong in
-- each way that matters, raises an error naming what was wrong before
-- anything is sent, and the client still works afterwards.
local cs = require "chronosheets"
local helpers = require "helpers"

local ada = helpers.ada

-- A table whose metatable raises on any use: the module must read tables
-- raw, so it never notices.
local function hostile(t)
  local function boom() error("metatable consulted") end
  return setmetatable(t, { __index = boom, __newindex = boom, __pairs = boom, __len = boom })
end

local function huge_table()
  local t = {}
  for i = 1, 100000 do t["field" .. i] = i end
  return t
end

describe("bad input", function()
  local client, token
  setup(function() client = helpers.client() end)
  teardown(function() client:close() end)
  before_each(function()
    helpers.reset()
    token = helpers.token(client)
  end)

  -- Runs each case, asserting it raises with the fragment, that the
  -- emulator received nothing meanwhile (its last request is the same),
  -- and that the client still works.
  local function all_raise(cases)
    local seen = helpers.last_request()
    for _, case in ipairs(cases) do
      helpers.raises(case[1], case[2])
    end
    assert.same(seen, helpers.last_request(), "a bad call reached the server")
    assert.equal("Ada", assert(client:get_my_profile(token)).first_name)
  end

  local bad_tokens = {
    { "token must be a string", nil },
    { "token must be a string, got number", 42 },
    { "token must be a string, got table", {} },
    { "token must not be empty", "" },
    { "token is too long", ("a"):rep(5000) },
    { "token holds a byte that cannot go into a header", "abc\r\nX-Evil: 1" },
    { "token holds a byte that cannot go into a header", "abc\n" },
    { "token holds a byte that cannot go into a header", "abc\0def" },
    { "token holds a byte that cannot go into a header", "caf\195\169" },
  }

  for _, method in ipairs{ "get_my_profile", "keep_session_alive", "logout" } do
    it(method .. " refuses every bad token", function()
      local cases = {}
      for _, bad in ipairs(bad_tokens) do
        cases[#cases + 1] = { bad[1], function() return client[method](client, bad[2]) end }
        cases[#cases + 1] = { bad[1], function() return client[method .. "_async"](client, bad[2], function() end) end }
      end
      all_raise(cases)
    end)
  end

  it("update_my_profile refuses bad tokens and bad fields", function()
    local cases = {}
    for _, bad in ipairs(bad_tokens) do
      cases[#cases + 1] = { bad[1], function() return client:update_my_profile(bad[2], { first_name = "A" }) end }
    end
    for _, case in ipairs{
      { "table expected", nil },
      { "table expected, got string", "first_name=A" },
      { "unknown field 'frist_name'", { frist_name = "A" } },
      { "unknown field 'field", huge_table() },
      { "keys must be field names, got a number key", { "A" } },
      { "keys must be field names, got a boolean key", { [true] = "A" } },
      { "field 'first_name' must be a string, got number", { first_name = 1 } },
      { "field 'first_name' must be a string, got table", { first_name = {} } },
      { "field 'first_name' is too long", { first_name = ("x"):rep(70000) } },
      { "field 'last_name' is not valid UTF-8", { last_name = "\192\128" } },          -- overlong
      { "field 'last_name' is not valid UTF-8", { last_name = "\237\160\128" } },      -- a surrogate
      { "field 'last_name' is not valid UTF-8", { last_name = "abc\255" } },
      { "field 'email_address' is not valid UTF-8", { email_address = "\244\144\128\128" } }, -- past U+10FFFF
      { "field 'is_subscribed_to_newsletter' must be a boolean, got string", { is_subscribed_to_newsletter = "true" } },
      { "field 'wants_to_change_password' must be a boolean, got number", { wants_to_change_password = 1 } },
    } do
      local fields = case[2]
      cases[#cases + 1] = { case[1], function() return client:update_my_profile(token, fields) end }
      cases[#cases + 1] = { case[1], function() return client:update_my_profile_async(token, fields, function() end) end }
    end
    all_raise(cases)
  end)

  it("login refuses bad credentials tables", function()
    local cases = {}
    for _, case in ipairs{
      { "table expected", nil },
      { "table expected, got string", "ada" },
      { "missing field 'username_or_email'", { password = "p" } },
      { "missing field 'password'", { username_or_email = "ada" } },
      { "field 'username_or_email' must not be empty", { username_or_email = "", password = "p" } },
      { "field 'password' must not be empty", { username_or_email = "ada", password = "" } },
      { "unknown field 'user'", { user = "ada", password = "p" } },
      { "field 'password' must be a string, got boolean", { username_or_email = "ada", password = true } },
      { "field 'password' is not valid UTF-8", { username_or_email = "ada", password = "\128" } },
      { "field 'remember_me' must be a boolean, got number", { username_or_email = "ada", password = "p", remember_me = 1 } },
      { "field 'username_or_email' is too long", { username_or_email = ("a"):rep(70000), password = "p" } },
    } do
      local credentials = case[2]
      cases[#cases + 1] = { case[1], function() return client:login(credentials) end }
      cases[#cases + 1] = { case[1], function() return client:login_async(credentials, function() end) end }
      cases[#cases + 1] = { case[1], function() return client:session(credentials) end }
    end
    all_raise(cases)
  end)

  it("request refuses a bad method, path, options, body or token", function()
    local cases = {
      { "string expected, got no value", function() return client:request() end },
      { "invalid option 'get'", function() return client:request("get", "/x") end },
      { "invalid option 'TRACE'", function() return client:request("TRACE", "/x") end },
      { "path must start with '/'", function() return client:request("GET", "") end },
      { "path must start with '/'", function() return client:request("GET", "http://evil/x") end },
      { "path is too long", function() return client:request("GET", "/" .. ("a"):rep(5000)) end },
      { "path holds a space", function() return client:request("GET", "/a\r\nX: y") end },
      { "path holds a space", function() return client:request("GET", "/a\0b") end },
      { "path holds a space", function() return client:request("GET", "/caf\195\169") end },
      { "unknown option 'headers'", function() return client:request("GET", "/x", { headers = {} }) end },
      { "body must be a table or a string, got boolean", function() return client:request("PUT", "/x", { body = true }) end },
      { "body cannot be encoded as JSON", function() return client:request("PUT", "/x", { body = { f = print } }) end },
    }
    for _, bad in ipairs(bad_tokens) do
      if bad[2] ~= nil then   -- no token is allowed here: request() may go to endpoints without one
        cases[#cases + 1] = { bad[1], function() return client:request("GET", "/x", { token = bad[2] }) end }
      end
    end
    all_raise(cases)
  end)

  it("reads every table raw, so a metatable that raises is never consulted", function()
    local login = assert(client:login(hostile{ username_or_email = "ada", password = ada.password }))
    assert(client:update_my_profile(login.cs_auth_token, hostile{ last_name = "Lovelace" }))
    assert(client:request("GET", "/UserProfile/GetMyProfile", hostile{ token = login.cs_auth_token }))
    local other = cs.client(hostile{ base_url = helpers.base_url, timeout = 5 })
    assert(other:get_my_profile(login.cs_auth_token))
    other:close()
    local session = assert(cs.login(hostile{ username_or_email = "ada", password = ada.password,
                                             base_url = helpers.base_url }))
    assert(session:update(hostile{ first_name = "Ada" }))
    assert(session:logout())
  end)

  it("cs.client refuses bad options, naming them", function()
    all_raise{
      { "unknown option 'timeuot'", function() return cs.client{ timeuot = 1 } end },
      { "unknown option 'number'", function() return cs.client{ 1 } end },
      { "option 'timeout' must be a positive number of seconds, got number", function() return cs.client{ timeout = 0 } end },
      { "option 'timeout' must be a positive number of seconds, got number", function() return cs.client{ timeout = 0 / 0 } end },
      { "option 'connect_timeout' must be a positive number of seconds, got string", function() return cs.client{ connect_timeout = "1" } end },
      { "option 'max_response_bytes' must be a positive integer, got number", function() return cs.client{ max_response_bytes = 0 } end },
      { "option 'max_response_bytes' must be a positive integer, got number", function() return cs.client{ max_response_bytes = 1e300 } end },
      { "option 'user_agent' holds a control character", function() return cs.client{ user_agent = "x\r\nX-Evil: 1" } end },
      { "option 'proxy' holds a control character", function() return cs.client{ proxy = "http://p\n" } end },
      { "option 'ca_file' must be a string, got boolean", function() return cs.client{ ca_file = true } end },
      { "option 'base_url' must start with http:// or https://", function() return cs.client{ base_url = "file:///etc/passwd" } end },
      { "option 'base_url' has no host", function() return cs.client{ base_url = "https://" } end },
      { "option 'base_url' must not hold a query or fragment", function() return cs.client{ base_url = "https://h/?a=1" } end },
    }
  end)

  it("cs.login and the session methods refuse bad arguments", function()
    all_raise{
      { "bad argument #1 to 'login' (table expected, got string)", function() return cs.login("ada") end },
      { "unknown option 'passwd'", function() return cs.login{ username_or_email = "ada", passwd = "x", base_url = helpers.base_url } end },
    }
    local session = assert(client:session{ username_or_email = "ada", password = ada.password })
    all_raise{
      { "unknown field 'nickname'", function() return session:update{ nickname = "A" } end },
      { "old password must be a string", function() return session:change_password(1, "new password") end },
      { "new password must be a string", function() return session:change_password("old", nil) end },
      { "a session expected", function() return session.profile({}) end },
    }
    session:logout()
  end)
end)
