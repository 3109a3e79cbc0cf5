-- Shared by the specs: where the emulator is, its test-only controls, and
-- the fixture users. The emulator is started by tools/with-emulator (make
-- check); the controls go through the curl program so that they never
-- depend on the module under test.
local cjson = require "cjson"
local cs = require "chronosheets"

local helpers = {}

helpers.base_url = os.getenv("CHRONOSHEETS_BASE_URL") or "http://127.0.0.1:18089"

-- emulator/fixtures/users.json
helpers.ada = { id = 1, organisation_id = 7, user_name = "ada", email = "ada@example.com",
                password = "correct horse", first_name = "Ada", last_name = "Lovelace" }
helpers.charles = { id = 2, organisation_id = 7, user_name = "charles",
                    email = "charles@example.com", password = "difference engine" }
helpers.grace = { id = 3, organisation_id = 9, user_name = "grace",
                  email = "grace@example.com", password = "n4n0s3c0nds!" }

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- Sends a request to a test-only endpoint and returns the decoded reply.
function helpers.control(method, path, body)
  local command = "curl -sS --max-time 10 -X " .. method .. " " .. shell_quote(helpers.base_url .. path)
  local file
  if body ~= nil then
    file = os.tmpname()
    local f = assert(io.open(file, "wb"))
    f:write(type(body) == "string" and body or cjson.encode(body))
    f:close()
    command = command .. " -H 'Content-Type: application/json' --data-binary @" .. shell_quote(file)
  end
  local pipe = assert(io.popen(command, "r"))
  local out = pipe:read("*a")
  pipe:close()
  if file then os.remove(file) end
  local ok, decoded = pcall(cjson.decode, out)
  assert(ok, "the emulator's control endpoint " .. path .. " answered: " .. tostring(out))
  return decoded
end

function helpers.reset() return helpers.control("POST", "/_emulator/reset") end
function helpers.advance_clock(seconds) return helpers.control("POST", "/_emulator/clock", { advance = seconds }) end
function helpers.set_delay(ms) return helpers.control("POST", "/_emulator/config", { delay_ms = ms }) end
function helpers.last_request() return helpers.control("GET", "/_emulator/last_request") end
function helpers.session_count() return helpers.control("GET", "/_emulator/sessions").count end

-- The next request to any API endpoint gets exactly this reply:
-- { status = 200, content_type = "text/html", body = "..." }.
function helpers.next_reply(reply) return helpers.control("POST", "/_emulator/next_reply", reply) end

-- A codec like the one the module loads by itself (src/core.c,
-- load_cjson): a private lua-cjson instance that refuses NaN and Infinity
-- and nests at most 64 levels. Specs that hand the module another codec
-- give it this one back afterwards.
function helpers.default_codec()
  local c = cjson.new()
  c.decode_invalid_numbers(false)
  c.encode_invalid_numbers(false)
  c.decode_max_depth(64)
  c.encode_max_depth(64)
  return { decode = c.decode, encode = c.encode, null = c.null }
end

function helpers.client(options)
  options = options or {}
  if options.base_url == nil then options.base_url = helpers.base_url end
  return cs.client(options)
end

-- Logs the user in on client and returns the token.
function helpers.token(client, user)
  user = user or helpers.ada
  local login = assert(client:login{ username_or_email = user.user_name, password = user.password })
  return login.cs_auth_token
end

-- Nothing listens on port 1 of loopback (a privileged port no test uses),
-- so connecting there is refused at once.
helpers.refused_url = "http://127.0.0.1:1"

-- Asserts that fn raises an error whose message contains fragment (plain
-- text): the function's name in "bad argument #1 to 'x'" differs between
-- Lua versions, the part that names what was wrong does not.
function helpers.raises(fragment, fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error containing: " .. fragment)
  err = tostring(err)
  assert(err:find(fragment, 1, true), ("expected an error containing %q, got %q"):format(fragment, err))
  return err
end

function helpers.now()
  local pipe = io.popen("date +%s.%N")
  local t = tonumber(pipe:read("*a"))
  pipe:close()
  return t
end

-- Test-only fault listeners (emulator start --test): where they are.
-- { faults_url, recorder_url, tls_url, tls_expired_url, tls_wrong_host_url,
--   ca_file, proxy_url, blackhole_url }
local fault_places
function helpers.faults()
  fault_places = fault_places or helpers.control("GET", "/_emulator/faults")
  return fault_places
end

-- The next request to any API endpoint meets the named fault (see
-- emulator/lua/chronosheets_faults.lua), once.
function helpers.next_fault(name) return helpers.control("POST", "/_emulator/next_fault", { name = name }) end

-- What reached the recorder (another host) and the proxy since the last
-- reset: { recorder = {...}, proxy = {...} }.
function helpers.recorded() return helpers.control("GET", "/_emulator/recorded") end

-- Upper bounds on elapsed time are multiplied by this: 1 normally, more
-- when the suite runs under valgrind or a sanitizer (tools/check-valgrind,
-- tools/check-asan), which slow the process itself, never the server.
-- Lower bounds (a timeout fired no earlier than asked) are left as they are.
helpers.time_factor = tonumber(os.getenv("CHRONOSHEETS_TIME_FACTOR")) or 1

-- Runs fn and returns the seconds it took, then what fn returned.
function helpers.timed(fn, ...)
  local started = helpers.now()
  local results = { fn(...) }
  return helpers.now() - started, (table.unpack or unpack)(results, 1, 2)
end

-- The Lua interpreter running the specs (argv[0] of this process), for
-- child processes that need their own environment (proxy variables, HOME).
function helpers.interpreter()
  local f = io.open("/proc/self/cmdline", "rb")
  local argv0 = f and f:read("*a"):match("^[^%z]+")
  if f then f:close() end
  return argv0 or "lua"
end

-- Runs Lua code in a child interpreter with extra environment variables
-- (name = value; false unsets), the specs' package paths, and the base URL;
-- returns its standard output.
function helpers.run_lua(env, code)
  local file = os.tmpname()
  local f = assert(io.open(file, "wb"))
  f:write(code)
  f:close()
  local parts, sets = { "env" }, {}
  for name, value in pairs(env) do
    if value then   -- env takes every -u before the first assignment
      sets[#sets + 1] = name .. "=" .. shell_quote(value)
    else
      parts[#parts + 1] = "-u " .. name
    end
  end
  for _, set in ipairs(sets) do parts[#parts + 1] = set end
  parts[#parts + 1] = "LUA_PATH=" .. shell_quote(package.path)
  parts[#parts + 1] = "LUA_CPATH=" .. shell_quote(package.cpath)
  parts[#parts + 1] = "CHRONOSHEETS_BASE_URL=" .. shell_quote(helpers.base_url)
  parts[#parts + 1] = shell_quote(helpers.interpreter()) .. " " .. shell_quote(file) .. " 2>&1"
  local pipe = assert(io.popen(table.concat(parts, " "), "r"))
  local out = pipe:read("*a")
  pipe:close()
  os.remove(file)
  return out
end

return helpers
