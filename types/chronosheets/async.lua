---@meta chronosheets.async
-- LuaLS definitions of `require "chronosheets.async"`: coroutines over the
-- non-blocking calls (see types/chronosheets.lua).

---@class chronosheets.async
---@field _VERSION string
local async = {}

---Inside a coroutine: starts `client:<name>_async(...)`, yields until its
---callback, and returns what the blocking method would (the result, or
---nil and the error). Something must drive the client meanwhile
---(`client:wait()`, or a host loop). Raises outside a coroutine.
---@param client chronosheets.Client
---@param name "login"|"get_my_profile"|"keep_session_alive"|"update_my_profile"|"logout"|"request"
---@param ... any the blocking method's arguments
---@return any result
---@return chronosheets.Error? err
function async.await(client, name, ...) end

---Runs fn(...) in a new coroutine until its first await; raises what fn
---raises before that.
---@param fn fun(...): any
---@param ... any
---@return thread
function async.run(fn, ...) end

return async
