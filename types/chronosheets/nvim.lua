---@meta chronosheets.nvim
-- LuaLS definitions of `require "chronosheets.nvim"`: the non-blocking
-- calls driven by Neovim's own loop (vim.uv poll handles and a timer).
-- Callbacks run through vim.schedule, where the whole vim API is allowed.

---@class chronosheets.nvim
---@field _VERSION string
---@field use_event_fd boolean true (default): one poll handle on the core's epoll set where there is one; false: one per socket (pending/drive), for clients created from then on
local nvim = {}

---A client driven by Neovim's loop; takes the core client's options.
---@param options? chronosheets.ClientOptions
---@return chronosheets.nvim.Client
function nvim.client(options) end

---Every endpoint method takes the blocking method's arguments, then the
---callback `(err, result)`, then optionally `{ timeout = seconds }`, and
---returns the call handle at once. The `NAME_async` spellings are the same
---functions, so `chronosheets.async`'s await works on these clients too.
---@class chronosheets.nvim.Client
---@field core chronosheets.Client the core client, for a blocking call when one is wanted
local NvimClient = {}

---@param credentials chronosheets.Credentials
---@param callback fun(err: chronosheets.Error?, result: chronosheets.LoginResult?)
---@param options? chronosheets.AsyncOptions
---@return chronosheets.Call
function NvimClient:login(credentials, callback, options) end

---@param token string
---@param callback fun(err: chronosheets.Error?, profile: chronosheets.Profile?)
---@param options? chronosheets.AsyncOptions
---@return chronosheets.Call
function NvimClient:get_my_profile(token, callback, options) end

---@param token string
---@param callback fun(err: chronosheets.Error?, ok: true?)
---@param options? chronosheets.AsyncOptions
---@return chronosheets.Call
function NvimClient:keep_session_alive(token, callback, options) end

---@param token string
---@param fields chronosheets.ProfileFields
---@param callback fun(err: chronosheets.Error?, result: chronosheets.UpdateResult?)
---@param options? chronosheets.AsyncOptions
---@return chronosheets.Call
function NvimClient:update_my_profile(token, fields, callback, options) end

---@param token string
---@param callback fun(err: chronosheets.Error?, ok: true?)
---@param options? chronosheets.AsyncOptions
---@return chronosheets.Call
function NvimClient:logout(token, callback, options) end

---@param method chronosheets.HttpMethod
---@param path string
---@param request_options? chronosheets.RequestOptions
---@param callback fun(err: chronosheets.Error?, envelope: chronosheets.Envelope?)
---@param options? chronosheets.AsyncOptions
---@return chronosheets.Call
---@overload fun(self: chronosheets.nvim.Client, method: chronosheets.HttpMethod, path: string, callback: fun(err: chronosheets.Error?, envelope: chronosheets.Envelope?), options?: chronosheets.AsyncOptions): chronosheets.Call
function NvimClient:request(method, path, request_options, callback, options) end

NvimClient.login_async = NvimClient.login
NvimClient.get_my_profile_async = NvimClient.get_my_profile
NvimClient.keep_session_alive_async = NvimClient.keep_session_alive
NvimClient.update_my_profile_async = NvimClient.update_my_profile
NvimClient.logout_async = NvimClient.logout
NvimClient.request_async = NvimClient.request

---@return integer in_flight calls started and not yet delivered or cancelled
function NvimClient:in_flight() end

---Cancels every call (their callbacks never run) and frees the handles;
---idempotent.
function NvimClient:close() end

return nvim
