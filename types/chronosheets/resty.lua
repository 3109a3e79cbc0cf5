---@meta chronosheets.resty
-- LuaLS definitions of `require "chronosheets.resty"`: the client inside
-- OpenResty / nginx's Lua module. Its methods read like the blocking
-- client's (same arguments, result or nil, err) but park only the calling
-- request, never the worker; call them where ngx.sleep may run (rewrite,
-- access, content, timer).

---@class chronosheets.resty
---@field _VERSION string
local resty = {}

---A client for this worker (it cannot be shared between workers); takes
---the core client's options.
---@param options? chronosheets.ClientOptions
---@return chronosheets.resty.Client
function resty.client(options) end

---@class chronosheets.resty.Client
---@field core chronosheets.Client the core client
local RestyClient = {}

---@param credentials chronosheets.Credentials
---@return chronosheets.LoginResult? result
---@return chronosheets.Error? err
function RestyClient:login(credentials) end

---@param token string
---@return chronosheets.Profile? profile
---@return chronosheets.Error? err
function RestyClient:get_my_profile(token) end

---@param token string
---@return true? ok
---@return chronosheets.Error? err
function RestyClient:keep_session_alive(token) end

---@param token string
---@param fields chronosheets.ProfileFields
---@return chronosheets.UpdateResult? result
---@return chronosheets.Error? err
function RestyClient:update_my_profile(token, fields) end

---@param token string
---@return true? ok
---@return chronosheets.Error? err
function RestyClient:logout(token) end

---@param method chronosheets.HttpMethod
---@param path string
---@param options? chronosheets.RequestOptions
---@return chronosheets.Envelope? envelope
---@return chronosheets.Error? err
function RestyClient:request(method, path, options) end

---@return integer in_flight calls in flight on this client, from every request of the worker
function RestyClient:in_flight() end

---Cancels every call (their requests get nil and a transport error) and
---frees the handles; idempotent.
function RestyClient:close() end

return resty
