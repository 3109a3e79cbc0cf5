-- memory.lua: what one client and one session hold, averaged over K of
-- each kept alive at once. Prints "WHAT LUA_BYTES C_BYTES" lines: the Lua
-- heap (collectgarbage "count") and the rest of what malloc holds
-- (libcurl, OpenSSL, our buffers; Lua's own heap is malloc'd too, so it
-- is taken out) per object, then "peak_rss_kb N".
--
-- Environment: BENCH_URL, BENCH_TLS_URL, BENCH_CA, BENCH_TOKEN.

local probe = require "probe"
local cs = require "chronosheets"

local K = 50
local url, tls_url, ca = os.getenv("BENCH_URL"), os.getenv("BENCH_TLS_URL"), os.getenv("BENCH_CA")
local token = os.getenv("BENCH_TOKEN")

local function snapshot()
  collectgarbage("collect")
  collectgarbage("collect")
  return collectgarbage("count") * 1024, probe.malloc_bytes()
end

local function report(what, before_lua, before_c)
  local lua_bytes, c_bytes = snapshot()
  local lua_delta = lua_bytes - before_lua
  print(("%s %d %d"):format(what, lua_delta // K, (c_bytes - before_c - lua_delta) // K))
end

-- Whatever is allocated once per process (curl's and OpenSSL's global
-- state, the codec) is paid here, before measuring.
do
  local warm = cs.client { base_url = tls_url, ca_file = ca }
  assert(warm:get_my_profile(token))
  warm:close()
  warm = cs.client { base_url = url }
  assert(warm:get_my_profile(token))
  warm:close()
end

local function clients(label, options)
  local held = {}
  local lua0, c0 = snapshot()
  for i = 1, K do held[i] = cs.client(options) end
  report(label .. "_idle", lua0, c0)
  for i = 1, K do assert(held[i]:get_my_profile(token)) end
  report(label .. "_connected", lua0, c0)
  for i = 1, K do held[i]:close() end
end

clients("client", { base_url = url })
clients("client_tls", { base_url = tls_url, ca_file = ca })

do
  local client = cs.client { base_url = url }
  assert(client:get_my_profile(token))
  local sessions = {}
  local lua0, c0 = snapshot()
  for i = 1, K do
    sessions[i] = assert(client:session { username_or_email = "ada", password = "correct horse" })
  end
  report("session", lua0, c0)
  client:close()
end

print(("peak_rss_kb %d"):format(probe.peak_rss_kb()))
