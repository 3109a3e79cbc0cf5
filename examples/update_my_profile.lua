-- client:update_my_profile: PUT /UserProfile/UpdateMyProfile
local cs = require "chronosheets"

local client = cs.client{ base_url = os.getenv("CHRONOSHEETS_BASE_URL") or "http://127.0.0.1:8089" }
local token = assert(client:login{ username_or_email = "charles", password = "difference engine" }).cs_auth_token

local result = assert(client:update_my_profile(token, { first_name = "Charles", last_name = "Babbage" }))
print(("updated user %d of organisation %d"):format(result.user_id, result.organisation_id))

-- Validation errors come back as an error value with the server's reasons.
local _, err = client:update_my_profile(token, {
  wants_to_change_password = true, old_password = "not it",
  new_password = "short", confirm_new_password = "shorter",
})
print(err.status)
for _, reason in ipairs(err.validation_errors) do print(" - " .. reason) end

-- A typo in a field name is a programming error: it raises.
print(pcall(client.update_my_profile, client, token, { frist_name = "C" }))

client:logout(token)
client:close()
