-- client:get_my_profile: GET /UserProfile/GetMyProfile
local cs = require "chronosheets"

local client = cs.client{ base_url = os.getenv("CHRONOSHEETS_BASE_URL") or "http://127.0.0.1:8089" }
local token = assert(client:login{ username_or_email = "grace", password = "n4n0s3c0nds!" }).cs_auth_token

local profile = assert(client:get_my_profile(token))
local keys = {}
for key in pairs(profile) do keys[#keys + 1] = key end
table.sort(keys)
for _, key in ipairs(keys) do
  print(("%-28s %s"):format(key, tostring(profile[key])))
end

client:logout(token)
client:close()
