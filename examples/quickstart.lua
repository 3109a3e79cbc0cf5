-- Log in, read the profile, update it, keep the session alive, log out.
-- Runs against the local emulator by default (make demo starts it):
--   CHRONOSHEETS_BASE_URL=http://127.0.0.1:8089 lua5.4 examples/quickstart.lua
local cs = require "chronosheets"

local base_url = os.getenv("CHRONOSHEETS_BASE_URL") or "http://127.0.0.1:8089"

local session, err = cs.login{
  base_url = base_url,
  username_or_email = os.getenv("CHRONOSHEETS_USER") or "ada",
  password = os.getenv("CHRONOSHEETS_PASSWORD") or "correct horse",
}
if not session then
  io.stderr:write("login failed: ", tostring(err), "\n")
  os.exit(1)
end
print(("logged in as %s %s (user %d of organisation %q)"):format(session.user.first_name,
  session.user.last_name, session.user.id, session.user.organisation.name))
print(tostring(session))

local profile = assert(session:profile())
print(("profile: %s <%s>, newsletter: %s"):format(profile.user_name, profile.email_address,
  tostring(profile.is_subscribed_to_newsletter)))

local updated, update_err = session:update{ is_subscribed_to_newsletter = not profile.is_subscribed_to_newsletter }
if updated then
  print(("updated: user %d, %d validation errors"):format(updated.user_id, #updated.validation_errors))
else
  print("update refused: " .. tostring(update_err))
end
print("newsletter now: " .. tostring(assert(session:profile()).is_subscribed_to_newsletter))

print("keep-alive: " .. tostring(assert(session:keep_alive())))

-- A bad update comes back as a value, not an exception.
local _, invalid = session:update{ email_address = "not an address" }
print("invalid update: " .. tostring(invalid))

print("logout: " .. tostring(assert(session:logout())))
print(tostring(session))
