-- client:keep_session_alive: GET /UserProfile/KeepSessionAlive
local cs = require "chronosheets"

local client = cs.client{ base_url = os.getenv("CHRONOSHEETS_BASE_URL") or "http://127.0.0.1:8089" }
local token = assert(client:login{ username_or_email = "ada", password = "correct horse" }).cs_auth_token

for i = 1, 3 do
  print(("keep-alive %d: %s"):format(i, tostring(assert(client:keep_session_alive(token)))))
end

client:logout(token)
local ok, err = client:keep_session_alive(token)
print(ok, tostring(err))
client:close()
