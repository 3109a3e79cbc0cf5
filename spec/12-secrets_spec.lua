-- Secrets: a canary password and token must never show up in an error
-- message (not even a piece of one), in tostring of any object, in what
-- the process prints, or in what another host or a proxy receives. A
-- session forgets its token on logout or SessionExpired and then sends
-- nothing. ~/.netrc is never read.
local cjson = require "cjson"
local cs = require "chronosheets"
local helpers = require "helpers"

local ada = helpers.ada

-- A password no other test uses, with a random part: any 8 bytes of it
-- found anywhere count as a leak.
math.randomseed(os.time())
local CANARY = ("canary-%08x-%08x"):format(math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))
-- One that JSON must escape: a server may echo it either way.
local SPECIAL = ('q"uo\\te/\tsl%08x\r\n'):format(math.random(0, 0x7fffffff))

local function leaks(text, secret)
  text = tostring(text)
  for i = 1, #secret - 7 do
    local piece = secret:sub(i, i + 7)
    if text:find(piece, 1, true) then return piece end
  end
  return nil
end

-- Every string reachable in value (tables walked, keys too) and its tostring.
local function assert_clean(value, secret, where)
  local seen = {}
  local function walk(v, path)
    local piece = leaks(tostring(v), secret)
    assert.is_nil(piece, ("%s%s holds %q of a secret"):format(where, path, tostring(piece)))
    if type(v) == "table" and not seen[v] then
      seen[v] = true
      for k, x in pairs(v) do
        walk(k, path .. "[key]")
        walk(x, path .. "." .. tostring(k))
      end
    end
  end
  walk(value, "")
end

-- JSON-escaped without lua-cjson's \/ for / (the spec below adds that form).
local function json_escaped(s)
  return (cjson.encode(s):sub(2, -2):gsub("\\/", "/"))
end

describe("secrets", function()
  local client, token

  setup(function() client = helpers.client{ timeout = 5 } end)
  teardown(function()
    client:close()
    helpers.reset()   -- ada's password back for whatever runs next
  end)
  before_each(function()
    helpers.reset()
    -- ada's password becomes the canary (reset puts it back)
    local t = helpers.token(client)
    assert(client:update_my_profile(t, { wants_to_change_password = true, old_password = ada.password,
                                         new_password = CANARY, confirm_new_password = CANARY }))
    client:logout(t)
    token = assert(client:login{ username_or_email = "ada", password = CANARY }).cs_auth_token
  end)

  local function login_err(password)
    local login, err = client:login{ username_or_email = "ada", password = password or CANARY }
    assert.is_nil(login)
    return err
  end
  local function profile_err()
    local profile, err = client:get_my_profile(token)
    assert.is_nil(profile)
    return err
  end

  describe("in error messages", function()
    -- Where a broken server might echo a secret back.
    local function echoes(secret)
      local cases = {}
      for _, before in ipairs{ 0, 100, 150, 155, 158, 159, 160, 161 } do
        cases[#cases + 1] = { "at byte " .. before .. " of an HTML page", 502, "text/html",
                              ("<"):rep(before) .. secret .. (">"):rep(300) }
        cases[#cases + 1] = { "at byte " .. before .. " of a 200 that is not JSON", 200, "text/plain",
                              ("<"):rep(before) .. secret .. (">"):rep(300) }
      end
      for _, keep in ipairs{ 8, 12, #secret - 1 } do
        cases[#cases + 1] = { "cut short after " .. keep .. " bytes", 502, "text/html",
                              "<p>wrong password " .. secret:sub(1, keep) }
      end
      cases[#cases + 1] = { "JSON-escaped in a JSON body that is not an envelope", 502, "application/json",
                            '{"error":"bad password ' .. json_escaped(secret) .. '"}' }
      cases[#cases + 1] = { "JSON-escaped in truncated JSON", 200, "application/json",
                            '{"Data":{"Echo":"' .. json_escaped(secret) .. '"' }
      cases[#cases + 1] = { "in Message", 401, "application/json",
                            cjson.encode{ Data = cjson.null, Status = "UnAuthorized", Message = "no: " .. secret } }
      cases[#cases + 1] = { "in Status", 200, "application/json",
                            cjson.encode{ Data = cjson.null, Status = "Bad" .. secret, Message = "" } }
      cases[#cases + 1] = { "in ValidationErrors", 200, "application/json",
                            cjson.encode{ Data = { OrganisationId = 7, UserId = 1, ValidationErrors = { "x " .. secret } },
                                          Status = "ValidationError", Message = "invalid" } }
      return cases
    end

    for _, case in ipairs(echoes(CANARY)) do
      it("never holds the password echoed " .. case[1], function()
        helpers.next_reply{ status = case[2], content_type = case[3], body = case[4] }
        assert_clean(login_err(), CANARY, "login error")
      end)
    end

    it("never holds a password with quotes, backslash, slash, tab, CR, LF echoed raw or JSON-escaped", function()
      local cases = echoes(SPECIAL)
      cases[#cases + 1] = { "escaped as lua-cjson does (\\/)", 502, "application/json",
                            '{"error":"' .. cjson.encode(SPECIAL):sub(2, -2) .. '"' }
      for _, case in ipairs(cases) do
        helpers.next_reply{ status = case[2], content_type = case[3], body = case[4] }
        assert_clean(login_err(SPECIAL), SPECIAL, "login error (" .. case[1] .. ")")
      end
    end)

    it("never holds a piece of a password with a NUL byte, echoed in Message, Status or the body", function()
      local with_nul = CANARY .. "\0" .. CANARY:upper()
      for _, body in ipairs{
        cjson.encode{ Data = cjson.null, Status = "UnAuthorized", Message = "no: " .. with_nul },
        cjson.encode{ Data = cjson.null, Status = "Bad" .. with_nul, Message = "" },
        "<p>" .. with_nul .. "</p>",
      } do
        helpers.next_reply{ status = 401, content_type = "application/json", body = body }
        local err = login_err(with_nul)
        assert_clean(err, CANARY, "login error")
        assert_clean(err, CANARY:upper(), "login error")
      end
    end)

    it("never holds the token echoed anywhere in a reply", function()
      -- the token is known only once logged in, so the cases are built here
      local t = token
      for _, case in ipairs(echoes(t)) do
        helpers.next_reply{ status = case[2], content_type = case[3], body = case[4] }
        assert_clean(profile_err(), t, "profile error (" .. case[1] .. ")")
      end
    end)

    it("never holds the passwords of update_my_profile echoed back", function()
      local new = CANARY .. "-new"
      helpers.next_reply{ status = 502, content_type = "text/html",
                          body = ("<"):rep(150) .. new .. " " .. CANARY .. " " .. token }
      local _, err = client:update_my_profile(token, { wants_to_change_password = true, old_password = CANARY,
                                                       new_password = new, confirm_new_password = new })
      assert_clean(err, CANARY, "update error")
      assert_clean(err, new, "update error")
      assert_clean(err, token, "update error")
    end)

    it("never holds a secret in transport errors (faults, TLS, proxy)", function()
      local places = helpers.faults()
      for _, fault in ipairs{ "short", "reset", "bad_chunk" } do
        helpers.next_fault(fault)
        assert_clean(login_err(), CANARY, fault .. " error")
        helpers.next_fault(fault)
        assert_clean(profile_err(), token, fault .. " error")
      end
      local tls = cs.client{ base_url = places.tls_expired_url, ca_file = places.ca_file }
      local _, err = tls:login{ username_or_email = "ada", password = CANARY }
      assert_clean(err, CANARY, "TLS error")
      tls:close()
    end)
  end)

  describe("in objects", function()
    it("tostring and the fields of a client, a session, a login and an error hold neither", function()
      local session = assert(client:session{ username_or_email = "ada", password = CANARY })
      local t = session.token   -- the documented way to read it
      local login = assert(client:login{ username_or_email = "ada", password = CANARY })
      helpers.next_reply{ status = 500, content_type = "text/plain", body = "echo " .. t }
      local _, err = client:get_my_profile(t)
      for _, secret in ipairs{ CANARY, t } do
        assert_clean(tostring(client), secret, "tostring(client)")
        assert_clean(session, secret, "session")   -- pairs: the token lives elsewhere
        assert_clean(err, secret, "error")
      end
      assert_clean(tostring(session), t, "tostring(session)")
      -- the login result is where the caller gets the token; nothing else holds the password
      assert_clean(login, CANARY, "login result")
      session:logout()
    end)
  end)

  describe("in what the process prints", function()
    it("prints nothing at all, on success or failure (no debug output)", function()
      local out = helpers.run_lua({ T_PW = CANARY }, [[
        local cs = require "chronosheets"
        local client = cs.client{ base_url = os.getenv("CHRONOSHEETS_BASE_URL"), timeout = 5 }
        local login = assert(client:login{ username_or_email = "ada", password = os.getenv("T_PW") })
        assert(client:get_my_profile(login.cs_auth_token))
        client:login{ username_or_email = "ada", password = "wrong" .. os.getenv("T_PW") }
        client:get_my_profile("0123456789abcdef")
        client:logout(login.cs_auth_token)
        client:close()
      ]])
      assert.equal("", out)
    end)
  end)

  describe("at another host", function()
    it("a redirect of the login or of a call with the token takes neither there", function()
      local places = helpers.faults()
      for _, status in ipairs{ 301, 302, 307, 308 } do
        helpers.next_reply{ status = status, content_type = "text/html", body = "",
                            headers = { Location = places.recorder_url .. "/UserProfile/DoLogin" } }
        login_err()
        helpers.next_reply{ status = status, content_type = "text/html", body = "",
                            headers = { Location = places.recorder_url .. "/UserProfile/GetMyProfile" } }
        profile_err()
      end
      local recorded = helpers.recorded()
      assert.equal(0, #recorded.recorder)
      assert_clean(recorded, CANARY, "recorder")
      assert_clean(recorded, token, "recorder")
    end)

    it("a proxy tunnelling https sees neither, through a whole session", function()
      local places = helpers.faults()
      local session = assert(cs.login{ username_or_email = "ada", password = CANARY, base_url = places.tls_url,
                                       ca_file = places.ca_file, proxy = places.proxy_url })
      local t = session.token
      assert(session:profile())
      assert(session:update{ first_name = "Augusta" })
      assert(session:change_password(CANARY, CANARY .. "2"))
      assert.is_true(session:logout())
      local proxied = helpers.recorded().proxy
      assert.is_true(#proxied >= 1)
      for _, secret in ipairs{ CANARY, CANARY .. "2", t } do
        assert_clean(proxied, secret, "proxy record")
      end
    end)
  end)

  describe("after the session ends", function()
    local function same_request(a, b)
      return a.uri == b.uri and a.connection == b.connection and a.connection_requests == b.connection_requests
    end

    it("logout forgets the token, and later calls raise without a request", function()
      local session = assert(client:session{ username_or_email = "ada", password = CANARY })
      assert.is_true(session:logout())
      assert.is_nil(session.token)
      local last = helpers.last_request()
      assert.equal("/UserProfile/DoLogout", last.uri)
      helpers.raises("logged out", function() session:profile() end)
      helpers.raises("logged out", function() session:keep_alive() end)
      helpers.raises("logged out", function() session:update{ first_name = "A" } end)
      helpers.raises("logged out", function() session:change_password(CANARY, "x") end)
      assert.is_true(same_request(last, helpers.last_request()), "a request was sent after logout")
    end)

    it("SessionExpired forgets the token, and later calls raise without a request", function()
      local session = assert(client:session{ username_or_email = "ada", password = CANARY })
      helpers.advance_clock(3601)
      local profile, err = session:profile()
      assert.is_nil(profile)
      assert.equal("SessionExpired", err.status)
      assert.is_nil(session.token)
      local last = helpers.last_request()
      helpers.raises("logged out", function() session:profile() end)
      helpers.raises("logged out", function() session:keep_alive() end)
      assert.is_true(same_request(last, helpers.last_request()), "a request was sent after SessionExpired")
      assert.is_true(session:logout())   -- still idempotent, still no request
      assert.is_true(same_request(last, helpers.last_request()))
    end)
  end)

  describe("~/.netrc", function()
    it("is never read: no Authorization header even when it names the host", function()
      local home = os.tmpname()
      os.remove(home)
      assert(os.execute("mkdir -m 700 " .. home))
      local f = assert(io.open(home .. "/.netrc", "w"))
      f:write("machine 127.0.0.1 login ada password ", CANARY, "\ndefault login ada password ", CANARY, "\n")
      f:close()
      local out = helpers.run_lua({ HOME = home }, [[
        local cs = require "chronosheets"
        local client = cs.client{ base_url = os.getenv("CHRONOSHEETS_BASE_URL"), timeout = 5 }
        client:get_my_profile("0123456789abcdef")
      ]])
      os.remove(home .. "/.netrc")
      os.remove(home)
      assert.equal("", out)
      local last = helpers.last_request()
      assert.equal("/UserProfile/GetMyProfile", last.uri)
      assert.is_nil(last.headers.authorization)
      assert_clean(last, CANARY, "request")
    end)
  end)
end)
