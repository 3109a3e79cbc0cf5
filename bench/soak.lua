-- soak.lua: SOAK_CALLS (default 100,000) calls on one client against the
-- emulator at CHRONOSHEETS_BASE_URL, for `make soak`. Mostly
-- get_my_profile, with keep_session_alive, update_my_profile, an api error
-- (a token the server does not know: SessionExpired), non-blocking
-- get_my_profile_async calls run by client:wait(), and a logout and a new
-- login every 1000 calls. Every result is checked.
--
-- Every SAMPLE_EVERY calls, after a full collection, it samples resident
-- memory (VmRSS), the Lua heap and the open descriptors, prints them as a
-- table, then a verdict: it exits 1 if any call went wrong, if RSS grew
-- more than SOAK_MAX_GROWTH_KIB (default 2048) from the sample at
-- SOAK_WARMUP calls (default 10,000) to any later one, or if the
-- descriptor count ever exceeds its count at warm-up. A leak of 100 bytes
-- a call would grow RSS by ~8.6 MiB over the 90,000 calls after warm-up.
--
-- Plain Lua 5.1-5.4 and LuaJIT: /proc gives the clock, RSS and descriptors.

local cs = require "chronosheets"
local util = require "util"

local N = tonumber(os.getenv("SOAK_CALLS")) or 100000
local WARMUP = tonumber(os.getenv("SOAK_WARMUP")) or 10000
local MAX_GROWTH_KIB = tonumber(os.getenv("SOAK_MAX_GROWTH_KIB")) or 2048
local SAMPLE_EVERY = 5000
local base_url = assert(os.getenv("CHRONOSHEETS_BASE_URL"), "CHRONOSHEETS_BASE_URL is not set")
local floor, format = math.floor, string.format

-- /proc/uptime: seconds since boot, to 10 ms; plain Lua has no finer
-- wall clock.
local function now()
  local f = assert(io.open("/proc/uptime"))
  local s = f:read("*l")
  f:close()
  return tonumber(s:match("^(%S+)"))
end

local client = cs.client { base_url = base_url, timeout = 10 }
local credentials = { username_or_email = "ada", password = "correct horse" }
local BAD_TOKEN = "soak-token-the-server-never-issued"

local token
local function login()
  local reply, err = client:login(credentials)
  assert(reply, tostring(err))
  token = reply.cs_auth_token
end

local problems = 0
local function problem(i, what, err)
  problems = problems + 1
  if problems <= 10 then
    io.stderr:write(format("soak: call %d: %s: %s\n", i, what, tostring(err)))
  end
end

local counts = { get_my_profile = 0, keep_session_alive = 0, update_my_profile = 0,
                 session_expired = 0, async = 0, relogin = 0 }
local names = { "Ada", "Augusta" }

-- One step; returns how many calls it made.
local function step(i)
  if i % 1000 == 0 then
    counts.relogin = counts.relogin + 1
    local ok, err = client:logout(token)
    if ok ~= true then problem(i, "logout", err) end
    login()
    return 2
  elseif i % 100 == 50 then
    counts.session_expired = counts.session_expired + 1
    local res, err = client:get_my_profile(BAD_TOKEN)
    if res ~= nil or type(err) ~= "table" or err.kind ~= "api" or err.status ~= "SessionExpired" then
      problem(i, "wrong token", err or "no error")
    end
    return 1
  elseif i % 100 == 25 then
    counts.update_my_profile = counts.update_my_profile + 1
    local res, err = client:update_my_profile(token, { first_name = names[floor(i / 100) % 2 + 1] })
    if not res or #res.validation_errors ~= 0 then problem(i, "update_my_profile", err) end
    return 1
  elseif i % 20 == 10 then
    counts.keep_session_alive = counts.keep_session_alive + 1
    local ok, err = client:keep_session_alive(token)
    if ok ~= true then problem(i, "keep_session_alive", err) end
    return 1
  elseif i % 500 == 333 then
    -- Three non-blocking calls in flight at once.
    local done = 0
    local function check(err, profile)
      done = done + 1
      if err or profile.user_name ~= "ada" then problem(i, "get_my_profile_async", err) end
    end
    for _ = 1, 3 do client:get_my_profile_async(token, check) end
    while client:wait() > 0 do end
    if done ~= 3 then problem(i, "get_my_profile_async", done .. " of 3 callbacks ran") end
    counts.async = counts.async + 3
    return 3
  else
    counts.get_my_profile = counts.get_my_profile + 1
    local profile, err = client:get_my_profile(token)
    if not profile or profile.id ~= 1 then problem(i, "get_my_profile", err) end
    return 1
  end
end

-- Allocated up front, so that the samples themselves do not grow the
-- heap they measure.
local samples, nsamples = {}, 0
for k = 1, floor(N / SAMPLE_EVERY) + 2 do
  samples[k] = { calls = 0, seconds = 0, rss = 0, heap = 0, fds = 0 }
end
local fd_high                   -- the most descriptors seen so far
local function sample(calls, t0)
  collectgarbage("collect")
  collectgarbage("collect")
  nsamples = nsamples + 1
  local s = samples[nsamples]
  s.heap, s.rss, s.fds = collectgarbage("count"), util.status_kib("VmRSS"), util.fd_count()
  s.calls, s.seconds = calls, now() - t0
  if fd_high and s.fds > fd_high then
    -- A new high: say what the descriptors are (the first non-blocking
    -- call adds the multi handle's connection and libcurl's wake-up pair).
    io.stderr:write(format("soak: %d open fds at %d calls (%d before):\n", s.fds, calls, fd_high))
    local p = assert(io.popen("ls -l /proc/" .. util.pid .. "/fd"))
    for line in p:lines() do io.stderr:write("  ", line, "\n") end
    p:close()
  end
  if not fd_high or s.fds > fd_high then fd_high = s.fds end
end

-- SOAK_LEAK_BYTES=100 keeps that many bytes per call on purpose, to
-- show that the verdict catches such a leak.
local LEAK = tonumber(os.getenv("SOAK_LEAK_BYTES")) or 0
local leaked = {}

login()
local t0 = now()
sample(0, t0)
local calls, i, next_sample = 0, 0, SAMPLE_EVERY
while calls < N do
  i = i + 1
  calls = calls + step(i)
  if LEAK > 0 then leaked[i] = string.rep("x", LEAK - #tostring(i)) .. i end
  if calls >= next_sample then
    sample(calls, t0)
    next_sample = next_sample + SAMPLE_EVERY
  end
end
local elapsed = now() - t0
assert(client:logout(token))
client:close()
for k = nsamples + 1, #samples do samples[k] = nil end

print(format("soak: %d calls on one client against %s (%s, %s)", calls, base_url, _VERSION, cs.curl_version()))
print(format("soak: get_my_profile %d, keep_session_alive %d, update_my_profile %d, SessionExpired %d, async %d, logout+login %d",
  counts.get_my_profile, counts.keep_session_alive, counts.update_my_profile,
  counts.session_expired, counts.async, counts.relogin))
print("")
print("| calls | seconds | VmRSS KiB | Lua heap KiB | open fds |")
print("|---:|---:|---:|---:|---:|")
for _, s in ipairs(samples) do
  print(format("| %d | %.1f | %d | %.1f | %d |", s.calls, s.seconds, s.rss, s.heap, s.fds))
end
print("")

-- The warm-up sample: the first at or after WARMUP calls.
local base
for _, s in ipairs(samples) do
  if s.calls >= WARMUP then base = s break end
end
base = base or samples[#samples]
local last = samples[#samples]
local max_rss, fd_min, fd_max, fd_after = base.rss, math.huge, 0, 0
for _, s in ipairs(samples) do
  if s.calls >= base.calls then
    if s.rss > max_rss then max_rss = s.rss end
    if s.fds > fd_after then fd_after = s.fds end
  end
  if s.fds < fd_min then fd_min = s.fds end
  if s.fds > fd_max then fd_max = s.fds end
end
local growth = last.rss - base.rss
local span = last.calls - base.calls
local per_10k = span > 0 and growth * 10000 / span or 0

local failures = {}
if problems > 0 then failures[#failures + 1] = problems .. " calls went wrong" end
if max_rss - base.rss > MAX_GROWTH_KIB then
  failures[#failures + 1] = format("RSS grew %d KiB after warm-up (bound %d KiB)", max_rss - base.rss, MAX_GROWTH_KIB)
end
if fd_after > base.fds then
  failures[#failures + 1] = format("open fds grew from %d to %d after warm-up", base.fds, fd_after)
end

print(format("soak: %.0f calls/s (%d calls in %.1f s)", calls / elapsed, calls, elapsed))
print(format("soak: after warm-up (%d calls): RSS %d -> %d KiB, growth %+d KiB (max %+d KiB), %+.1f KiB per 10,000 calls; "
  .. "Lua heap %.1f -> %.1f KiB; open fds min %d max %d",
  base.calls, base.rss, last.rss, growth, max_rss - base.rss, per_10k, base.heap, last.heap, fd_min, fd_max))
if #failures == 0 then
  print(format("soak: PASS (RSS bound %d KiB after warm-up, no descriptor growth, every call checked)", MAX_GROWTH_KIB))
else
  print("soak: FAIL: " .. table.concat(failures, "; "))
  os.exit(1)
end
