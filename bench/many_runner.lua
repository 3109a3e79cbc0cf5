-- many_runner.lua: one measurement of many calls at once, in a process of
-- its own (so that its peak RSS is its own); bench/many.lua runs it.
--
--   burst URL METHOD N MAX_CONNECTIONS [memory]
--       one client (MAX_CONNECTIONS, or "default" to leave the option
--       out) starts N METHOD_async calls (get_my_profile or
--       keep_session_alive) at once and runs client:wait() until every
--       callback has run; one call before, also non-blocking, warms up.
--       With "memory", samples the heap as it goes (below).
--   sequential URL N
--       N blocking keep_session_alive calls, one after another.
--
-- Prints one line of NAME=VALUE pairs: wall and CPU seconds of the N
-- calls; for burst also in_flight after, open descriptors (before the
-- client, with its connections kept alive after the calls, after
-- close), RSS in kB (VmRSS before the burst, VmHWM at the end) and the
-- with "memory" the heap growth in bytes at its peak (lua:
-- collectgarbage "count"; malloc: everything malloc holds, the Lua heap
-- included), sampled after starting the calls and after every wait.
-- Sampling costs time (mallinfo2 walks malloc's free lists, more of them
-- the more calls are held), so the timed runs do not sample.
--
-- Environment: BENCH_TOKEN.

local probe = require "probe"
local cs = require "chronosheets"
local util = require "util"

local kind, url = arg[1], arg[2]
local token = os.getenv("BENCH_TOKEN")

if kind == "sequential" then
  local n = tonumber(arg[3])
  local client = cs.client { base_url = url }
  assert(client:keep_session_alive(token))             -- connects
  local cpu0, t0 = probe.cpu(), probe.now()
  for _ = 1, n do
    local ok, err = client:keep_session_alive(token)
    assert(ok == true, tostring(err))
  end
  local t1, cpu1 = probe.now(), probe.cpu()
  client:close()
  print(("wall=%.6f cpu=%.6f"):format(t1 - t0, cpu1 - cpu0))
  return
end

assert(kind == "burst", "unknown runner " .. tostring(kind))
local method, n, max, memory = arg[3], tonumber(arg[4]), arg[5], arg[6] == "memory"
assert(method == "get_my_profile" or method == "keep_session_alive", "unknown method " .. tostring(method))
local start = method .. "_async"

local fds_before = util.fd_count()
local options = { base_url = url }
if max ~= "default" then options.max_connections = tonumber(max) end
local client = cs.client(options)

local done, failed = 0, nil
local function callback(err, result)
  if err or not result then failed = failed or tostring(err) end
  done = done + 1
end

client[start](client, token, callback)                -- warm-up
while client:wait() > 0 do end
assert(done == 1 and not failed, failed)
done = 0

collectgarbage("collect")
collectgarbage("collect")
local lua0, malloc0 = collectgarbage("count") * 1024, probe.malloc_bytes()
local rss0 = util.status_kib("VmRSS")
local lua_peak, malloc_peak = 0, 0
local function sample()
  if not memory then return end
  local lua, malloc = collectgarbage("count") * 1024 - lua0, probe.malloc_bytes() - malloc0
  if lua > lua_peak then lua_peak = lua end
  if malloc > malloc_peak then malloc_peak = malloc end
end

local cpu0, t0 = probe.cpu(), probe.now()
for _ = 1, n do
  client[start](client, token, callback)
end
sample()
while client:wait() > 0 do sample() end
local t1, cpu1 = probe.now(), probe.cpu()

assert(done == n and not failed, failed or ("%d of %d callbacks ran"):format(done, n))
local in_flight = client:in_flight()
local fds_kept = util.fd_count()
client:close()
collectgarbage("collect")
local fds_after = util.fd_count()
print(("wall=%.6f cpu=%.6f in_flight=%d fds_before=%d fds_kept=%d fds_after=%d "
       .. "rss0=%d hwm=%d lua_peak=%d malloc_peak=%d")
  :format(t1 - t0, cpu1 - cpu0, in_flight, fds_before, fds_kept, fds_after,
          rss0, util.status_kib("VmHWM"), lua_peak, malloc_peak))
