-- chronosheets_emulator: a local stand-in for the ChronoSheets UserProfile API.
--
-- Runs inside nginx's Lua module (see ../nginx.conf.in).  Replies use the
-- member names and types of ../../../shared/reference/WIRE.md.  All mutable
-- state (users, sessions, clock, config, last request) lives in shared dicts
-- so it survives from one request to the next and is visible to every worker.

local cjson = require "cjson.safe"
local faults = require "chronosheets_faults"   -- test-only

local ngx = ngx
local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local setmetatable = setmetatable
local getmetatable = getmetatable
local error = error
local floor = math.floor
local abs = math.abs
local random = math.random
local randomseed = math.randomseed
local sort = table.sort
local concat = table.concat
local format = string.format
local lower = string.lower
local io_open = io.open

local users_dict = ngx.shared.chronosheets_users
local sessions_dict = ngx.shared.chronosheets_sessions
local config_dict = ngx.shared.chronosheets_config

local _M = { _VERSION = "0.1.0" }

local DEFAULT_SESSION_SECONDS = 3600
local REMEMBER_ME_SESSION_SECONDS = 14 * 24 * 3600
local MIN_PASSWORD_CHARACTERS = 8
local MAX_DELAY_MS = 10 * 60 * 1000

local MSG_BAD_CREDENTIALS = "Invalid username/email or password"
local MSG_MISSING_AUTH = "Missing x-chronosheets-auth header"
local MSG_SESSION_EXPIRED = "Your session has expired, please log in again"
local MSG_VALIDATION = "One or more validation errors occurred"
local MSG_NOT_FOUND = "No HTTP resource was found that matches the request URI"

local CONTENT_TYPE = "application/json; charset=utf-8"

-- Set by init() in the master; forked workers inherit them read-only.
local fixture          -- { organisations = {[id] = org}, users = {user, ...} }
local test_mode = false
local runtime_dir      -- where the emulator script keeps its files
local port             -- the API's port; the test listeners follow it
local token_counter = 0

------------------------------------------------------------------------------
-- JSON
--
-- Debian's lua-cjson 2.1.0 encodes every empty table as {} and has no
-- empty_array sentinel, but the wire needs [] for ValidationErrors and
-- PricingPlans.  So replies go through a small encoder that knows arrays by
-- a metatable (and emits model members in their documented order); cjson
-- still does the string escaping and the decoding.

local array_mt = {}

local function array(t)
    return setmetatable(t or {}, array_mt)
end

local function is_sequence(t)
    local n = #t
    if n == 0 then
        return false
    end
    for k in pairs(t) do
        if type(k) ~= "number" or k < 1 or k > n or k ~= floor(k) then
            return false
        end
    end
    return true
end

local encode

local function encode_array(t)
    local parts = {}
    for i = 1, #t do
        parts[i] = encode(t[i])
    end
    return "[" .. concat(parts, ",") .. "]"
end

-- cjson escapes "/" as "\/"; valid, but surprising in "username/email".
-- Every "/" it emits carries that backslash and escapes are read left to
-- right, so dropping it cannot join with an escaped backslash before it.
local function encode_string(s)
    return (cjson.encode(s):gsub("\\/", "/"))
end

local function by_name(a, b)
    return tostring(a) < tostring(b)
end

local function encode_object(t, order)
    if not order then
        order = {}
        for k in pairs(t) do
            order[#order + 1] = k
        end
        sort(order, by_name)
    end
    local parts = {}
    for i, k in ipairs(order) do
        parts[i] = encode_string(tostring(k)) .. ":" .. encode(t[k])
    end
    return "{" .. concat(parts, ",") .. "}"
end

encode = function(value)
    local kind = type(value)
    if value == nil or value == cjson.null then
        return "null"
    elseif kind == "boolean" then
        return value and "true" or "false"
    elseif kind == "number" then
        -- Integral values print as integers (1, not 1.0 or 1e+15).
        if value == floor(value) and abs(value) < 2 ^ 53 then
            return format("%d", value)
        end
        return cjson.encode(value) or "null"   -- nil for NaN/inf
    elseif kind == "string" then
        return encode_string(value)
    elseif kind == "table" then
        local mt = getmetatable(value)
        if mt == array_mt or (mt == nil and is_sequence(value)) then
            return encode_array(value)
        end
        return encode_object(value, mt and mt.order)
    end
    error("cannot encode a " .. kind .. " as JSON")
end

------------------------------------------------------------------------------
-- Models
--
-- Each schema lists a model's members in wire order with their JSON type.
-- shape() copies exactly those members out of a record, so internal fields
-- (the password) never leak; check() validates the fixture at start-up.

local function schema(members)
    local order = {}
    for i, m in ipairs(members) do
        order[i] = m[1]
    end
    members.mt = { order = order }
    return members
end

local PRICING_PLAN = schema {
    { "PlanId", "string" },
    { "Quantity", "integer" },
}

local ORGANISATION = schema {
    { "Id", "integer" },
    { "Name", "string" },
    { "AddressLine01", "string" },
    { "AddressLine02", "string" },
    { "Suburb", "string" },
    { "State", "string" },
    { "Postcode", "string" },
    { "Country", "string" },
    { "Phone", "string" },
    { "EmailAddress", "string" },
    { "Timezone", "string" },
    { "SubscriptionCustomerId", "string" },
    { "SignupToken", "string" },
    { "IsActive", "boolean" },
    { "StripeCouponCode", "string" },
    { "SubscriptionSource", "string" },
    { "SignUpSource", "string" },
    { "MobileSignUpCode", "string" },
    { "SubscriptionCycleStart", "string" },
    { "SubscriptionCycleEnd", "string" },
    { "PricingPlans", "array", PRICING_PLAN },
}

local CLIENT_SIDE_USER = schema {
    { "Id", "integer" },
    { "OrganisationId", "integer" },
    { "UserName", "string" },
    { "FirstName", "string" },
    { "LastName", "string" },
    { "EmailAddress", "string" },
    { "Roles", "integer" },
    { "AlertSettings", "integer" },
    { "SetupWizardRequired", "boolean" },
    { "IsSubscribedToNewsletter", "boolean" },
    { "Organisation", "object", ORGANISATION },
    { "IsPrimaryAccount", "boolean" },
}

local USER_PROFILE = schema {
    { "Id", "integer" },
    { "OrganisationId", "integer" },
    { "UserName", "string" },
    { "FirstName", "string" },
    { "LastName", "string" },
    { "EmailAddress", "string" },
    { "IsSubscribedToNewsletter", "boolean" },
    { "Roles", "integer" },
    { "AlertSettings", "integer" },
    { "OrganisationName", "string" },
    { "OrganisationSuburb", "string" },
    { "OrganisationCountry", "string" },
}

local DO_LOGIN_RESPONSE = schema {
    { "CSAuthToken", "string" },
    { "LoggedInUser", "object", CLIENT_SIDE_USER },
}

local UPDATE_PROFILE_RESPONSE = schema {
    { "OrganisationId", "integer" },
    { "UserId", "integer" },
    { "ValidationErrors", "array" },
}

-- A user as kept in the fixture and the users dict.
local USER_RECORD = schema {
    { "Id", "integer" },
    { "OrganisationId", "integer" },
    { "UserName", "string" },
    { "EmailAddress", "string" },
    { "Password", "string" },
    { "FirstName", "string" },
    { "LastName", "string" },
    { "Roles", "integer" },
    { "AlertSettings", "integer" },
    { "SetupWizardRequired", "boolean" },
    { "IsSubscribedToNewsletter", "boolean" },
    { "IsPrimaryAccount", "boolean" },
}

local function has_type(value, json_type)
    if json_type == "integer" then
        return type(value) == "number" and value == floor(value)
    elseif json_type == "array" or json_type == "object" then
        return type(value) == "table"
    end
    return type(value) == json_type
end

local function shape(model, record)
    local out = {}
    for _, m in ipairs(model) do
        local name, json_type, item = m[1], m[2], m[3]
        local value = record[name]
        if json_type == "array" then
            local items = array()
            for i, v in ipairs(value) do
                items[i] = item and shape(item, v) or v
            end
            value = items
        elseif json_type == "object" then
            value = shape(item, value)
        end
        out[name] = value
    end
    return setmetatable(out, model.mt)
end

local function check(model, record, where)
    if type(record) ~= "table" then
        error(where .. " must be an object", 0)
    end
    for _, m in ipairs(model) do
        local name, json_type, item = m[1], m[2], m[3]
        local value = record[name]
        if not has_type(value, json_type) then
            error(format("%s.%s must be a JSON %s", where, name, json_type), 0)
        end
        if json_type == "array" and item then
            for i, v in ipairs(value) do
                check(item, v, format("%s.%s[%d]", where, name, i))
            end
        end
    end
end

-- Shallow copy of record with the members of extra on top.
local function merge(record, extra)
    local out = {}
    for k, v in pairs(record) do
        out[k] = v
    end
    for k, v in pairs(extra) do
        out[k] = v
    end
    return out
end

------------------------------------------------------------------------------
-- Fixture and users

local function read_file(path)
    local f, err = io_open(path, "rb")
    if not f then
        error("cannot read " .. err, 0)
    end
    local text = f:read("*a")
    f:close()
    return text
end

local function load_fixture(path)
    local data, err = cjson.decode(read_file(path))
    if type(data) ~= "table" then
        error(format("fixture %s is not a JSON object: %s", path, tostring(err)), 0)
    end
    local organisations = {}
    for i, org in ipairs(data.organisations or {}) do
        check(ORGANISATION, org, format("organisations[%d]", i))
        organisations[org.Id] = org
    end
    for i, user in ipairs(data.users or {}) do
        local where = format("users[%d]", i)
        check(USER_RECORD, user, where)
        if not organisations[user.OrganisationId] then
            error(where .. ".OrganisationId names no organisation", 0)
        end
    end
    return { organisations = organisations, users = data.users or {} }
end

local function user_key(id)
    return "user:" .. format("%d", id)
end

local function save_user(user)
    local ok, err = users_dict:safe_set(user_key(user.Id), cjson.encode(user))
    if not ok then
        error("cannot store user " .. tostring(user.Id) .. ": " .. err)
    end
end

local function load_user(id)
    local text = users_dict:get(user_key(id))
    return text and cjson.decode(text)
end

-- Users in fixture order; the fixture fixes who exists, the dict holds
-- their current (possibly updated) details.
local function all_users()
    local list = {}
    for _, u in ipairs(fixture.users) do
        list[#list + 1] = load_user(u.Id)
    end
    return list
end

local function seed_users()
    users_dict:flush_all()
    users_dict:flush_expired()   -- free the space before refilling
    for _, user in ipairs(fixture.users) do
        save_user(user)
    end
    users_dict:set("seeded", true)
end

local function organisation_of(user)
    return fixture.organisations[user.OrganisationId]
end

------------------------------------------------------------------------------
-- Clock and sessions
--
-- The emulator's clock is real time plus an offset that tests move forward
-- (/_emulator/clock), so expiry can be tested without waiting.

local function now()
    return ngx.now() + (config_dict:get("clock_offset") or 0)
end

local function random_bytes(n)
    local f = io_open("/dev/urandom", "rb")
    if not f then
        return ""
    end
    local bytes = f:read(n) or ""
    f:close()
    return bytes
end

-- 64 lowercase hex characters.  urandom makes it unpredictable; the other
-- parts keep it unique should urandom be unavailable.
local function new_token()
    token_counter = token_counter + 1
    local seed = concat({ random_bytes(32), ngx.now(), ngx.worker.pid(),
                          token_counter, random() }, "|")
    return ngx.md5("1|" .. seed) .. ngx.md5("2|" .. seed)
end

-- The dict entry outlives the session by a second of real time at least;
-- the emulator clock only moves forward, so it never drops a live session.
local function store_session(token, session)
    local ttl = session.expires - now() + 1
    sessions_dict:set(token, cjson.encode(session), ttl > 1 and ttl or 1)
end

local function create_session(user, length)
    local token = new_token()
    store_session(token, { user_id = user.Id, length = length,
                           expires = now() + length })
    return token
end

-- Returns the session, or nil if unknown or expired (and then forgets it).
local function live_session(token)
    local text = sessions_dict:get(token)
    local session = text and cjson.decode(text)
    if not session then
        return nil
    end
    if session.expires <= now() then
        sessions_dict:delete(token)
        return nil
    end
    return session
end

local function count_live_sessions()
    local count = 0
    for _, token in ipairs(sessions_dict:get_keys(0)) do
        if live_session(token) then
            count = count + 1
        end
    end
    return count
end

------------------------------------------------------------------------------
-- Requests and replies

local function read_body()
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if body then
        return body
    end
    -- Only if nginx buffered it to disk, which the config tries to prevent.
    local path = ngx.req.get_body_file()
    return path and read_file(path) or ""
end

-- Decodes a JSON object; nil and a message when the body is anything else.
local function decode_object(body)
    if body == "" then
        return nil, "The request body is empty; a JSON object is required"
    end
    local value, err = cjson.decode(body)
    if value == nil then
        return nil, "The request body is not valid JSON: " .. tostring(err)
    end
    -- cjson turns [] and {} alike into a table; look at the text instead.
    if type(value) ~= "table" or not body:find("^%s*{") then
        return nil, "The request body must be a JSON object"
    end
    return value
end

-- Checks the members of a decoded request against expected JSON types
-- (a list of {name, type}); null counts as absent (nil), as ASP.NET's model
-- binder treats it.  Unknown members are ignored, as there too.
local function read_members(request, members)
    local out = {}
    for _, m in ipairs(members) do
        local name, json_type = m[1], m[2]
        local value = request[name]
        if value ~= nil and value ~= cjson.null then
            if not has_type(value, json_type) then
                return nil, format("The request is invalid: '%s' must be a %s",
                                   name, json_type)
            end
            out[name] = value
        end
    end
    return out
end

local function send(status, json, extra_headers)
    ngx.status = status
    ngx.header["Content-Type"] = CONTENT_TYPE
    for name, value in pairs(extra_headers or {}) do
        ngx.header[name] = value
    end
    ngx.print(json)
end

-- The envelope: Data, Status, Message, in that order.
local ENVELOPE_MT = { order = { "Data", "Status", "Message" } }

local function envelope(http_status, status, data, message)
    local body = setmetatable({ Data = data, Status = status,
                                Message = message or "" }, ENVELOPE_MT)
    return http_status, encode(body)
end

local function succeeded(data)
    return envelope(200, "Succeeded", data, "")
end

local function general_error(message)
    return envelope(400, "GeneralError", nil, message)
end

local LAST_REQUEST_MT = { order = { "method", "uri", "headers", "body", "parsed",
                                     "connection", "connection_requests" } }

local function record_last_request(method, body)
    config_dict:set("last_request", encode(setmetatable({
        method = method,
        uri = ngx.var.request_uri,
        headers = ngx.req.get_headers(),   -- names come lowercased
        body = body,
        parsed = cjson.decode(body),       -- nil (null) unless valid JSON
        -- which TCP connection, and how many requests it has carried: tests
        -- prove connection reuse with these
        connection = tonumber(ngx.var.connection),
        connection_requests = tonumber(ngx.var.connection_requests),
    }, LAST_REQUEST_MT)))
end

local function apply_delay()
    local delay_ms = config_dict:get("delay_ms")
    if delay_ms and delay_ms > 0 then
        ngx.sleep(delay_ms / 1000)
    end
end

------------------------------------------------------------------------------
-- The five API endpoints
--
-- Handlers take the raw body and return an HTTP status and a JSON text.

local function find_user_by_login(name)
    local wanted = lower(name)
    for _, user in ipairs(all_users()) do
        if lower(user.UserName) == wanted or lower(user.EmailAddress) == wanted then
            return user
        end
    end
end

local function client_side_user(user)
    return shape(CLIENT_SIDE_USER, merge(user, { Organisation = organisation_of(user) }))
end

local function user_profile(user)
    local org = organisation_of(user)
    return shape(USER_PROFILE, merge(user, {
        OrganisationName = org.Name,
        OrganisationSuburb = org.Suburb,
        OrganisationCountry = org.Country,
    }))
end

local LOGIN_MEMBERS = {
    { "UsernameOrEmail", "string" },
    { "Password", "string" },
    { "RememberMe", "boolean" },
}

local function do_login(body)
    local request, err = decode_object(body)
    if request then
        request, err = read_members(request, LOGIN_MEMBERS)
    end
    if not request then
        return general_error(err)
    end
    local user = find_user_by_login(request.UsernameOrEmail or "")
    if not user or user.Password ~= request.Password then
        return envelope(401, "UnAuthorized", nil, MSG_BAD_CREDENTIALS)
    end
    local length = request.RememberMe and REMEMBER_ME_SESSION_SECONDS
                   or DEFAULT_SESSION_SECONDS
    return succeeded(shape(DO_LOGIN_RESPONSE, {
        CSAuthToken = create_session(user, length),
        LoggedInUser = client_side_user(user),
    }))
end

-- Wraps a handler so it runs only with a live session: fn(body, user, token, session).
local function authenticated(fn)
    return function(body)
        local token = ngx.var.http_x_chronosheets_auth
        if not token or token == "" then
            return envelope(401, "UnAuthorized", nil, MSG_MISSING_AUTH)
        end
        local session = live_session(token)
        local user = session and load_user(session.user_id)
        if not user then
            return envelope(401, "SessionExpired", nil, MSG_SESSION_EXPIRED)
        end
        return fn(body, user, token, session)
    end
end

local get_my_profile = authenticated(function(_, user)
    return succeeded(user_profile(user))
end)

-- Only this endpoint slides the expiry; other calls leave it alone, so
-- tests can tell a kept-alive session from an idle one.
local keep_session_alive = authenticated(function(_, _, token, session)
    session.expires = now() + session.length
    store_session(token, session)
    return succeeded(true)
end)

local do_logout = authenticated(function(_, _, token)
    sessions_dict:delete(token)
    return succeeded(true)
end)

local UPDATE_MEMBERS = {
    { "EmailAddress", "string" },
    { "FirstName", "string" },
    { "LastName", "string" },
    { "IsSubscribedToNewsletter", "boolean" },
    { "WantsToChangePassword", "boolean" },
    { "OldPassword", "string" },
    { "NewPassword", "string" },
    { "ConfirmNewPassword", "string" },
}

local function looks_like_email(s)
    return s:find("^[^%s@]+@[^%s@]+%.[^%s@]+$") ~= nil
end

local function is_blank(s)
    return s:find("^%s*$") ~= nil
end

-- Characters, not bytes: a UTF-8 continuation byte does not start one.
local function utf8_length(s)
    local _, continuation = s:gsub("[\128-\191]", "")
    return #s - continuation
end

local function email_taken(email, own_id)
    local wanted = lower(email)
    for _, other in ipairs(all_users()) do
        if other.Id ~= own_id and lower(other.EmailAddress) == wanted then
            return true
        end
    end
    return false
end

-- All messages, in a fixed order; an empty list means the update is valid.
local function validate_update(user, req)
    local errors = {}
    local function add(message)
        errors[#errors + 1] = message
    end
    if req.EmailAddress then
        if not looks_like_email(req.EmailAddress) then
            add("Email address is not valid")
        elseif email_taken(req.EmailAddress, user.Id) then
            add("Email address is already in use")
        end
    end
    if req.FirstName and is_blank(req.FirstName) then
        add("First name is required")
    end
    if req.LastName and is_blank(req.LastName) then
        add("Last name is required")
    end
    if req.WantsToChangePassword then
        local new_password = req.NewPassword or ""
        if req.OldPassword ~= user.Password then
            add("Old password is incorrect")
        end
        if new_password ~= (req.ConfirmNewPassword or "") then
            add("New password and confirmation do not match")
        end
        if utf8_length(new_password) < MIN_PASSWORD_CHARACTERS then
            add("New password must be at least 8 characters")
        end
    end
    return errors
end

local function apply_update(user, req)
    for _, name in ipairs({ "EmailAddress", "FirstName", "LastName",
                            "IsSubscribedToNewsletter" }) do
        if req[name] ~= nil then
            user[name] = req[name]
        end
    end
    if req.WantsToChangePassword then
        user.Password = req.NewPassword
    end
    save_user(user)
end

local update_my_profile = authenticated(function(body, user)
    local request, err = decode_object(body)
    if request then
        request, err = read_members(request, UPDATE_MEMBERS)
    end
    if not request then
        return general_error(err)
    end
    local errors = validate_update(user, request)
    local data = shape(UPDATE_PROFILE_RESPONSE, {
        OrganisationId = user.OrganisationId,
        UserId = user.Id,
        ValidationErrors = errors,
    })
    if #errors > 0 then
        return envelope(200, "ValidationError", data, MSG_VALIDATION)
    end
    apply_update(user, request)
    return succeeded(data)
end)

------------------------------------------------------------------------------
-- Test-only endpoints (/_emulator/…, only with --test)

-- Test replies put "ok" first; the rest in the order given.
local function test_reply(status, order, value)
    return status, encode(setmetatable(value, { order = order }))
end

local function test_error(message)
    return test_reply(400, { "ok", "error" }, { ok = false, error = message })
end

-- Reads one non-negative number member of a JSON object body.
local function read_amount(body, name, max)
    local request, err = decode_object(body)
    if not request then
        return nil, err
    end
    local value = request[name]
    if type(value) ~= "number" or value ~= value or value < 0
       or (max and value > max) then
        return nil, format("'%s' must be a number from 0%s", name,
                           max and (" to " .. max) or " up")
    end
    return value
end

local function proxy_log_path()
    return runtime_dir .. "/proxy.jsonl"
end

local function reset_state()
    seed_users()
    sessions_dict:flush_all()
    config_dict:flush_all()   -- clock offset, delay and last request
    faults.reset()            -- what the recorder kept
    local f = io_open(proxy_log_path(), "wb")   -- what the proxy kept
    if f then
        f:close()
    end
end

local function test_reset()
    reset_state()
    return test_reply(200, { "ok" }, { ok = true })
end

local function test_clock(body)
    local advance, err = read_amount(body, "advance")
    if not advance then
        return test_error(err)
    end
    config_dict:incr("clock_offset", advance, 0)
    return test_reply(200, { "ok", "now" }, { ok = true, now = now() })
end

local function test_config(body)
    local delay_ms, err = read_amount(body, "delay_ms", MAX_DELAY_MS)
    if not delay_ms then
        return test_error(err)
    end
    config_dict:set("delay_ms", delay_ms)
    return test_reply(200, { "ok" }, { ok = true })
end

-- The next API request gets exactly this reply instead of its own, once:
-- {"status": 502, "content_type": "text/html", "body": "...",
--  "headers": {"Location": "..."}}. Tests use it for what a broken server
-- or a proxy in between would send.
local function test_next_reply(body)
    local request, err = decode_object(body)
    if not request then
        return test_error(err)
    end
    if type(request.status) ~= "number" or type(request.body) ~= "string" then
        return test_error("'status' (a number) and 'body' (a string) are required")
    end
    config_dict:set("next_reply", body)
    return test_reply(200, { "ok" }, { ok = true })
end

-- The next API request meets the fault {"name": "drip"} instead of its
-- own reply, once (see chronosheets_faults.lua for the names).
local function test_next_fault(body)
    local request, err = decode_object(body)
    if not request then
        return test_error(err)
    end
    if type(request.name) ~= "string" or not faults.exists(request.name) then
        return test_error("'name' must name a fault")
    end
    config_dict:set("next_fault", request.name)
    return test_reply(200, { "ok" }, { ok = true })
end

-- Plays the armed fault if there is one; true when it did.
local function play_next_fault()
    local name = config_dict:get("next_fault")
    if not name then
        return false
    end
    config_dict:delete("next_fault")
    faults.play(name)
    return true
end

-- Sends the canned reply if one is waiting; true when it did.
local function send_next_reply()
    local canned = config_dict:get("next_reply")
    if not canned then
        return false
    end
    config_dict:delete("next_reply")
    local reply = cjson.decode(canned)
    ngx.status = reply.status
    ngx.header["Content-Type"] = type(reply.content_type) == "string" and reply.content_type or nil
    if type(reply.headers) == "table" then
        for name, value in pairs(reply.headers) do
            ngx.header[name] = value
        end
    end
    ngx.print(reply.body)
    return true
end

local function test_last_request()
    return 200, config_dict:get("last_request") or "null"
end

local function test_sessions()
    return test_reply(200, { "count" }, { count = count_live_sessions() })
end

-- What reached the recorder (another host) and the proxy since the last
-- reset: {"recorder":[{port,method,uri,headers,body}...],
-- "proxy":[{method,target,headers,head,body}...]}.
local function test_recorded()
    local lines = {}
    local f = io_open(proxy_log_path(), "rb")
    if f then
        for line in f:lines() do
            lines[#lines + 1] = line
        end
        f:close()
    end
    return 200, '{"recorder":' .. faults.recorded() .. ',"proxy":['
                .. concat(lines, ",") .. "]}"
end

-- Where the test-only listeners are, so specs need no port arithmetic.
local FAULTS_ORDER = { "faults_url", "recorder_url", "tls_url", "tls_expired_url",
                       "tls_wrong_host_url", "ca_file", "proxy_url",
                       "blackhole_url" }

local function test_faults()
    local function url(scheme, offset)
        return format("%s://127.0.0.1:%d", scheme, port + offset)
    end
    return test_reply(200, FAULTS_ORDER, {
        faults_url = url("http", 0) .. "/_fault",
        recorder_url = url("http", 1),
        tls_url = url("https", 2),
        tls_expired_url = url("https", 3),
        tls_wrong_host_url = url("https", 4),
        ca_file = runtime_dir .. "/tls/ca.crt",
        proxy_url = url("http", 5),
        blackhole_url = url("http", 6),
    })
end

------------------------------------------------------------------------------
-- Routing
--
-- Paths match case-insensitively and ignore one trailing slash, as the real
-- (ASP.NET Web API) service does.

local API_ROUTES = {
    ["/userprofile/dologin"] = { PUT = do_login },
    ["/userprofile/dologout"] = { DELETE = do_logout },
    ["/userprofile/getmyprofile"] = { GET = get_my_profile },
    ["/userprofile/keepsessionalive"] = { GET = keep_session_alive },
    ["/userprofile/updatemyprofile"] = { PUT = update_my_profile },
}

local TEST_ROUTES = {
    ["/_emulator/reset"] = { POST = test_reset },
    ["/_emulator/clock"] = { POST = test_clock },
    ["/_emulator/config"] = { POST = test_config },
    ["/_emulator/last_request"] = { GET = test_last_request },
    ["/_emulator/sessions"] = { GET = test_sessions },
    ["/_emulator/next_reply"] = { POST = test_next_reply },
    ["/_emulator/recorded"] = { GET = test_recorded },
    ["/_emulator/next_fault"] = { POST = test_next_fault },
    ["/_emulator/faults"] = { GET = test_faults },
}

local function route_key(uri)
    local key = lower(uri)
    if #key > 1 then
        key = key:gsub("/$", "")
    end
    return key
end

local function allowed_methods(methods)
    local list = {}
    for method in pairs(methods) do
        list[#list + 1] = method
    end
    sort(list)
    return concat(list, ", ")
end

function _M.handle()
    if test_mode and faults.handle_fault(ngx.var.uri) then
        return
    end
    local key = route_key(ngx.var.uri)
    local api_methods = API_ROUTES[key]
    local methods = api_methods or (test_mode and TEST_ROUTES[key])
    if not methods then
        return send(404, encode({ Message = MSG_NOT_FOUND }))
    end

    local method = ngx.req.get_method()
    local body = read_body()
    if api_methods then
        record_last_request(method, body)
        if test_mode and (play_next_fault() or send_next_reply()) then
            return
        end
    end

    local status, json
    local handler = methods[method]
    if handler then
        status, json = handler(body)
    else
        status, json = 405, encode({ Message = format(
            "The requested resource does not support http method '%s'.", method) })
    end

    if api_methods then
        apply_delay()
    end
    return send(status, json, status == 405 and { Allow = allowed_methods(methods) })
end

------------------------------------------------------------------------------
-- Life cycle

-- In the master (init_by_lua): load and check the fixture, seed the users
-- unless a reload (HUP) finds them seeded already.  Errors stop nginx.
function _M.init(opts)
    fixture = load_fixture(opts.fixture_path)
    test_mode = opts.test_mode and true or false
    runtime_dir = opts.runtime_dir
    port = opts.port
    faults.init({ gzip_bomb_path = runtime_dir .. "/bomb.gz" })
    if not users_dict:get("seeded") then
        seed_users()
    end
end

function _M.init_worker()
    -- Tokens mix in math.random; seed it per worker so they differ.
    randomseed(floor(ngx.now() * 1000) + ngx.worker.pid())
end

return _M
