-- many.lua: many calls at once on one client (the non-blocking API),
-- against the bench nginx's second server: replies at once, or each 50 ms
-- late. Prints two Markdown tables: 200 keep_session_alive calls, at once
-- and one after another; and 1, 10, 100, 1000 GetMyProfile calls at once.
-- Each measurement runs bench/many_runner.lua in a fresh process, so its
-- peak RSS is its own; nginx's log says which connection carried each
-- request. bench/run sets the environment; `make bench` is the way in.
--
-- BENCH_MANY_ROUNDS=3 runs of each measurement (times are the median).

local util = require "util"

local getenv = os.getenv
local env = {
  lua = getenv("BENCH_LUA"), many_url = getenv("BENCH_MANY_URL"),
  slow_url = getenv("BENCH_SLOW_URL"), log = getenv("BENCH_MANY_LOG"),
}
local ROUNDS = tonumber(getenv("BENCH_MANY_ROUNDS")) or 3
local DELAY_MS = 50                                   -- as bench/nginx.conf.in sleeps



-- Runs many_runner.lua with args; returns its NAME=VALUE pairs, plus the
-- requests nginx logged meanwhile and over how many connections.
local function measure(...)
  local command = env.lua .. " bench/many_runner.lua " .. table.concat({ ... }, " ")
  local before = #util.lines(env.log)
  local out = util.run(command)
  local m = {}
  for k, v in out:gmatch("([%w_]+)=([%d.]+)") do m[k] = tonumber(v) end
  assert(m.wall, "bench: many_runner printed no timing: " .. out)
  local seen, lines = {}, util.lines(env.log)
  m.requests, m.connections = 0, 0
  for i = before + 1, #lines do
    local conn = lines[i]:match("^(%d+)")
    m.requests = m.requests + 1
    if not seen[conn] then seen[conn], m.connections = true, m.connections + 1 end
  end
  return m
end


-- ROUNDS runs of one measurement: per field, the median (times) and the
-- largest value (everything else: connections, descriptors, memory).
local function rounds(...)
  local runs = {}
  for r = 1, ROUNDS do runs[r] = measure(...) end
  local out = {}
  for k in pairs(runs[1]) do
    local values, top = {}, -math.huge
    for r, m in ipairs(runs) do values[r] = m[k]; top = math.max(top, m[k]) end
    out[k] = (k == "wall" or k == "cpu") and util.median(values) or top
    out[k .. "_min"], out[k .. "_max"] = math.min(table.unpack(values)), top
  end
  return out
end

local function duration(s)
  if s >= 1 then return ("%.2f s"):format(s) end
  return ("%.1f ms"):format(s * 1e3)
end


---------------------------------------------------------------------------
-- 200 keep_session_alive calls, each reply 50 ms late.

local N = 200
local SEQ = 20                                        -- timed one after another, then × N / SEQ
util.say("bench: many calls at once, 200 keep_session_alive\n")
local seq = measure("sequential", env.slow_url, SEQ)
local default = rounds("burst", env.slow_url, "keep_session_alive", N, "default")
local wide = rounds("burst", env.slow_url, "keep_session_alive", N, N)

---------------------------------------------------------------------------
-- Scaling: 1 to 1000 GetMyProfile calls at once.

local counts = { 1, 10, 100, 1000 }
local limits = { 16, 100 }
local targets = { { "immediate", env.many_url }, { ("%d ms late"):format(DELAY_MS), env.slow_url } }
local scaling = {}
for _, t in ipairs(targets) do
  for _, limit in ipairs(limits) do
    for _, n in ipairs(counts) do
      util.say(("bench: many calls at once, %d get_my_profile, replies %s, max_connections = %d\n")
        :format(n, t[1], limit))
      local m = rounds("burst", t[2], "get_my_profile", n, limit)
      local heap = measure("burst", t[2], "get_my_profile", n, limit, "memory")
      m.lua_peak, m.malloc_peak = heap.lua_peak, heap.malloc_peak
      scaling[#scaling + 1] = { reply = t[1], limit = limit, n = n, m = m }
    end
  end
end

---------------------------------------------------------------------------
-- The tables.

print()
print(("Many calls at once on one client (client:NAME_async and client:wait()), each reply %d ms late:")
  :format(DELAY_MS))
print()
print(("| %d keep_session_alive calls | time: median (min–max) | connections opened | in_flight() after | open descriptors: before the client → after the calls → after close |")
  :format(N))
print("|---|---:|---:|---:|---:|")
print(("| one after another, blocking (%d timed, × %d) | %s | %d | – | – |")
  :format(SEQ, N // SEQ, duration(seq.wall * N / SEQ), seq.connections))
for _, row in ipairs { { "at once, max_connections = 16 (the default)", default },
                       { ("at once, max_connections = %d"):format(N), wide } } do
  local m = row[2]
  print(("| %s | %s (%s–%s) | %d | %d | %d → %d → %d |")
    :format(row[1], duration(m.wall), duration(m.wall_min), duration(m.wall_max), m.connections,
            m.in_flight, m.fds_before, m.fds_kept, m.fds_after))
end
print()
local function bounded(m, limit) return m.connections <= limit and "yes" or "NO" end
print(("%d calls at once: %.0f× (default limit) and %.0f× (max_connections = %d) faster than one after another; "
       .. "connections within max_connections: %s, %s; calls left in flight: %d; descriptors left open after close: %d. "
       .. "Connections counted from nginx's $connection, the warm-up call's included; %d rounds, fresh process each.")
  :format(N, seq.wall * N / SEQ / default.wall, seq.wall * N / SEQ / wide.wall, N,
          bounded(default, 16), bounded(wide, N), math.max(default.in_flight, wide.in_flight),
          math.max(default.fds_after - default.fds_before, wide.fds_after - wide.fds_before), ROUNDS))
print()
print("| replies | max_connections | calls at once | total time: median (min–max) | time/call | CPU µs/call | connections opened | peak RSS | RSS growth | heap growth per call: Lua + C |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for _, row in ipairs(scaling) do
  local m, n = row.m, row.n
  print(("| %s | %d | %s | %s (%s–%s) | %s | %.1f | %d | %.1f MB | %s kB | %s + %s B |")
    :format(row.reply, row.limit, util.thousands(n), duration(m.wall), duration(m.wall_min), duration(m.wall_max),
            duration(m.wall / n), m.cpu * 1e6 / n, m.connections, m.hwm / 1024,
            util.thousands(math.max(0, m.hwm - m.rss0)),
            util.thousands(m.lua_peak / n), util.thousands(math.max(0, m.malloc_peak - m.lua_peak) / n)))
end
print()
print(("Each row: one client starts N get_my_profile_async calls, then runs client:wait() until every callback ran; "
       .. "a fresh process per run, %d timed runs, after one warm-up call. CPU is the client process's user + system time. "
       .. "RSS growth is VmHWM at the end less VmRSS before the calls; heap growth (from one more run, which "
       .. "samples it) is the peak, after starting the calls and after each wait(), of the Lua heap (collectgarbage \"count\") and of the rest of "
       .. "malloc (libcurl's handles, buffers and connections), each divided by N.")
  :format(ROUNDS))
