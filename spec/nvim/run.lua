-- The Neovim test, run by tools/check-nvim inside
--   nvim --headless -u NONE -c 'luafile spec/nvim/run.lua'
-- against the emulator at $CHRONOSHEETS_BASE_URL, with the LuaJIT build of
-- the core in build/jit. Logs in through chronosheets.nvim; while a reply
-- the emulator holds back for 1 s is pending, a 10 ms vim.loop timer must
-- keep firing (at least 50 ticks); then profile, update and logout. A
-- blocking call with the same delay shows the contrast; then the example
-- plugin's commands. With CHRONOSHEETS_NVIM_CODEC=vim.json, lua-cjson is
-- hidden, so the module must use Neovim's vim.json; with
-- CHRONOSHEETS_NVIM_POLL=sockets, the adapter watches each socket instead
-- of the core's event_fd. Quits with status 0 when every check held, 1
-- otherwise.
-- luacheck: globals vim
local uv = vim.uv or vim.loop
local root = vim.fn.getcwd()
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
package.cpath = root .. "/build/jit/?.so;" .. package.cpath

local codec = os.getenv("CHRONOSHEETS_NVIM_CODEC") or "cjson"
if codec == "vim.json" then
  package.preload.cjson = function() error("lua-cjson is hidden for this run") end
end

local base_url = assert(os.getenv("CHRONOSHEETS_BASE_URL"), "CHRONOSHEETS_BASE_URL is not set")
local out = io.stdout
local failures = 0

local function say(fmt, ...)
  out:write("nvim: ", fmt:format(...), "\n")
end

local function check(cond, what)
  if not cond then
    failures = failures + 1
    say("FAILED: %s", what)
  end
  return cond
end

-- The emulator's test-only controls, through the curl program.
local function control(path, body, method)
  local cmd = { "curl", "-sS", "--max-time", "10", "-X", method or "POST", base_url .. path }
  if body then
    vim.list_extend(cmd, { "-H", "Content-Type: application/json", "--data-binary", body })
  end
  return vim.fn.system(cmd)
end

local function seconds(since) return (uv.hrtime() - since) / 1e9 end

-- Runs Neovim's loop (callbacks, scheduled functions) until the callback
-- of the call started by start(cb) has run; returns err, result.
local function await(start)
  local got
  start(function(err, result) got = { err = err, result = result } end)
  vim.wait(10000, function() return got ~= nil end, 5)
  assert(got, "no reply within 10 s")
  return got.err, got.result
end

local function main()
  control("/_emulator/reset")
  local cs = require "chronosheets.nvim"
  local per_socket = os.getenv("CHRONOSHEETS_NVIM_POLL") == "sockets"
  if per_socket then cs.use_event_fd = false end
  -- (a failed require leaves a sentinel in package.loaded on 5.1)
  local cjson_loaded = type(package.loaded.cjson) == "table"
  local v = vim.version()
  say("module loaded in Neovim %d.%d.%d (%s), libcurl %s, JSON by %s, watching %s", v.major, v.minor,
      v.patch, jit and jit.version or _VERSION, require("chronosheets.core").curl_version():match("libcurl/(%S+)"),
      cjson_loaded and "lua-cjson" or "vim.json", per_socket and "each socket" or "the event_fd")
  check(cjson_loaded == (codec == "cjson"), "the codec is " .. codec)
  local client = cs.client{ base_url = base_url }

  local err, login = await(function(cb)
    client:login({ username_or_email = "ada", password = "correct horse" }, cb)
  end)
  if not check(err == nil and login and #login.cs_auth_token == 64, "login: " .. tostring(err)) then return end
  local token = login.cs_auth_token

  -- The slow reply, non-blocking: the editor's loop keeps ticking.
  control("/_emulator/config", '{"delay_ms":1000}')
  local ticks = 0
  local ticker = uv.new_timer()
  ticker:start(10, 10, function() ticks = ticks + 1 end)
  local in_callback_fast
  local t0 = uv.hrtime()
  local profile
  err, profile = await(function(cb)
    client:get_my_profile(token, function(e, p)
      in_callback_fast = vim.in_fast_event and vim.in_fast_event()
      cb(e, p)
    end)
  end)
  local async_time, async_ticks = seconds(t0), ticks
  check(err == nil and profile and profile.first_name == "Ada", "profile: " .. tostring(err))
  check(async_ticks >= 50, ("at least 50 ticks of the 10 ms timer during the call, got %d"):format(async_ticks))
  check(in_callback_fast == false or in_callback_fast == nil, "the callback runs through vim.schedule")

  -- The same call, blocking: the loop stands still until it returns.
  ticks = 0
  t0 = uv.hrtime()
  local blocking = client.core:get_my_profile(token)
  local blocking_time, blocking_ticks = seconds(t0), ticks
  ticker:stop()
  ticker:close()
  check(blocking and blocking.first_name == "Ada", "blocking profile")
  say("slow reply (emulator delay 1000 ms): non-blocking call %.3f s, %d ticks of a 10 ms timer during it; "
      .. "blocking call %.3f s, %d ticks during it", async_time, async_ticks, blocking_time, blocking_ticks)
  control("/_emulator/config", '{"delay_ms":0}')

  local update
  err, update = await(function(cb) client:update_my_profile(token, { last_name = "King" }, cb) end)
  check(err == nil and update and #update.validation_errors == 0, "update: " .. tostring(err))
  err, profile = await(function(cb) client:get_my_profile(token, cb) end)
  check(err == nil and profile and profile.last_name == "King", "the update shows in the profile")

  -- Many at once, and a cancelled one that never calls back.
  local t1 = uv.hrtime()
  local done, cancelled_called = 0, false
  for _ = 1, 20 do client:keep_session_alive(token, function(e) if not e then done = done + 1 end end) end
  client:keep_session_alive(token, function() cancelled_called = true end):cancel()
  vim.wait(5000, function() return done == 20 end, 5)
  vim.wait(50)
  check(done == 20 and not cancelled_called, ("20 keep_session_alive at once (%d done)"):format(done))
  say("20 keep_session_alive calls at once: %.3f s", seconds(t1))

  -- A connection refused: the error value, and (with the event_fd) not
  -- luv's "EBADF" line on stderr, which tools/check-nvim would catch.
  if not per_socket then
    local refused = cs.client{ base_url = "http://127.0.0.1:1" }
    err = await(function(cb) refused:get_my_profile(token, cb) end)
    check(err and err.kind == "transport", "a refused connection gives a transport error")
    refused:close()
  end

  local ok
  err, ok = await(function(cb) client:logout(token, cb) end)
  check(err == nil and ok == true, "logout: " .. tostring(err))
  err = await(function(cb) client:get_my_profile(token, cb) end)
  check(err and err.status == "SessionExpired", "the token is dead after logout")
  check(client:in_flight() == 0, "nothing left in flight")
  client:close()
  check(tostring(client):find("closed", 1, true), "a closed client says so")

  -- The example plugin: :ChronoSheetsLogin, :ChronoSheetsProfile, :ChronoSheetsLogout.
  local notes = {}
  vim.notify = function(msg) notes[#notes + 1] = msg end
  local function noted(fragment)
    return vim.wait(5000, function()
      for _, n in ipairs(notes) do if n:find(fragment, 1, true) then return true end end
      return false
    end, 5)
  end
  vim.opt.runtimepath:append(root .. "/examples/nvim")
  vim.g.chronosheets_base_url = base_url
  vim.cmd("runtime plugin/chronosheets.lua")
  vim.fn.inputsecret = function() return "correct horse" end  -- the password prompt, answered
  vim.cmd("ChronoSheetsLogin ada")
  vim.fn.inputsecret = nil
  check(noted("logged in as Ada King"), ":ChronoSheetsLogin logs in: " .. table.concat(notes, "; "))
  vim.cmd("ChronoSheetsProfile")
  local shown = vim.wait(5000, function() return vim.fn.bufnr("chronosheets://profile") > 0 end, 5)
  local lines = shown and vim.api.nvim_buf_get_lines(vim.fn.bufnr("chronosheets://profile"), 0, -1, false) or {}
  check(shown and lines[1] == "Ada King <ada@example.com>", ":ChronoSheetsProfile shows the profile: "
        .. table.concat(lines, " | "))
  check(vim.api.nvim_win_get_config(0).relative == "editor", "in a floating window")
  vim.cmd("close")
  vim.cmd("ChronoSheetsLogout")
  check(noted("logged out"), ":ChronoSheetsLogout logs out")
  check(control("/_emulator/sessions", nil, "GET"):find('"count":0', 1, true), "no session left on the server")
  say("example plugin: login, profile in a floating window, logout: ok")
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  failures = failures + 1
  say("FAILED: %s", tostring(err))
end
say("%s", failures == 0 and "all checks passed" or (failures .. " checks failed"))
out:flush()
vim.cmd(failures == 0 and "qall!" or "cquit 1")
