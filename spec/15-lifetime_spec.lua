-- Lifetime of a client: close, garbage collection, <close>, and the end
-- of the interpreter. Memory errors here (a double free, a use after
-- free, a leak) do not fail a plain run; they fail the same specs run by
-- make check under ASan and under valgrind (tools/check-asan,
-- tools/check-valgrind).
local cjson = require "cjson"
local helpers = require "helpers"

local ada = helpers.ada
local credentials = { username_or_email = ada.user_name, password = ada.password }

describe("client lifetime", function()
  before_each(helpers.reset)

  it("makes every method of a closed client raise 'client is closed'", function()
    local client = helpers.client()
    client:close()
    local methods = getmetatable(client).__index
    local names = {}
    for name in pairs(methods) do
      if name ~= "close" then names[#names + 1] = name end
    end
    table.sort(names)
    assert.is_true(#names >= 20, "only " .. #names .. " methods")
    for _, name in ipairs(names) do
      local ok, err = pcall(methods[name], client, "0123abcd", {}, function() end)
      assert.is_false(ok, name .. " did not raise")
      assert.truthy(tostring(err):find("client is closed", 1, true), name .. ": " .. tostring(err))
    end
    local last = helpers.last_request()
    assert.is_true(last == nil or last == cjson.null, "a closed client sent a request")
  end)

  it("closes twice, then collects, in every state: fresh, after calls, with calls in flight", function()
    local fresh = helpers.client()
    local used = helpers.client()
    local token = helpers.token(used)
    assert(used:get_my_profile(token))
    local busy = helpers.client()
    local delivered = false
    local call = busy:get_my_profile_async(token, function() delivered = true end)
    for _, client in ipairs{ fresh, used, busy } do
      client:close()
      client:close()
      assert.equal("chronosheets.client (closed)", tostring(client))
    end
    fresh, used, busy = nil, nil, nil   -- luacheck: ignore 311
    collectgarbage()
    collectgarbage()
    assert.is_false(delivered)
    assert.truthy(tostring(call))   -- the call handle outlives its client
    call = nil   -- luacheck: ignore 311
    collectgarbage()
  end)

  it("collects a client never closed, with a call in flight and one delivered but unread", function()
    local client = helpers.client()
    local token = helpers.token(client)
    client:get_my_profile_async(token, function() end)
    client:keep_session_alive_async(token, function() end)
    client:wait(0.001)
    client = nil   -- luacheck: ignore 311
    collectgarbage()
    collectgarbage()
    -- the module still works after its clients went that way
    local next_client = helpers.client()
    assert(next_client:get_my_profile(helpers.token(next_client)))
    next_client:close()
  end)

  if _VERSION == "Lua 5.4" then
    it("closes a <close> client exactly once when its scope ends by an error", function()
      local mt = getmetatable(helpers.client())
      local original, closes = mt.__close, 0
      mt.__close = function(...)
        closes = closes + 1
        return original(...)
      end
      local chunk = assert(load([[
        local helpers, credentials, seen = ...
        local client <close> = helpers.client()
        seen.client = client
        assert(client:login(credentials))
        error("leaving the scope")
      ]]))
      local seen = {}
      local ok, err = pcall(chunk, helpers, credentials, seen)
      mt.__close = original
      assert.is_false(ok)
      assert.matches("leaving the scope", err)
      assert.equal(1, closes)
      assert.equal("chronosheets.client (closed)", tostring(seen.client))
      seen.client:close()   -- still harmless
      seen = nil   -- luacheck: ignore 311
      collectgarbage()
      collectgarbage()
    end)
  end

  it("ends the interpreter cleanly (lua_close) with clients, calls and sessions still alive", function()
    -- Under make check's ASan run the child is the ASan interpreter with
    -- the sanitized core and leak detection: a leak or a bad free at
    -- lua_close prints a report here.
    local out = helpers.run_lua({}, [[
      local cs = require "chronosheets"
      local base_url = os.getenv("CHRONOSHEETS_BASE_URL")
      local credentials = { username_or_email = "ada", password = "correct horse" }
      keep = {}   -- luacheck: ignore 111
      local client = cs.client{ base_url = base_url }
      local token = assert(client:login(credentials)).cs_auth_token
      keep[1] = client
      keep[2] = client:get_my_profile_async(token, function() end)           -- in flight
      keep[3] = assert(cs.login{ username_or_email = "ada", password = "correct horse",
                                 base_url = base_url })                       -- a session
      local closed = cs.client{ base_url = base_url }
      closed:close()
      keep[4] = closed
      local unread = cs.client{ base_url = base_url }
      unread:keep_session_alive_async(token, function() end)
      unread:wait(0.001)
      keep[5] = unread
      cs.client{ base_url = base_url }   -- garbage already
      print("done")
    ]])
    assert.equal("done\n", out)
  end)
end)
