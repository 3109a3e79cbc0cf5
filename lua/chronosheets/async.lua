--- chronosheets.async: coroutines over the non-blocking calls of the core.
--
-- Inside a coroutine, await() starts client:NAME_async(...) and yields
-- until the callback comes, then returns what the blocking method would
-- have returned (the result, or nil and the error value). Something must
-- drive the client meanwhile: client:wait() in plain Lua, or the Neovim
-- adapter (chronosheets.nvim).
--
--     local async = require "chronosheets.async"
--     async.run(function()
--       local login = assert(async.await(client, "login", credentials))
--       local profile = assert(async.await(client, "get_my_profile", login.cs_auth_token))
--     end)
--     while client:wait() > 0 do end

local coroutine_create = coroutine.create
local coroutine_resume = coroutine.resume
local coroutine_running = coroutine.running
local coroutine_yield = coroutine.yield
local error = error
local select = select
local tostring = tostring
local type = type
local unpack = table.unpack or unpack  -- luacheck: ignore 143

local _M = { _VERSION = require("chronosheets.core").VERSION }

--- Starts client:<name>_async(...) and yields until its callback; returns
-- result, or nil, err. Raises outside a coroutine, and for the argument
-- errors the blocking method raises. A call cancelled through the handle
-- never resumes the coroutine, so this returns nothing to cancel: give the
-- call a timeout instead (client option `timeout`).
function _M.await(client, name, ...)
  local co, main = coroutine_running()
  if co == nil or main then
    error("chronosheets.async.await must run inside a coroutine", 2)
  end
  local method = type(name) == "string" and client[name .. "_async"]
  if type(method) ~= "function" then
    error(("bad argument #2 to 'await' (no non-blocking method '%s')"):format(tostring(name)), 2)
  end
  local n = select("#", ...)
  local args = { ... }
  local waiting, done, e, r = false, false, nil, nil
  args[n + 1] = function(err, result)
    if waiting then
      waiting = false
      local ok, why = coroutine_resume(co, err, result)
      if not ok then error(why, 0) end  -- re-raised by the driver once all are delivered
    else
      done, e, r = true, err, result
    end
  end
  method(client, unpack(args, 1, n + 1))
  if not done then
    waiting = true
    e, r = coroutine_yield()
  end
  if e ~= nil then return nil, e end
  return r
end

--- Runs fn(...) in a new coroutine until its first await; raises what fn
-- raises before that. Returns the coroutine.
function _M.run(fn, ...)
  local co = coroutine_create(fn)
  local ok, err = coroutine_resume(co, ...)
  if not ok then error(err, 0) end
  return co
end

return _M
