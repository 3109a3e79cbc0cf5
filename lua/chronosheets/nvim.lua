--- chronosheets.nvim: the non-blocking calls, driven by Neovim's own loop.
--
-- Each client watches curl's sockets with one vim.loop poll handle on the
-- core's event_fd (an epoll set of every socket curl watches; on systems
-- without epoll, one poll handle per socket from client:pending()) and
-- wakes curl with one vim.loop timer, so nothing ever waits inside
-- Neovim. The callbacks run through vim.schedule, where the whole vim API
-- is allowed, with the usual signature (err, result).
--
--     local cs = require "chronosheets.nvim"
--     local client = cs.client{ base_url = "https://api.chronosheets.com" }
--     client:login({ username_or_email = "ada", password = pw }, function(err, login)
--       if err then return vim.notify(tostring(err), vim.log.levels.ERROR) end
--       client:get_my_profile(login.cs_auth_token, function(err2, profile) ... end)
--     end)
--
-- Every endpoint method takes the blocking method's arguments, then the
-- callback, then optionally { timeout = seconds } for this call alone,
-- and returns the call handle (handle:cancel(): the callback never runs).
-- The NAME_async spellings are the same functions, so chronosheets.async's
-- await works on these clients too. client.core is the core client, for a
-- blocking call when one is wanted.

local core = require "chronosheets.core"

local vim = vim
local error = error
local getmetatable = getmetatable
local ipairs = ipairs
local pairs = pairs
local pcall = pcall
local select = select
local setmetatable = setmetatable
local tostring = tostring
local type = type
local unpack = table.unpack or unpack  -- luacheck: ignore 143

local uv = vim.uv or vim.loop
local schedule = vim.schedule

-- Without lua-cjson, the module can still use Neovim's codec.
if not pcall(require, "cjson") and vim.json then
  core.use_json{ decode = vim.json.decode, encode = vim.json.encode, null = vim.NIL }
end

local _M = {
  _VERSION = core.VERSION,
  -- false: one poll handle per socket (pending/drive), as on systems
  -- without epoll, for clients created from then on
  use_event_fd = true,
}

local client = {}
local client_mt = { __index = client }

-- Raises after the current loop callback, where Neovim shows it.
local function report(err)
  schedule(function() error(err, 0) end)
end

local sync

local function on_ready(self, fd, events)
  if self.closed then return end
  local ok, err = pcall(self.core.drive, self.core, fd, events)
  if not ok then report(err) end
  sync(self)
end

local function on_timer(self)
  if self.closed then return end
  local ok, err = pcall(self.core.drive_timeout, self.core)
  if not ok then report(err) end
  sync(self)
end

local function on_events(self)
  if self.closed then return end
  local ok, err = pcall(self.core.drive_events, self.core)
  if not ok then report(err) end
  sync(self)
end

-- Makes the poll handles and the timer match what curl asked for. With
-- the event_fd, its one poll handle never changes. Otherwise sockets are
-- keyed by the core's id, not the descriptor: curl may close one and open
-- another with the same number, and libuv must let go of the old one
-- first. (A socket whose connection failed makes libuv report EBADF, which
-- Neovim's luv prints on stderr: the event_fd avoids that too.)
sync = function(self)
  if self.closed then return end
  local sockets, timeout_ms = self.core:pending()
  if self.event_poll then sockets = {} end
  local live = {}
  for _, s in ipairs(sockets) do live[s.id] = s end
  for id, p in pairs(self.polls) do
    if not live[id] then
      p.handle:stop()
      p.handle:close()
      self.polls[id] = nil
    end
  end
  for id, s in pairs(live) do
    local p = self.polls[id]
    if not p then
      p = { handle = uv.new_poll(s.fd), fd = s.fd }
      self.polls[id] = p
    end
    if p.events ~= s.events then
      p.events = s.events
      p.handle:start(s.events, function(err, events)
        on_ready(self, p.fd, err and "e" or events)
      end)
    end
  end
  self.timer:stop()
  if timeout_ms then
    self.timer:start(timeout_ms, 0, function() on_timer(self) end)
  end
end

--- cs.client([options]): the core client's options (base_url, timeout,
-- max_connections, ...), driven by Neovim's loop.
function _M.client(options)
  local c = core.client(options)
  local self = setmetatable({ core = c, polls = {}, timer = uv.new_timer(), closed = false }, client_mt)
  local fd = _M.use_event_fd and c:event_fd()
  if fd then
    self.event_poll = uv.new_poll(fd)
    self.event_poll:start("r", function() on_events(self) end)
  end
  return self
end

local function method(name)
  local async_name = name .. "_async"
  return function(self, ...)
    if type(self) ~= "table" or getmetatable(self) ~= client_mt then
      error(("bad self to %s (a chronosheets.nvim client expected)"):format(name), 2)
    end
    local n = select("#", ...)
    local args = { ... }
    local at = n
    if type(args[n]) == "table" and type(args[n - 1]) == "function" then at = n - 1 end
    local callback = args[at]
    if type(callback) ~= "function" then
      error(("bad argument #%d to '%s' (the callback function(err, result) expected)"):format(at, name), 2)
    end
    args[at] = function(err, result)
      schedule(function() callback(err, result) end)
    end
    local handle = self.core[async_name](self.core, unpack(args, 1, n))
    sync(self)
    return handle
  end
end

for _, name in ipairs{ "login", "get_my_profile", "keep_session_alive", "update_my_profile",
                       "logout", "request" } do
  client[name] = method(name)
  client[name .. "_async"] = client[name]
end

--- Calls started and not yet delivered or cancelled.
function client:in_flight()
  if self.closed then return 0 end
  return self.core:in_flight()
end

--- Cancels every call (their callbacks never run) and frees the handles.
-- Idempotent.
function client:close()
  if self.closed then return end
  self.closed = true
  for id, p in pairs(self.polls) do
    p.handle:stop()
    p.handle:close()
    self.polls[id] = nil
  end
  if self.event_poll then
    self.event_poll:stop()
    self.event_poll:close()
  end
  self.timer:stop()
  self.timer:close()
  self.core:close()
end

client_mt.__tostring = function(self)
  return "chronosheets.nvim " .. (self.closed and "client (closed)" or tostring(self.core))
end

return _M
