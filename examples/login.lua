-- client:login: PUT /UserProfile/DoLogin
local cs = require "chronosheets"

local client = cs.client{ base_url = os.getenv("CHRONOSHEETS_BASE_URL") or "http://127.0.0.1:8089" }

local login, err = client:login{ username_or_email = "ada@example.com", password = "correct horse" }
assert(login, tostring(err))
local user = login.logged_in_user
print(("token of %d characters for %s (id %d, organisation %d, roles %d)"):format(
  #login.cs_auth_token, user.user_name, user.id, user.organisation_id, user.roles))
for _, plan in ipairs(user.organisation.pricing_plans) do
  print(("plan %s x%d"):format(plan.plan_id, plan.quantity))
end

local nope, why = client:login{ username_or_email = "ada", password = "wrong" }
print(nope, why.kind, why.status, why.http_status, why.message)

client:logout(login.cs_auth_token)
client:close()
