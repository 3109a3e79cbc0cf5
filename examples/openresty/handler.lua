-- The request handlers of examples/openresty/nginx.conf.
--
-- One service account (CHRONOSHEETS_USER / CHRONOSHEETS_PASSWORD) logs in
-- on first use; its token lives in the lua_shared_dict "chronosheets", so
-- every worker uses the same session, and worker 0 keeps it alive from an
-- ngx.timer.every. Each worker has its own client (a client cannot cross
-- processes). Every call parks only its own request: the worker goes on
-- serving others meanwhile.
local cs = require "chronosheets.resty"
local cjson = require "cjson.safe"

local ngx = ngx
local os_getenv = os.getenv

local KEEPALIVE_EVERY = 10 * 60          -- seconds; sessions last an hour

local _M = {}

local client                             -- this worker's
local shared = ngx.shared.chronosheets

local function credentials()
  return { username_or_email = os_getenv("CHRONOSHEETS_USER"),
           password = os_getenv("CHRONOSHEETS_PASSWORD") }
end

-- The service account's token: the shared one, or a new login.
local function token()
  local t = shared:get("token")
  if t then return t end
  local login, err = client:login(credentials())
  if not login then return nil, err end
  shared:set("token", login.cs_auth_token)
  return login.cs_auth_token
end

-- An expired or logged-out token is dropped, so the next call logs in.
local function settle(result, err)
  if not result and err.status == "SessionExpired" then shared:delete("token") end
  return result, err
end

local function keepalive(premature)
  if premature then return end
  local t = shared:get("token")
  if not t then return end
  local ok, err = settle(client:keep_session_alive(t))
  if not ok then ngx.log(ngx.WARN, "chronosheets keep-alive: ", tostring(err)) end
end

function _M.init_worker()
  client = cs.client{ base_url = os_getenv("CHRONOSHEETS_BASE_URL") or "https://api.chronosheets.com",
                      timeout = 10 }
  if ngx.worker.id() == 0 then
    assert(ngx.timer.every(KEEPALIVE_EVERY, keepalive))
  end
end

local function reply(status, body)
  ngx.status = status
  ngx.header.content_type = "application/json; charset=utf-8"
  ngx.say(cjson.encode(body))
end

local function failure(err)
  return reply(502, { error = { kind = err.kind, status = err.status, message = err.message } })
end

local function ms(seconds) return math.floor(seconds * 1000 + 0.5) end

local function now()
  ngx.update_time()
  return ngx.now()
end

-- GET /profile: the service account's profile.
function _M.profile()
  local t, err = token()
  if not t then return failure(err) end
  local profile
  profile, err = settle(client:get_my_profile(t))
  if not profile then return failure(err) end
  return reply(200, profile)
end

-- GET /flow: a session of its own: login, profile, logout, with how long
-- each took.
function _M.flow()
  local t0 = now()
  local login, err = client:login(credentials())
  if not login then return failure(err) end
  local t1 = now()
  local profile
  profile, err = client:get_my_profile(login.cs_auth_token)
  if not profile then return failure(err) end
  local t2 = now()
  local ok
  ok, err = client:logout(login.cs_auth_token)
  if not ok then return failure(err) end
  local t3 = now()
  return reply(200, { user = login.logged_in_user.user_name, profile = profile, logged_out = ok,
                      milliseconds = { login = ms(t1 - t0), profile = ms(t2 - t1), logout = ms(t3 - t2) } })
end

-- GET /blocking: for comparison only, never in a real handler: the
-- blocking core client stalls the whole worker for the length of the call.
function _M.blocking()
  local t, err = token()
  if not t then return failure(err) end
  local core_client = require("chronosheets.core").client{ base_url = os_getenv("CHRONOSHEETS_BASE_URL") }
  local profile
  profile, err = core_client:get_my_profile(t)
  core_client:close()
  if not profile then return failure(err) end
  return reply(200, profile)
end

return _M
