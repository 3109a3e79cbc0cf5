---@meta chronosheets
-- LuaLS (lua-language-server) definitions of the public API of
-- `require "chronosheets"`, for completion and type checks in Neovim and
-- other editors. Nothing here runs: it describes the C core
-- (chronosheets.core, which has no Lua source) and the Lua layer
-- (lua/chronosheets/init.lua) together.
--
-- Use: add this file's directory to LuaLS's `workspace.library` (the rock
-- installs it as `types/` in its rock directory, see the README's "Editor
-- support"). spec/17-types_spec.lua checks that what is declared here and
-- what the module has stay the same.

---------------------------------------------------------------------------
-- Options and arguments

---Options of `cs.client` (all optional; a key not listed here raises).
---@class chronosheets.ClientOptions
---@field base_url? string `http://` or `https://` URL of the API, no user or password in it; default `"https://api.chronosheets.com"`
---@field timeout? number seconds for a whole call, fractions allowed; default 30
---@field connect_timeout? number seconds to connect; default 10
---@field low_speed_limit? integer bytes per second; a reply slower than this for `low_speed_time` fails; default 0 (off)
---@field low_speed_time? number seconds, with `low_speed_limit`; default 30
---@field ca_file? string a PEM file of CA certificates to trust; default the system's bundle
---@field verify_tls? boolean `false` turns off certificate and host name checks (testing only); default true
---@field proxy? string `"http://host:port"`; `""` means no proxy whatever the environment says; default curl's `*_proxy` variables, read when the client is created
---@field user_agent? string the User-Agent header; default `"chronosheets-lua/<version> libcurl/<version>"`
---@field max_response_bytes? integer a longer reply is cut off with a `transport` error; default 8388608 (8 MiB)
---@field allow_insecure_http? boolean allow plain `http://` to hosts other than loopback; default false
---@field max_connections? integer most connections the non-blocking calls open at once (per host and in all); default 16
---@field share? boolean `true` makes the client share connections, TLS sessions and DNS answers with every other client created with `share = true` in the process; default false

---Credentials of `client:login` and `client:session`.
---@class chronosheets.Credentials
---@field username_or_email string user name or e-mail address (any case)
---@field password string
---@field remember_me? boolean a longer session than the default hour

---`cs.login` takes the credentials and any client option in one table.
---@class chronosheets.LoginOptions: chronosheets.Credentials, chronosheets.ClientOptions

---Fields of `client:update_my_profile` and `session:update`; absent fields
---are left as they are.
---@class chronosheets.ProfileFields
---@field email_address? string
---@field first_name? string
---@field last_name? string
---@field is_subscribed_to_newsletter? boolean
---@field wants_to_change_password? boolean with `old_password`, `new_password`, `confirm_new_password`
---@field old_password? string
---@field new_password? string
---@field confirm_new_password? string

---@alias chronosheets.HttpMethod "GET"|"POST"|"PUT"|"DELETE"|"PATCH"

---Options of `client:request`.
---@class chronosheets.RequestOptions
---@field token? string sent as `x-chronosheets-auth`
---@field body? table|string a table is encoded as JSON with its keys as given (wire names: `UsernameOrEmail`); a string is sent as it is

---The last argument of a `NAME_async` method, after the callback.
---@class chronosheets.AsyncOptions
---@field timeout? number seconds for this call, instead of the client's `timeout`

---A JSON codec for `cs.use_json` (lua-cjson is used when none is given).
---@class chronosheets.JsonCodec
---@field decode fun(text: string): any raises on text that is not JSON
---@field encode fun(value: any): string
---@field null? any what `decode` gives for a JSON null (`vim.NIL`, `cjson.null`, `dkjson.null`); nil when it gives nil

---------------------------------------------------------------------------
-- Results (every member may be absent: JSON nulls are dropped)

---@class chronosheets.PricingPlan
---@field plan_id? string
---@field quantity? integer

---@class chronosheets.Organisation
---@field id? integer
---@field name? string
---@field address_line01? string
---@field address_line02? string
---@field suburb? string
---@field state? string
---@field postcode? string
---@field country? string
---@field phone? string
---@field email_address? string
---@field timezone? string
---@field subscription_customer_id? string
---@field signup_token? string
---@field is_active? boolean
---@field stripe_coupon_code? string
---@field subscription_source? string
---@field sign_up_source? string
---@field mobile_sign_up_code? string
---@field subscription_cycle_start? string ISO 8601 date-time
---@field subscription_cycle_end? string ISO 8601 date-time
---@field pricing_plans? chronosheets.PricingPlan[]

---The logged-in user, as `login` returns it.
---@class chronosheets.User
---@field id? integer
---@field organisation_id? integer
---@field user_name? string
---@field first_name? string
---@field last_name? string
---@field email_address? string
---@field roles? integer bit field of permissions
---@field alert_settings? integer bit field
---@field setup_wizard_required? boolean
---@field is_subscribed_to_newsletter? boolean
---@field organisation? chronosheets.Organisation
---@field is_primary_account? boolean

---@class chronosheets.LoginResult
---@field cs_auth_token string the token every later call sends
---@field logged_in_user? chronosheets.User

---@class chronosheets.Profile
---@field id? integer
---@field organisation_id? integer
---@field user_name? string
---@field first_name? string
---@field last_name? string
---@field email_address? string
---@field is_subscribed_to_newsletter? boolean
---@field roles? integer
---@field alert_settings? integer
---@field organisation_name? string
---@field organisation_suburb? string
---@field organisation_country? string

---@class chronosheets.UpdateResult
---@field organisation_id? integer
---@field user_id? integer
---@field validation_errors? string[]

---The whole reply of `client:request`, keys in snake_case.
---@class chronosheets.Envelope
---@field data any
---@field status "Succeeded"
---@field message? string

---------------------------------------------------------------------------
-- Errors

---@alias chronosheets.ErrorKind
---| "api"       # the envelope's Status is not Succeeded
---| "http"      # an error status without an envelope
---| "transport" # libcurl failed: refused, timed out, TLS, too large
---| "decode"    # a 2xx reply that is not a usable envelope

---@alias chronosheets.Status "FatalException"|"GeneralError"|"ValidationError"|"UnAuthorized"|"SessionExpired"

---What every failure of the network or the server returns as `nil, err`;
---`tostring(err)` gives one line. Its metatable is `cs.error_mt`.
---@class chronosheets.Error
---@field kind chronosheets.ErrorKind
---@field status? chronosheets.Status|string the envelope's Status, for `api` errors
---@field message string what happened, in one line; never holds the password or the token
---@field http_status? integer the HTTP status, when a reply came
---@field validation_errors string[] the server's reasons, empty when none
---@field curl_code? integer libcurl's error number, for `transport` errors

---------------------------------------------------------------------------
-- The client (C core)

---One libcurl handle, reused by every call. Every endpoint method returns
---its result, or `nil, err` on a failure of the network or the server; a
---programming error (missing token, unknown field, wrong type, closed
---client) raises before anything is sent.
---@class chronosheets.Client
local Client = {}

---Logs in (PUT /UserProfile/DoLogin).
---@param credentials chronosheets.Credentials
---@return chronosheets.LoginResult? result
---@return chronosheets.Error? err
function Client:login(credentials) end

---The profile of the token's user (GET /UserProfile/GetMyProfile).
---@param token string
---@return chronosheets.Profile? profile
---@return chronosheets.Error? err
function Client:get_my_profile(token) end

---Extends the session (GET /UserProfile/KeepSessionAlive).
---@param token string
---@return true? ok
---@return chronosheets.Error? err
function Client:keep_session_alive(token) end

---Updates profile fields (PUT /UserProfile/UpdateMyProfile).
---@param token string
---@param fields chronosheets.ProfileFields
---@return chronosheets.UpdateResult? result
---@return chronosheets.Error? err
function Client:update_my_profile(token, fields) end

---Logs out (DELETE /UserProfile/DoLogout).
---@param token string
---@return true? ok
---@return chronosheets.Error? err
function Client:logout(token) end

---Any other call of the ChronoSheets API, with the same headers, checks
---and errors; `path` starts with `/`.
---@param method chronosheets.HttpMethod
---@param path string
---@param options? chronosheets.RequestOptions
---@return chronosheets.Envelope? envelope
---@return chronosheets.Error? err
function Client:request(method, path, options) end

---Logs in on this client and returns a session that uses it (and does not
---close it).
---@param credentials chronosheets.Credentials
---@return chronosheets.Session? session
---@return chronosheets.Error? err
function Client:session(credentials) end

---Releases the libcurl handle; idempotent. Also run by the garbage
---collector and by `<close>` (Lua 5.4).
function Client:close() end

---------------------------------------------------------------------------
-- Non-blocking calls (C core, libcurl's multi interface)
--
-- client:NAME_async(args..., callback [, options]) starts the call and
-- returns at once; the callback gets (err, result) once the client is
-- driven: client:wait() in plain Lua, or a host loop that watches what
-- client:pending() lists and calls client:drive / client:drive_timeout.
-- Callbacks run only inside those calls, never from another thread.

---A socket curl wants watched, from `client:pending()`.
---@class chronosheets.Watch
---@field fd integer the socket's descriptor
---@field events "r"|"w"|"rw" readiness to wait for
---@field id integer changes when curl replaces a socket that reuses the descriptor number

---The handle of one non-blocking call.
---@class chronosheets.Call
local Call = {}

---Cancels the call: its callback never runs, its connection is closed and
---its memory released.
---@return boolean was_in_flight
function Call:cancel() end

---@return "running"|"done"|"over" status `done`: finished, waiting for delivery
function Call:status() end

---@param credentials chronosheets.Credentials
---@param callback fun(err: chronosheets.Error?, result: chronosheets.LoginResult?)
---@param options? chronosheets.AsyncOptions
---@return chronosheets.Call
function Client:login_async(credentials, callback, options) end

---@param token string
---@param callback fun(err: chronosheets.Error?, profile: chronosheets.Profile?)
---@param options? chronosheets.AsyncOptions
---@return chronosheets.Call
function Client:get_my_profile_async(token, callback, options) end

---@param token string
---@param callback fun(err: chronosheets.Error?, ok: true?)
---@param options? chronosheets.AsyncOptions
---@return chronosheets.Call
function Client:keep_session_alive_async(token, callback, options) end

---@param token string
---@param fields chronosheets.ProfileFields
---@param callback fun(err: chronosheets.Error?, result: chronosheets.UpdateResult?)
---@param options? chronosheets.AsyncOptions
---@return chronosheets.Call
function Client:update_my_profile_async(token, fields, callback, options) end

---@param token string
---@param callback fun(err: chronosheets.Error?, ok: true?)
---@param options? chronosheets.AsyncOptions
---@return chronosheets.Call
function Client:logout_async(token, callback, options) end

---`request_options` may be left out: `client:request_async("GET", path, callback)`.
---@param method chronosheets.HttpMethod
---@param path string
---@param request_options? chronosheets.RequestOptions
---@param callback fun(err: chronosheets.Error?, envelope: chronosheets.Envelope?)
---@param options? chronosheets.AsyncOptions
---@return chronosheets.Call
---@overload fun(self: chronosheets.Client, method: chronosheets.HttpMethod, path: string, callback: fun(err: chronosheets.Error?, envelope: chronosheets.Envelope?), options?: chronosheets.AsyncOptions): chronosheets.Call
function Client:request_async(method, path, request_options, callback, options) end

---What a host loop must watch: the sockets, the milliseconds until curl's
---timer (0 when due, nil when none is set) and the calls in flight.
---@return chronosheets.Watch[] watches
---@return integer? timeout_ms
---@return integer in_flight
function Client:pending() end

---Tells curl a watched socket is ready, then runs the callbacks of the
---calls that finished. Raises again the first error a callback raised.
---@param fd integer
---@param events? "r"|"w"|"rw"|"e" `e` for an error; nil when unknown
---@return integer in_flight
function Client:drive(fd, events) end

---Tells curl its timer went off, then runs the finished calls' callbacks.
---@return integer in_flight
function Client:drive_timeout() end

---One round for plain Lua: waits (at most `timeout` seconds; default no
---limit) for a socket or curl's timer, drives, delivers.
---`while client:wait() > 0 do end` runs every call to its end.
---@param timeout? number seconds
---@return integer in_flight
function Client:wait(timeout) end

---@return integer in_flight calls started and not yet delivered or cancelled
function Client:in_flight() end

---One descriptor (an epoll set; Linux only) readable whenever a socket curl
---watches is ready, so a host loop can watch it alone: `drive_events()`
---when readable, `drive_timeout()` for curl's timer (`pending()`'s
---timeout). Valid until the client is closed.
---@return integer? fd
---@return string? err why there is none (no epoll on this system)
function Client:event_fd() end

---Tells curl about every socket of the `event_fd` set that is ready,
---without waiting, and about its timer when due; then runs the finished
---calls' callbacks.
---@return integer in_flight
function Client:drive_events() end

---------------------------------------------------------------------------
-- Sessions (Lua layer)

---A logged-in user: holds the token (kept outside the table, so dumping a
---session never shows it) and forgets it at logout or on SessionExpired.
---Methods on a logged-out session raise "the session is logged out".
---@class chronosheets.Session
---@field client chronosheets.Client the client the session calls through
---@field user? chronosheets.User the `logged_in_user` of the login reply
---@field token? string the token; nil once logged out
---@field owns_client boolean whether logout closes the client (sessions from `cs.login`)
local Session = {}

---@return chronosheets.Profile? profile
---@return chronosheets.Error? err
function Session:profile() end

---@return true? ok
---@return chronosheets.Error? err
function Session:keep_alive() end

---@param fields chronosheets.ProfileFields
---@return chronosheets.UpdateResult? result
---@return chronosheets.Error? err
function Session:update(fields) end

---Sends WantsToChangePassword with the old password and the new one twice.
---@param old_password string
---@param new_password string
---@return chronosheets.UpdateResult? result
---@return chronosheets.Error? err
function Session:change_password(old_password, new_password) end

---Logs out and forgets the token; idempotent (true when already logged
---out). The token is forgotten even when the server cannot be reached.
---@return boolean ok
---@return chronosheets.Error? err
function Session:logout() end

---------------------------------------------------------------------------
-- The module

---The C core, `require "chronosheets.core"`: what `chronosheets` builds on.
---@class chronosheets.core
---@field VERSION string
---@field error_mt metatable the metatable of every error table
---@field client_methods chronosheets.Client the method table of clients (the Lua layer adds `session`)
local core = {}

---Creates a client; an unknown option or a wrong value raises.
---@param options? chronosheets.ClientOptions
---@return chronosheets.Client
function core.client(options) end

---Sets the JSON codec every client uses from then on.
---@param codec chronosheets.JsonCodec
function core.use_json(codec) end

---libcurl's version string.
---@return string
function core.curl_version() end

---@class chronosheets
---@field VERSION string the module's version, e.g. "0.1.0"
---@field _VERSION string the same
---@field error_mt metatable the metatable of every error table (`__tostring`, `__name` "chronosheets.error")
---@field session_mt metatable the metatable of sessions
local chronosheets = {}

---Creates a client; an unknown option or a wrong value raises.
---@param options? chronosheets.ClientOptions
---@return chronosheets.Client
function chronosheets.client(options) end

---Creates a client with the options, logs in and returns a session that
---owns the client (its logout closes it).
---@param options chronosheets.LoginOptions
---@return chronosheets.Session? session
---@return chronosheets.Error? err
function chronosheets.login(options) end

---Sets the JSON codec every client uses from then on, for hosts without
---lua-cjson (Neovim: `cs.use_json{ decode = vim.json.decode, encode = vim.json.encode, null = vim.NIL }`).
---@param codec chronosheets.JsonCodec
function chronosheets.use_json(codec) end

---libcurl's version string.
---@return string
function chronosheets.curl_version() end

return chronosheets
