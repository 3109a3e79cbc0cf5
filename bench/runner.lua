-- runner.lua KIND N: makes N GetMyProfile calls one way, after one warm-up
-- call, and prints "WALL_SECONDS CPU_SECONDS PEAK_RSS_KB" for the N calls.
-- bench/bench.lua runs it, plain and under callgrind.
--
--   module        our module, blocking, one client
--   module_tls    the same over HTTPS, ca_file = the bench's throwaway CA
--   socket_http   LuaSocket's socket.http + lua-cjson (a new connection per call)
--   curl_program  the curl program per call, through io.popen, + lua-cjson
--   tls_clients   module_tls over 10 clients, in turn; BENCH_SHARE=1 creates
--                 them with share = true
--
-- Environment: BENCH_URL, BENCH_TLS_URL, BENCH_CA, BENCH_TOKEN.

local probe = require "probe"

local kind, n = arg[1], tonumber(arg[2])
local url = os.getenv("BENCH_URL")
local token = os.getenv("BENCH_TOKEN")
local path = "/UserProfile/GetMyProfile"

local call

if kind == "module" or kind == "module_tls" then
  local cs = require "chronosheets"
  local options = { base_url = url }
  if kind == "module_tls" then
    options = { base_url = os.getenv("BENCH_TLS_URL"), ca_file = os.getenv("BENCH_CA") }
  end
  local client = cs.client(options)
  call = function()
    local profile, err = client:get_my_profile(token)
    if not profile then error(tostring(err)) end
    return profile
  end

elseif kind == "tls_clients" then
  local cs = require "chronosheets"
  local clients, i = {}, 0
  for k = 1, 10 do
    clients[k] = cs.client { base_url = os.getenv("BENCH_TLS_URL"), ca_file = os.getenv("BENCH_CA"),
                             share = os.getenv("BENCH_SHARE") == "1" }
  end
  call = function()
    i = i % #clients + 1
    local profile, err = clients[i]:get_my_profile(token)
    if not profile then error(tostring(err)) end
    return profile
  end

elseif kind == "socket_http" then
  local http = require "socket.http"
  local ltn12 = require "ltn12"
  local cjson = require "cjson"
  local concat = table.concat
  local headers = { accept = "application/json", ["x-chronosheets-auth"] = token }
  call = function()
    local parts = {}
    local _, code = http.request { url = url .. path, headers = headers,
                                   sink = ltn12.sink.table(parts) }
    if code ~= 200 then error("HTTP " .. tostring(code)) end
    return cjson.decode(concat(parts)).Data
  end

elseif kind == "curl_program" then
  local cjson = require "cjson"
  local command = ("curl -sS -H 'Accept: application/json' -H 'x-chronosheets-auth: %s' '%s'")
    :format(token, url .. path)
  call = function()
    local pipe = assert(io.popen(command))
    local body = pipe:read("a")
    pipe:close()
    return cjson.decode(body).Data
  end

else
  error("unknown runner " .. tostring(kind))
end

local profile = call()
assert(profile.id == 1 or profile.Id == 1, "unexpected reply")

local cpu0, t0 = probe.cpu(), probe.now()
for _ = 1, n do
  call()
end
local t1, cpu1 = probe.now(), probe.cpu()
print(("%.6f %.6f %d"):format(t1 - t0, cpu1 - cpu0, probe.peak_rss_kb()))
