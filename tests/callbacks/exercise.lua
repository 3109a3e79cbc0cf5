-- exercise.lua: drives every path on which libcurl calls back into the
-- module (the write callback, the multi's socket and timer callbacks, the
-- share handle's lock callbacks), under tools/check-callbacks' gdb watch
-- for Lua API calls made with libcurl on the stack. Against the emulator
-- at CHRONOSHEETS_BASE_URL, started with --test.
local cs = require "chronosheets"

local url = assert(os.getenv("CHRONOSHEETS_BASE_URL"), "CHRONOSHEETS_BASE_URL is not set")

-- The emulator's controls, through the curl program, as spec/helpers.lua does.
local function control(method, path, body)
  local cmd = ("curl -sS --max-time 10 -X %s '%s%s'"):format(method, url, path)
  if body then cmd = cmd .. " -H 'Content-Type: application/json' --data '" .. body .. "'" end
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return out
end
control("POST", "/_emulator/reset")
local faults = control("GET", "/_emulator/faults")
local function place(name)
  return (assert(faults:match('"' .. name .. '":"([^"]+)"'), name):gsub("\\/", "/"))
end
local tls_url, ca_file = place("tls_url"), place("ca_file")

local function drain(client)
  while client:wait() > 0 do end
end

-- Blocking calls: the write callback, a reply refused at the cap, an api error.
local client = cs.client { base_url = url, timeout = 5 }
local login = assert(client:login { username_or_email = "ada", password = "correct horse" })
local token = login.cs_auth_token
assert(client:get_my_profile(token))
assert(client:keep_session_alive(token))
assert(client:update_my_profile(token, { first_name = "Ada" }))
local _, err = client:get_my_profile("not-a-token")
assert(err.kind == "api" and err.status == "SessionExpired", tostring(err))
control("POST", "/_emulator/next_fault", '{"name":"big_close"}')
_, err = client:get_my_profile(token)
assert(err.kind == "transport", tostring(err))
control("POST", "/_emulator/next_fault", '{"name":"reset"}')
_, err = client:get_my_profile(token)
assert(err, "a reset mid-body must fail")
local quick = cs.client { base_url = url, timeout = 0.3 }
control("POST", "/_emulator/next_fault", '{"name":"stall"}')
_, err = quick:get_my_profile(token)
assert(err.kind == "transport", tostring(err))
quick:close()

-- Non-blocking calls: socket and timer callbacks through wait(), a callback
-- that raises (its error comes out of wait(), after curl returned), a
-- cancelled call, a fault, a timeout.
local delivered = 0
for _ = 1, 3 do
  client:get_my_profile_async(token, function(e) assert(not e, tostring(e)); delivered = delivered + 1 end)
end
client:get_my_profile_async(token, function() error("never called") end):cancel()
client:keep_session_alive_async(token, function() error("raised by a callback") end)
local ok, raised = pcall(drain, client)
assert(not ok and tostring(raised):find("raised by a callback"), tostring(raised))
drain(client)
assert(delivered == 3, delivered)
control("POST", "/_emulator/next_fault", '{"name":"big_chunked"}')
client:get_my_profile_async(token, function(e) assert(e and e.kind == "transport", tostring(e)) end)
drain(client)
control("POST", "/_emulator/next_fault", '{"name":"silent"}')
client:get_my_profile_async(token, function(e) assert(e and e.kind == "transport", tostring(e)) end, { timeout = 0.3 })
drain(client)

-- The host-loop interface: event_fd, drive_events, drive, drive_timeout.
local fd = client:event_fd()
assert(type(fd) == "number")
client:get_my_profile_async(token, function(e) assert(not e, tostring(e)) end)
local spins = 0
while client:in_flight() > 0 and spins < 100000 do
  local watched, timeout_ms = client:pending()
  for _, w in ipairs(watched) do client:drive(w.fd, w.events) end
  if timeout_ms == 0 then client:drive_timeout() end
  client:drive_events()
  spins = spins + 1
end
assert(client:in_flight() == 0)

-- A client closed by one of its own callbacks, with a call in flight.
local doomed = cs.client { base_url = url }
doomed:get_my_profile_async(token, function() doomed:close() end)
doomed:get_my_profile_async(token, function() end)
drain(doomed)

-- A refused connection, blocking and not.
local dead = cs.client { base_url = "http://127.0.0.1:1", connect_timeout = 1 }
assert(select(2, dead:get_my_profile(token)).kind == "transport")
dead:get_my_profile_async(token, function(e) assert(e.kind == "transport") end)
drain(dead)
dead:close()

-- Shared handles (the share's lock callbacks), over TLS so the TLS session
-- cache is shared too, blocking and not.
local s1 = cs.client { base_url = tls_url, ca_file = ca_file, share = true }
local s2 = cs.client { base_url = tls_url, ca_file = ca_file, share = true }
assert(s1:get_my_profile(token))
assert(s2:get_my_profile(token))
s1:get_my_profile_async(token, function(e) assert(not e, tostring(e)) end)
drain(s1)
s1:close()
s2:close()

-- Calls left in flight at close and at garbage collection.
client:get_my_profile_async(token, function() end)
client:wait(0)
assert(client:logout(token))
client:close()
local forgotten = cs.client { base_url = url }
forgotten:keep_session_alive_async(token, function() end)
forgotten = nil -- luacheck: ignore
collectgarbage()
collectgarbage()
print("exercise: done")
