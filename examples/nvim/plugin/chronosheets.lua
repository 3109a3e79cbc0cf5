-- A small ChronoSheets plugin for Neovim (0.7 or later), on chronosheets.nvim.
--
--   :ChronoSheetsLogin [user]   asks for the password (never echoed, never stored)
--   :ChronoSheetsProfile        shows your profile in a floating window (q closes it)
--   :ChronoSheetsLogout
--
-- Install: put this directory on 'runtimepath' (or copy plugin/ into your
-- config) and make `require "chronosheets.nvim"` findable: the rock, or
--   package.path/cpath pointing at lua/ and the LuaJIT build (build/jit/).
-- Settings: vim.g.chronosheets_base_url (default https://api.chronosheets.com).
--
-- The token lives in this file's local variable only: never in a global,
-- a register, shada or a file. While logged in, the session is kept alive
-- every 10 minutes. Nothing here ever blocks the editor.
-- luacheck: globals vim.g
if vim.g.loaded_chronosheets then return end
vim.g.loaded_chronosheets = true

local uv = vim.uv or vim.loop

local client                    -- created on first use
local token, user               -- the session, in memory only
local keepalive = uv.new_timer()
local KEEPALIVE_MS = 10 * 60 * 1000

local function notify(msg, level)
  vim.notify("ChronoSheets: " .. msg, level or vim.log.levels.INFO)
end

local function get_client()
  if not client then
    client = require("chronosheets.nvim").client{
      base_url = vim.g.chronosheets_base_url or "https://api.chronosheets.com",
    }
  end
  return client
end

local function forget()
  token, user = nil, nil
  keepalive:stop()
end

-- An expired session ends here, whatever call found out.
local function failed(what, err)
  if err.status == "SessionExpired" then forget() end
  notify(what .. " failed: " .. tostring(err), vim.log.levels.ERROR)
end

local function login(name)
  if name == nil or name == "" then
    name = vim.fn.input("ChronoSheets user or e-mail: ")
  end
  local password = vim.fn.inputsecret("Password for " .. name .. ": ")
  if password == "" then return notify("login cancelled") end
  get_client():login({ username_or_email = name, password = password }, function(err, result)
    if err then return failed("login", err) end
    token, user = result.cs_auth_token, result.logged_in_user
    keepalive:stop()
    keepalive:start(KEEPALIVE_MS, KEEPALIVE_MS, function()
      if token then get_client():keep_session_alive(token, function(e) if e then failed("keep-alive", e) end end) end
    end)
    notify(("logged in as %s %s"):format(user.first_name or "", user.last_name or ""))
  end)
end

local function profile_lines(p)
  local lines = {
    ("%s %s <%s>"):format(p.first_name or "", p.last_name or "", p.email_address or ""),
    "user name:     " .. tostring(p.user_name),
    "organisation:  " .. tostring(p.organisation and p.organisation.name),
    "user id:       " .. tostring(p.user_id),
    "newsletter:    " .. tostring(p.is_subscribed_to_newsletter),
  }
  return lines
end

local function show(lines)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.api.nvim_buf_set_option(buf, "modifiable", false)
  vim.api.nvim_buf_set_option(buf, "bufhidden", "wipe")
  vim.api.nvim_buf_set_name(buf, "chronosheets://profile")
  local width = 20
  for _, l in ipairs(lines) do width = math.max(width, #l + 2) end
  local win = vim.api.nvim_open_win(buf, true, {
    relative = "editor", style = "minimal", border = "rounded",
    width = width, height = #lines,
    row = math.floor((vim.o.lines - #lines) / 2), col = math.floor((vim.o.columns - width) / 2),
  })
  vim.api.nvim_buf_set_keymap(buf, "n", "q", "<cmd>close<cr>", { nowait = true, silent = true })
  return buf, win
end

local function profile()
  if not token then return notify("not logged in (:ChronoSheetsLogin)", vim.log.levels.WARN) end
  get_client():get_my_profile(token, function(err, p)
    if err then return failed("profile", err) end
    show(profile_lines(p))
  end)
end

local function logout()
  if not token then return notify("not logged in") end
  local t = token
  forget()                      -- forgotten at once, whatever the server says
  get_client():logout(t, function(err)
    if err and err.status ~= "SessionExpired" then return failed("logout", err) end
    notify("logged out")
  end)
end

vim.api.nvim_create_user_command("ChronoSheetsLogin", function(o) login(o.args) end,
  { nargs = "?", desc = "Log in to ChronoSheets" })
vim.api.nvim_create_user_command("ChronoSheetsProfile", profile,
  { nargs = 0, desc = "Show your ChronoSheets profile" })
vim.api.nvim_create_user_command("ChronoSheetsLogout", logout,
  { nargs = 0, desc = "Log out of ChronoSheets" })
