-- Non-blocking calls: client:NAME_async(args..., callback) returns at once;
-- client:wait() drives the calls and runs the callbacks (err, result).
local cs = require "chronosheets"
local async = require "chronosheets.async"

local client = cs.client{ base_url = os.getenv("CHRONOSHEETS_BASE_URL") or "http://127.0.0.1:8089" }

client:login_async({ username_or_email = "ada", password = "correct horse" }, function(err, login)
  assert(not err, tostring(err))
  local token = login.cs_auth_token
  -- three calls in flight at once, each with its own callback
  client:get_my_profile_async(token, function(err2, profile)
    print("profile:", err2 or profile.first_name .. " " .. profile.last_name)
  end)
  client:keep_session_alive_async(token, function(err2, ok) print("keep-alive:", err2 or ok) end)
  local slow = client:keep_session_alive_async(token, function() print("never printed") end)
  print("cancelled:", slow:cancel())
end)
while client:wait() > 0 do end

-- The same, written as straight-line code in a coroutine.
async.run(function()
  local login = assert(async.await(client, "login", { username_or_email = "ada", password = "correct horse" }))
  local profile = assert(async.await(client, "get_my_profile", login.cs_auth_token))
  print("in a coroutine:", profile.email_address)
  print("logged out:", async.await(client, "logout", login.cs_auth_token))
end)
while client:wait() > 0 do end

client:login_async({ username_or_email = "ada", password = "wrong" }, function(err)
  print("the error value the blocking call would return:", tostring(err), err.kind, err.status)
end)
while client:wait() > 0 do end
client:close()
