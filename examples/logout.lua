-- client:logout: DELETE /UserProfile/DoLogout, and the session form.
local cs = require "chronosheets"

local base_url = os.getenv("CHRONOSHEETS_BASE_URL") or "http://127.0.0.1:8089"
local client = cs.client{ base_url = base_url }
local token = assert(client:login{ username_or_email = "ada", password = "correct horse" }).cs_auth_token
print("logout: " .. tostring(client:logout(token)))
local _, err = client:get_my_profile(token)
print("the token afterwards: " .. tostring(err))
client:close()

-- With a session the token is forgotten, and logging out twice is fine.
local session = assert(cs.login{ base_url = base_url, username_or_email = "ada", password = "correct horse" })
print(session:logout(), session:logout(), tostring(session))
print(pcall(session.profile, session))
