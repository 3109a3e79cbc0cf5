--- chronosheets: a client for the ChronoSheets UserProfile API.
--
-- The C core (chronosheets.core) does the HTTP and the JSON; this layer adds
-- session objects that hold the token for you and forget it when the
-- session ends.
--
--     local cs = require "chronosheets"
--     local session = assert(cs.login{ username_or_email = "ada", password = "..." })
--     print(session:profile().first_name)
--     session:logout()
--
-- Editors: the LuaLS annotations of the whole API (the C core included)
-- are in types/chronosheets.lua; the ones here name those types.

---@type chronosheets.core
local core = require "chronosheets.core"

local error = error
local getmetatable = getmetatable
local next = next
local setmetatable = setmetatable
local tostring = tostring
local type = type

---@type chronosheets
local _M = {
  _VERSION = core.VERSION,
  VERSION = core.VERSION,
  client = core.client,
  use_json = core.use_json,
  curl_version = core.curl_version,
  error_mt = core.error_mt,
}

-- Keys of cs.login{} that are credentials; every other key is a client
-- option.
local credential_keys = { username_or_email = true, password = true, remember_me = true }

---------------------------------------------------------------------------
-- Sessions

---@type chronosheets.Session
local session = {}

-- Tokens live here, not in the session table, so that dumping a session
-- (vim.inspect, a debugger, pairs) never shows one. Weak keys: a session
-- that is collected takes its token with it.
---@type table<chronosheets.Session, string>
local tokens = setmetatable({}, { __mode = "k" })

local session_mt = {
  __index = function(self, key)
    if key == "token" then return tokens[self] end
    return session[key]
  end,
  __tostring = function(self)
    local user = self.user and self.user.user_name or "?"
    return ("chronosheets.session (%s, %s)"):format(tostring(user),
      tokens[self] and "logged in" or "logged out")
  end,
}

---@param self chronosheets.Session
---@param method string
---@return string token
local function check_session(self, method)
  if getmetatable(self) ~= session_mt then
    error(("bad self to session:%s (a session expected)"):format(method), 3)
  end
  local token = tokens[self]
  if not token then
    error(("session:%s: the session is logged out"):format(method), 3)
  end
  return token
end

-- A SessionExpired reply means the token is dead: forget it so later
-- calls fail at once, without a request.
---@generic T
---@param self chronosheets.Session
---@param result T?
---@param err chronosheets.Error?
---@return T?
---@return chronosheets.Error?
local function settle(self, result, err)
  if result == nil and err and err.status == "SessionExpired" then
    tokens[self] = nil
  end
  return result, err
end

---@param client chronosheets.Client
---@param login chronosheets.LoginResult
---@param owns_client boolean?
---@return chronosheets.Session
local function new_session(client, login, owns_client)
  local self = setmetatable({ client = client, user = login.logged_in_user,
                              owns_client = owns_client or false }, session_mt)
  tokens[self] = login.cs_auth_token
  return self
end

--- The profile of the logged-in user (GetMyProfile).
---@return chronosheets.Profile? profile
---@return chronosheets.Error? err
function session:profile()
  local token = check_session(self, "profile")
  return settle(self, self.client:get_my_profile(token))
end

--- Extends the session (KeepSessionAlive); true on success.
---@return true? ok
---@return chronosheets.Error? err
function session:keep_alive()
  local token = check_session(self, "keep_alive")
  return settle(self, self.client:keep_session_alive(token))
end

--- Updates profile fields (UpdateMyProfile): first_name, last_name,
-- email_address, is_subscribed_to_newsletter.
---@param fields chronosheets.ProfileFields
---@return chronosheets.UpdateResult? result
---@return chronosheets.Error? err
function session:update(fields)
  local token = check_session(self, "update")
  return settle(self, self.client:update_my_profile(token, fields))
end

--- Changes the password: sends WantsToChangePassword with the old password
-- and the new one twice.
---@param old_password string
---@param new_password string
---@return chronosheets.UpdateResult? result
---@return chronosheets.Error? err
function session:change_password(old_password, new_password)
  local token = check_session(self, "change_password")
  if type(old_password) ~= "string" then
    error("bad argument #1 to 'change_password' (old password must be a string)", 2)
  end
  if type(new_password) ~= "string" then
    error("bad argument #2 to 'change_password' (new password must be a string)", 2)
  end
  return settle(self, self.client:update_my_profile(token, {
    wants_to_change_password = true,
    old_password = old_password,
    new_password = new_password,
    confirm_new_password = new_password,
  }))
end

--- Logs out (DoLogout) and forgets the token. Idempotent: a session that is
-- already logged out returns true at once. The token is forgotten even when
-- the server cannot be reached, and nil, err then says why.
---@return boolean ok
---@return chronosheets.Error? err
function session:logout()
  if getmetatable(self) ~= session_mt then
    error("bad self to session:logout (a session expected)", 2)
  end
  local token = tokens[self]
  tokens[self] = nil
  local ok, err = true, nil
  if token then
    ok, err = self.client:logout(token)
    -- An already expired session is as logged out as it can be.
    if not ok and err.status == "SessionExpired" then ok, err = true, nil end
  end
  if self.owns_client then
    self.client:close()
  end
  return ok, err
end

--- Logs out; for `local s <close> = cs.login{...}` on Lua 5.4.
session_mt.__close = function(self) self:logout() end

---------------------------------------------------------------------------
-- Logging in

--- client:session{ username_or_email =, password =, remember_me = }
-- Logs in on an existing client; the session uses it but does not close it.
---@param credentials chronosheets.Credentials
---@return chronosheets.Session? session
---@return chronosheets.Error? err
function core.client_methods:session(credentials)
  local login, err = self:login(credentials)
  if not login then return nil, err end
  return new_session(self, login, false)
end

--- cs.login{ username_or_email =, password =, remember_me =, <client options> }
-- Creates a client with the options, logs in, and returns a session that
-- owns the client (logout closes it), or nil, err.
---@param options chronosheets.LoginOptions
---@return chronosheets.Session? session
---@return chronosheets.Error? err
function _M.login(options)
  if type(options) ~= "table" then
    error("bad argument #1 to 'login' (table expected, got " .. type(options) .. ")", 2)
  end
  local credentials, client_options = {}, {}
  for key, value in next, options do   -- raw, as the C core reads tables
    if credential_keys[key] then
      credentials[key] = value
    else
      client_options[key] = value
    end
  end
  local client = core.client(client_options)
  local login, err = client:login(credentials)
  if not login then
    client:close()
    return nil, err
  end
  return new_session(client, login, true)
end

_M.session_mt = session_mt

return _M
