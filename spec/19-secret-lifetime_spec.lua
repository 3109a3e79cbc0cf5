-- The secrets a call redacts from its errors (a password, the passwords of
-- a change) must stay alive until the reply is made, even if the caller's
-- table lets go of them during the call: Lua code runs between the request
-- and the redaction (a use_json decode function here; a __gc finalizer
-- could do the same). The core once read them from the table without
-- holding them, and redacted from freed memory (ASan: heap-use-after-free
-- in redact_at); make check runs this file under ASan and valgrind too.
local cjson = require "cjson"
local cs = require "chronosheets"
local helpers = require "helpers"


-- A fresh long string each call (long strings are never shared), so the
-- copy a test keeps does not keep the one it hands over alive.
local function secret(label)
  return ("%s-%s-%08x"):format(label, ("s"):rep(48), os.time() % 0x7fffffff)
end

-- A codec whose decode first clears the given fields of t and collects,
-- so nothing but the module could still hold the strings.
local function clearing_codec(t, fields)
  local inner = helpers.default_codec()
  return {
    decode = function(text)
      for _, f in ipairs(fields) do t[f] = nil end
      collectgarbage()
      collectgarbage()
      return inner.decode(text)
    end,
    encode = inner.encode,
    null = inner.null,
  }
end

local function echo_reply(message)
  helpers.next_reply{ status = 401, content_type = "application/json",
                      body = cjson.encode{ Status = "UnAuthorized", Message = message, Data = cjson.null } }
end

describe("a secret the caller's table drops during the call", function()
  before_each(helpers.reset)
  after_each(function() cs.use_json(helpers.default_codec()) end)

  it("is still redacted from a login error: the core holds the password it sent", function()
    local client = helpers.client()
    local credentials = { username_or_email = "ada", password = secret("pw") }
    local password = secret("pw")
    assert.equal(password, credentials.password)
    echo_reply("wrong password " .. password .. " for ada")
    cs.use_json(clearing_codec(credentials, { "password" }))
    local result, err = client:login(credentials)
    assert.is_nil(result)
    assert.is_nil(credentials.password)
    assert.equal("api", err.kind)
    assert.equal("UnAuthorized", err.status)
    assert.equal("wrong password *** for ada", err.message)
    client:close()
  end)

  it("is still redacted from an update error: the three passwords of a change", function()
    local client = helpers.client()
    local token = helpers.token(client)
    local fields = { wants_to_change_password = true, old_password = secret("old"),
                     new_password = secret("new"), confirm_new_password = secret("new") }
    local old, new = secret("old"), secret("new")
    echo_reply("old " .. old .. ", new " .. new)
    cs.use_json(clearing_codec(fields, { "old_password", "new_password", "confirm_new_password" }))
    local result, err = client:update_my_profile(token, fields)
    assert.is_nil(result)
    assert.is_nil(fields.old_password)
    assert.equal("api", err.kind)
    assert.equal("old ***, new ***", err.message)
    cs.use_json(helpers.default_codec())
    assert.truthy(client:get_my_profile(token))
    client:close()
  end)
end)
