--- chronosheets.resty: the client inside OpenResty / nginx's Lua module,
-- without ever stalling the worker.
--
-- The methods look like the blocking client's (same arguments, same
-- result or nil, err), but each starts a non-blocking call of the C core
-- and parks only the calling request on an ngx.semaphore. One light
-- thread per client (an ngx.timer) drives libcurl while calls are in
-- flight: it asks curl for whatever is ready without waiting
-- (client:wait(0)) and otherwise sleeps with ngx.sleep, 1 ms at first,
-- backing off to 10 ms while nothing changes. nginx's Lua module has no
-- way to wait on a descriptor it did not open, so this polling is the
-- honest price: a reply is seen up to 10 ms late, and a worker with calls
-- in flight wakes at most 1000 times a second. The light thread ends when
-- no call is left.
--
--     local cs = require "chronosheets.resty"
--     local client = cs.client{ base_url = "https://api.chronosheets.com" }  -- one per worker
--     -- in a handler (rewrite, access, content, timer: where ngx.sleep may run)
--     local profile, err = client:get_my_profile(token)

local core = require "chronosheets.core"
local semaphore = require "ngx.semaphore"

local ngx = ngx  -- luacheck: ignore 113
local error = error
local getmetatable = getmetatable
local ipairs = ipairs
local pairs = pairs
local math_min = math.min
local pcall = pcall
local select = select
local setmetatable = setmetatable
local tostring = tostring
local type = type
local unpack = table.unpack or unpack  -- luacheck: ignore 143

local MIN_STEP, MAX_STEP = 0.001, 0.01   -- seconds between polls while calls are in flight

local _M = { _VERSION = core.VERSION }

local client = {}
local client_mt = { __index = client }

local function local_error(message)
  return setmetatable({ kind = "transport", message = message, validation_errors = {} }, core.error_mt)
end

--- cs.client([options]): the core client's options (base_url, timeout,
-- max_connections, ...). Create it per worker (init_worker_by_lua or
-- lazily in a module): it cannot be shared between workers.
function _M.client(options)
  local c = core.client(options)
  local timeout = type(options) == "table" and options.timeout or 30
  -- curl's own timeout ends every call; this bound only guards the wait
  -- against a driver that died.
  return setmetatable({ core = c, driving = false, closed = false, wait_timeout = timeout + 5,
                        waiting = {} },
                      client_mt)
end

-- The light thread: runs until no call is left on the client.
local function drive(premature, self)
  if premature then
    self.driving = false
    return
  end
  local step, last = MIN_STEP, -1
  while not self.closed do
    local ok, n = pcall(self.core.wait, self.core, 0)
    if not ok then
      -- a callback raised (ours do not); keep driving the others
      ngx.log(ngx.ERR, "chronosheets: ", tostring(n))
      n = self.core:in_flight()
    end
    if n == 0 then break end
    if n ~= last then
      step, last = MIN_STEP, n
    else
      step = math_min(step * 2, MAX_STEP)
    end
    ngx.sleep(step)
  end
  self.driving = false
end

local function ensure_driver(self)
  if self.driving then return true end
  local ok, err = ngx.timer.at(0, drive, self)
  if not ok then return nil, err end
  self.driving = true
  return true
end

local function method(name)
  local async_name = name .. "_async"
  return function(self, ...)
    if getmetatable(self) ~= client_mt then
      error(("bad self to %s (a chronosheets.resty client expected)"):format(name), 2)
    end
    local sem = semaphore.new()
    local box = {}
    local n = select("#", ...)
    local args = { ... }
    args[n + 1] = function(err, result)
      box.err, box.result, box.done = err, result, true
      sem:post(1)
    end
    local handle = self.core[async_name](self.core, unpack(args, 1, n + 1))
    local ok, err = ensure_driver(self)
    if not ok then
      handle:cancel()
      return nil, local_error("cannot start the driver: " .. tostring(err))
    end
    self.waiting[box] = sem
    sem:wait(self.wait_timeout)
    self.waiting[box] = nil
    if not box.done then
      handle:cancel()
      return nil, local_error("no reply within " .. self.wait_timeout .. " s")
    end
    if box.err ~= nil then return nil, box.err end
    return box.result
  end
end

for _, name in ipairs{ "login", "get_my_profile", "keep_session_alive", "update_my_profile",
                       "logout", "request" } do
  client[name] = method(name)
end

--- Calls in flight on this client (from every request of the worker).
function client:in_flight()
  if self.closed then return 0 end
  return self.core:in_flight()
end

--- Cancels every call, whose requests then get nil and a transport
-- error, and frees the handles. Idempotent.
function client:close()
  if self.closed then return end
  self.closed = true
  self.core:close()
  for box, sem in pairs(self.waiting) do
    box.done, box.err = true, local_error("the client was closed")
    sem:post(1)
  end
end

client_mt.__tostring = function(self)
  return "chronosheets.resty " .. (self.closed and "client (closed)" or tostring(self.core))
end

return _M
