-- client:request: any other ChronoSheets endpoint, with wire-named bodies.
local cs = require "chronosheets"

local client = cs.client{ base_url = os.getenv("CHRONOSHEETS_BASE_URL") or "http://127.0.0.1:8089" }
local token = assert(client:login{ username_or_email = "ada", password = "correct horse" }).cs_auth_token

local envelope = assert(client:request("GET", "/UserProfile/GetMyProfile", { token = token }))
print(envelope.status, envelope.data.user_name, envelope.data.organisation_name)

local _, err = client:request("GET", "/Timesheets/GetTimesheets", { token = token })
print(tostring(err))

client:logout(token)
client:close()
