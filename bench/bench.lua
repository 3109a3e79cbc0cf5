-- bench.lua: runs every runner, plain (wall and CPU time, several rounds)
-- and under callgrind (instructions), and prints one Markdown table.
-- bench/run sets the environment; `make bench` is the way in.
--
-- Instructions per call are counted by callgrind on a run of N calls and
-- on a run of 10*N calls: the difference, divided by 9*N, leaves out
-- start-up, the first connection and the TLS handshake, and does not
-- depend on what else the machine is doing. Wall and CPU time do.

local util = require "util"

local getenv = os.getenv
local env = {
  lua = getenv("BENCH_LUA"), floor = getenv("BENCH_FLOOR"), dir = getenv("BENCH_DIR"),
  url = getenv("BENCH_URL"), tls_url = getenv("BENCH_TLS_URL"), ca = getenv("BENCH_CA"),
  token = getenv("BENCH_TOKEN"), tls_log = getenv("BENCH_TLS_LOG"),
}
-- The module's own User-Agent, so that the floor sends the same bytes.
env.user_agent = io.popen(env.lua .. [[ -e 'print(("chronosheets-lua/%s libcurl/%s"):format(]]
  .. [[require"chronosheets".VERSION, require"chronosheets".curl_version():match"^libcurl/(%S+)"))']]):read("l")
local ROUNDS = tonumber(getenv("BENCH_ROUNDS")) or 5
local SCALE = tonumber(getenv("BENCH_SCALE")) or 1     -- multiplies every N
local PATH = "/UserProfile/GetMyProfile"

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function lua_runner(kind)
  return function(n) return ("%s bench/runner.lua %s %d"):format(env.lua, kind, n) end
end

-- n: calls per timed round; grind_n: the N of the callgrind pair;
-- base: the floor row its ratios are taken against; env: variables to set.
local runners = {
  { id = "floor", name = "libcurl floor (C, one easy handle, same request)", n = 5000, grind_n = 500,
    command = function(n)
      return ("%s %s %d %s %s"):format(env.floor, q(env.url .. PATH), n, env.token, q(env.user_agent))
    end },
  { id = "floor_bare", name = "libcurl floor without the User-Agent line", n = 5000, grind_n = 500,
    base = "floor",
    command = function(n)
      return ("%s %s %d %s ''"):format(env.floor, q(env.url .. PATH), n, env.token)
    end },
  { id = "floor_curlu", name = "libcurl floor, URL parsed once (CURLOPT_CURLU)", n = 5000,
    grind_n = 500, base = "floor", env = "FLOOR_CURLU=1",
    command = function(n)
      return ("%s %s %d %s %s"):format(env.floor, q(env.url .. PATH), n, env.token, q(env.user_agent))
    end },
  { id = "module", name = "chronosheets, blocking", n = 5000, grind_n = 500, base = "floor",
    command = lua_runner("module") },
  { id = "socket_http", name = "socket.http + lua-cjson", n = 1000, grind_n = 100, base = "floor",
    command = lua_runner("socket_http") },
  { id = "curl_program", name = "curl program per call (io.popen)", n = 100, grind_n = 1,
    rounds = 3, base = "floor", children = true, command = lua_runner("curl_program") },
  { id = "floor_tls", name = "libcurl floor, TLS", n = 3000, grind_n = 200, base = "floor_tls",
    command = function(n)
      return ("%s %s %d %s %s %s"):format(env.floor, q(env.tls_url .. PATH), n, env.token,
                                          q(env.user_agent), q(env.ca))
    end },
  { id = "module_tls", name = "chronosheets, blocking, TLS", n = 3000, grind_n = 200,
    base = "floor_tls", command = lua_runner("module_tls") },
}
runners[1].base = "floor"




---------------------------------------------------------------------------
-- Wall and CPU time: rounds interleaved, so a burst of load elsewhere on
-- the machine spreads over every runner instead of hitting one.

for _, r in ipairs(runners) do
  r.n = math.max(1, math.floor(r.n * SCALE))
  r.rates, r.cpus, r.rss = {}, {}, 0
end
for round = 1, ROUNDS do
  util.say(("bench: timing, round %d of %d\n"):format(round, ROUNDS))
  for _, r in ipairs(runners) do
    if round <= (r.rounds or ROUNDS) then
      local wall, cpu, rss = util.run((r.env or "") .. " " .. r.command(r.n)):match("([%d.]+) ([%d.]+) (%d+)")
      assert(wall, "bench: runner " .. r.id .. " printed no timing")
      r.rates[round] = r.n / tonumber(wall)
      r.cpus[round] = tonumber(cpu) / r.n
      r.rss = math.max(r.rss, tonumber(rss))
    end
  end
end

---------------------------------------------------------------------------
-- Instructions: callgrind, N and 10*N calls.

local function instructions(r, n)
  local pattern = ("%s/callgrind.%s.%d"):format(env.dir, r.id, n)
  util.run(("rm -f %s.*"):format(q(pattern)))
  util.run(("%s valgrind --tool=callgrind -q %s --callgrind-out-file=%s.%%p %s 2>&1")
      :format(r.env or "", r.children and "--trace-children=yes" or "", q(pattern), r.command(n)))
  local total = 0
  for file in util.run(("ls %s.*"):format(q(pattern))):gmatch("[^\n]+") do
    local f = assert(io.open(file))
    local text = f:read("a")
    f:close()
    local count = text:match("\nsummary: (%d+)") or text:match("\ntotals: (%d+)")
    total = total + assert(tonumber(count), "no summary in " .. file)
  end
  return total
end

for _, r in ipairs(runners) do
  util.say(("bench: callgrind, %s\n"):format(r.id))
  local n = r.grind_n
  r.ir = (instructions(r, 10 * n) - instructions(r, n)) / (9 * n)
end

---------------------------------------------------------------------------
-- TLS: how many connections and handshakes one client needs for N calls.


-- Runs command and reads what the server logged meanwhile: requests,
-- connections, and how those connections' TLS sessions began.
local function tls_reuse(command)
  local before = #util.lines(env.tls_log)
  util.run(command)
  local connections, u = {}, { requests = 0, connections = 0, full = 0, resumed = 0 }
  local lines = util.lines(env.tls_log)
  for i = before + 1, #lines do
    local conn, _, reused = lines[i]:match("^(%d+) (%d+) (%S+)")
    u.requests = u.requests + 1
    if not connections[conn] then
      connections[conn] = true
      u.connections = u.connections + 1
      if reused == "r" then u.resumed = u.resumed + 1 else u.full = u.full + 1 end
    end
  end
  return u
end

util.say("bench: TLS reuse\n")
local tls_calls = 1000
local reuse = {
  { "one client", tls_reuse(lua_runner("module_tls")(tls_calls - 1)) },
  { "10 clients", tls_reuse(lua_runner("tls_clients")(tls_calls - 1)) },
  { "10 clients, share = true", tls_reuse("BENCH_SHARE=1 " .. lua_runner("tls_clients")(tls_calls - 1)) },
}

---------------------------------------------------------------------------
-- Memory.

util.say("bench: memory\n")
local memory = {}
for what, lua_bytes, c_bytes in util.run(env.lua .. " bench/memory.lua"):gmatch("(%S+) (%-?%d+) ?(%-?%d*)") do
  memory[what] = { lua = tonumber(lua_bytes), c = tonumber(c_bytes) }
end

---------------------------------------------------------------------------
-- The table.

local by_id = {}
for _, r in ipairs(runners) do by_id[r.id] = r end

-- Cost against the base row, round by round (both ran within seconds of
-- each other, under the same load), then the median of those ratios.
local function paired(r, field, invert)
  local base, ratios = by_id[r.base], {}
  for round, v in pairs(r[field]) do
    local b = base[field][round]
    ratios[#ratios + 1] = invert and b / v or v / b
  end
  return util.median(ratios)
end


local function first_line(command)
  local ok, out = pcall(util.run, command)
  return ok and out:match("[^\n]*") or "?"
end

local cpu_model = first_line("grep -m1 'model name' /proc/cpuinfo"):gsub("^.-:%s*", "")
print(("GetMyProfile over loopback, %s; %s CPUs (%s), %s; %s; %s.")
  :format(os.date("!%Y-%m-%d %H:%M UTC"), first_line("nproc"), cpu_model,
          first_line("uname -sr"), first_line(env.lua .. " -v"):match("^%S+ %S+") or "?",
          first_line(env.lua .. " -e 'print(require\"chronosheets\".curl_version())'")
            :match("^libcurl/%S+ %S+") or "?"))
print()
print("| runner | calls/s: median (min–max) | time × floor | CPU µs/call | CPU × floor | instructions/call | instr. × floor | peak RSS |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for _, r in ipairs(runners) do
  local base = by_id[r.base]
  local rate, cpu = util.median(r.rates), util.median(r.cpus)
  local lo, hi = math.huge, 0
  for _, v in ipairs(r.rates) do lo, hi = math.min(lo, v), math.max(hi, v) end
  print(("| %s | %s (%s–%s) | %.2f | %.1f | %.2f | %s | %.2f | %.1f MB |"):format(
    r.name, util.thousands(rate), util.thousands(lo), util.thousands(hi), paired(r, "rates", true),
    cpu * 1e6, paired(r, "cpus"), util.thousands(r.ir), r.ir / base.ir, r.rss / 1024))
end
print()
print(("Ratios are costs against the libcurl floor of the same run (the TLS rows against the TLS floor), "
       .. "time and CPU as the median of the rounds' ratios; "
       .. "%d rounds of %d calls (socket.http %d, curl program %d over %d rounds); "
       .. "instructions from callgrind, (I(10N) − I(N)) / 9N, N = %d (curl program: N = %d, children traced).")
  :format(ROUNDS, by_id.module.n, by_id.socket_http.n, by_id.curl_program.n,
          math.min(ROUNDS, by_id.curl_program.rounds), by_id.module.grind_n, by_id.curl_program.grind_n))
print()
for _, r in ipairs(reuse) do
  local u = r[2]
  print(("- TLS, %s: %d calls over %d connection(s): %d full handshake(s), %d resumed.")
    :format(r[1], u.requests, u.connections, u.full, u.resumed))
end
local function mem(what, label)
  local m = memory[what]
  if m then
    print(("- %s: %s bytes of Lua heap + %s bytes of C heap outside it")
      :format(label, util.thousands(m.lua), util.thousands(m.c)))
  end
end
print()
print("Memory held, averaged over 50 live objects:")
mem("client_idle", "one client, before its first call")
mem("client_connected", "one client with its kept-alive connection")
mem("client_tls_connected", "one client with its kept-alive TLS connection")
mem("session", "one session (client:session{}), on top of its client")
if memory.peak_rss_kb then
  print(("- peak RSS of that process (52 clients, 50 sessions): %.1f MB"):format(memory.peak_rss_kb.lua / 1024))
end
print()
local m, f, s = by_id.module, by_id.floor, by_id.socket_http
local function verdict(ok) return ok and "met" or "NOT met" end
print(("Targets: instructions %.2f × floor (≤ 1.20: %s); wall time %.2f × floor (≤ 1.20: %s); "
       .. "socket.http + lua-cjson uses %.1f× our instructions (≥ 2: %s).")
  :format(m.ir / f.ir, verdict(m.ir / f.ir <= 1.2),
          paired(m, "rates", true), verdict(paired(m, "rates", true) <= 1.2),
          s.ir / m.ir, verdict(s.ir / m.ir >= 2)))
print(("Against the other floors, instructions: %.2f × the floor without the User-Agent line, "
       .. "%.2f × the floor that also hands libcurl a parsed URL.")
  :format(m.ir / by_id.floor_bare.ir, m.ir / by_id.floor_curlu.ir))
