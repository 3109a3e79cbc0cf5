-- Non-blocking calls: client:NAME_async(args..., callback [, {timeout=}])
-- over libcurl's multi interface, driven by client:wait() here (a host's
-- event loop uses client:pending() and client:drive() instead).
local cs = require "chronosheets"
local async = require "chronosheets.async"
local cjson = require "cjson"
local helpers = require "helpers"

local ada = helpers.ada
local credentials = { username_or_email = "ada", password = ada.password }

-- Runs every call on client to its end.
local function run(client)
  while client:wait() > 0 do end
end

-- Starts client:<name>_async(...), runs the client, returns err, result.
local function call(client, name, ...)
  local got
  local args = { ... }
  local n = select("#", ...)
  args[n + 1] = function(err, result) got = { err = err, result = result } end
  client[name .. "_async"](client, (table.unpack or unpack)(args, 1, n + 1))
  run(client)
  assert(got, "the callback did not run")
  return got.err, got.result
end

-- The fields an error value is compared on.
local function fields(err)
  return { kind = err.kind, status = err.status, message = err.message,
           http_status = err.http_status, curl_code = err.curl_code }
end

describe("non-blocking calls", function()
  local client
  before_each(function()
    helpers.reset()
    client = helpers.client()
  end)
  after_each(function()
    client:close()
    helpers.set_delay(0)
  end)

  it("every endpoint has an _async form that calls back (err, result) like the blocking one", function()
    local err, login = call(client, "login", credentials)
    assert.is_nil(err)
    assert.equal(64, #login.cs_auth_token)
    local blocking_login = client:login(credentials)
    assert.same(blocking_login.logged_in_user, login.logged_in_user)
    assert(client:logout(blocking_login.cs_auth_token))
    local token = login.cs_auth_token

    local _, profile = call(client, "get_my_profile", token)
    assert.same(client:get_my_profile(token), profile)
    assert.same({ nil, true }, { call(client, "keep_session_alive", token) })
    local _, update = call(client, "update_my_profile", token, { last_name = "King" })
    assert.same({ organisation_id = 7, user_id = 1, validation_errors = {} }, update)
    assert.equal("King", client:get_my_profile(token).last_name)
    local _, envelope = call(client, "request", "GET", "/UserProfile/KeepSessionAlive", { token = token })
    assert.same(client:request("GET", "/UserProfile/KeepSessionAlive", { token = token }), envelope)
    assert.same({ nil, true }, { call(client, "logout", token) })
    assert.equal(0, helpers.session_count())
  end)

  it("starting a call returns at once, before the reply", function()
    local token = helpers.token(client)
    helpers.set_delay(300)
    local t0 = helpers.now()
    local handle = client:get_my_profile_async(token, function() end)
    local started = helpers.now() - t0
    assert.equal("running", handle:status())
    assert.equal(1, client:in_flight())
    assert.is_true(started < 0.1, ("start took %.3f s"):format(started))
    run(client)
    assert.equal("over", handle:status())
    assert.equal(0, client:in_flight())
    assert.matches("chronosheets.call %(GET /UserProfile/GetMyProfile, over%)", tostring(handle))
  end)

  it("gives the same error values as the blocking API", function()
    local bad = { username_or_email = "ada", password = "wrong" }
    local _, blocking = client:login(bad)
    local err, result = call(client, "login", bad)
    assert.is_nil(result)
    assert.equal(cs.error_mt, getmetatable(err))
    assert.same(fields(blocking), fields(err))
    assert.equal("UnAuthorized", err.status)

    local _, expired = client:get_my_profile(("0"):rep(64))
    assert.same(fields(expired), fields((call(client, "get_my_profile", ("0"):rep(64)))))

    helpers.next_reply{ status = 502, content_type = "text/html", body = "<h1>Bad Gateway</h1>" }
    local _, proxy_blocking = client:keep_session_alive(("0"):rep(64))
    helpers.next_reply{ status = 502, content_type = "text/html", body = "<h1>Bad Gateway</h1>" }
    assert.same(fields(proxy_blocking), fields((call(client, "keep_session_alive", ("0"):rep(64)))))

    local refused = helpers.client{ base_url = helpers.refused_url }
    local _, refused_blocking = refused:get_my_profile(("0"):rep(64))
    local refused_err = call(refused, "get_my_profile", ("0"):rep(64))
    assert.equal("transport", refused_err.kind)
    assert.same(fields(refused_blocking), fields(refused_err))
    refused:close()
  end)

  it("never puts the password or the token into an error message", function()
    local token = helpers.token(client)
    helpers.next_reply{ status = 500, content_type = "text/plain", body = "echo " .. token }
    local err = call(client, "get_my_profile", token)
    assert.is_nil(err.message:find(token, 1, true))
    helpers.next_reply{ status = 500, content_type = "text/plain", body = "echo " .. ada.password }
    err = call(client, "login", credentials)
    assert.is_nil(err.message:find(ada.password, 1, true))
  end)

  it("raises argument errors at once, before anything is sent", function()
    helpers.raises("missing field 'password'", client.login_async, client,
                   { username_or_email = "ada" }, function() end)
    helpers.raises("the last argument must be the callback", client.get_my_profile_async, client, ("0"):rep(64))
    helpers.raises("token must be a string", client.get_my_profile_async, client, function() end)
    helpers.raises("unknown option 'timeuot'", client.get_my_profile_async, client, ("0"):rep(64),
                   function() end, { timeuot = 1 })
    assert.equal(0, client:in_flight())
    assert.equal(cjson.null, helpers.last_request())    -- nothing reached the server
    -- and the client still works
    assert.is_nil((call(client, "login", credentials)))
  end)

  it("keeps 200 sessions alive at once on one client", function()
    local tokens = {}
    for i = 1, 200 do tokens[i] = helpers.token(client) end
    helpers.set_delay(50)
    local wide = helpers.client{ max_connections = 200 }

    local ok = 0
    local t0 = helpers.now()
    for i = 1, 200 do
      wide:keep_session_alive_async(tokens[i], function(err, result)
        assert(err == nil and result == true, tostring(err))
        ok = ok + 1
      end)
    end
    assert.equal(200, wide:in_flight())
    run(wide)
    local concurrent = helpers.now() - t0
    assert.equal(200, ok)

    -- The default connection limit (16) queues the rest behind it.
    ok = 0
    t0 = helpers.now()
    for i = 1, 200 do
      client:keep_session_alive_async(tokens[i], function(err) if not err then ok = ok + 1 end end)
    end
    run(client)
    local limited = helpers.now() - t0
    assert.equal(200, ok)

    t0 = helpers.now()
    for i = 1, 20 do assert(client:keep_session_alive(tokens[i])) end
    local sequential = (helpers.now() - t0) * 10

    print(("\n  200 keep_session_alive calls, emulator delay 50 ms: %.3f s at once "
           .. "(max_connections = 200), %.3f s with the default 16 connections, "
           .. "%.1f s one after another (20 timed, x10)"):format(concurrent, limited, sequential))
    assert.is_true(concurrent < 1, ("200 concurrent calls took %.3f s"):format(concurrent))
    wide:close()
  end)

  it("gives each call its own timeout", function()
    local token = helpers.token(client)
    helpers.set_delay(600)
    local results = {}
    local t0 = helpers.now()
    client:get_my_profile_async(token, function(err)
      results.short = { err = err, at = helpers.now() - t0 }
    end, { timeout = 0.2 })
    client:get_my_profile_async(token, function(err, profile)
      results.long = { err = err, profile = profile, at = helpers.now() - t0 }
    end)
    run(client)
    assert.equal("transport", results.short.err.kind)
    assert.equal(28, results.short.err.curl_code)       -- CURLE_OPERATION_TIMEDOUT
    assert.is_true(results.short.at < 0.5)
    assert.is_nil(results.long.err)
    assert.equal("Ada", results.long.profile.first_name)
    assert.is_true(results.long.at >= 0.6)
  end)

  it("cancels one call: its callback never runs, the others complete", function()
    local token = helpers.token(client)
    helpers.set_delay(200)
    local called = {}
    local handles = {}
    for i = 1, 3 do
      handles[i] = client:keep_session_alive_async(token, function(err, ok)
        called[i] = err or ok
      end)
    end
    client:wait(0.05)                                   -- mid-flight
    assert.equal("running", handles[2]:status())
    assert.is_true(handles[2]:cancel())
    assert.is_false(handles[2]:cancel())
    assert.equal("over", handles[2]:status())
    assert.equal(2, client:in_flight())
    run(client)
    assert.same({ [1] = true, [3] = true }, called)
    assert.same({}, (client:pending()))                 -- no socket left to watch
    assert.is_false(handles[1]:cancel())                -- over already
  end)

  it("closing the client cancels every call in flight", function()
    local token = helpers.token(client)
    helpers.set_delay(200)
    local called = 0
    local handles = {}
    for i = 1, 5 do
      handles[i] = client:get_my_profile_async(token, function() called = called + 1 end)
    end
    client:wait(0.05)
    client:close()
    for i = 1, 5 do
      assert.equal("over", handles[i]:status())
      assert.is_false(handles[i]:cancel())
    end
    assert.equal(0, called)
    helpers.raises("client is closed", client.wait, client)
    helpers.raises("client is closed", client.login_async, client, credentials, function() end)
    collectgarbage()
    collectgarbage()
  end)

  it("a callback may start, cancel or drive other calls, or close the client", function()
    local token = helpers.token(client)
    local order = {}
    client:keep_session_alive_async(token, function()
      order[#order + 1] = "first"
      client:get_my_profile_async(token, function(_, profile)
        order[#order + 1] = profile.first_name
        client:close()
      end)
    end)
    run(client)
    assert.same({ "first", "Ada" }, order)
    helpers.raises("client is closed", client.in_flight, client)
  end)

  it("raises a callback's error from wait after the other callbacks ran", function()
    local token = helpers.token(client)
    local ran = 0
    client:keep_session_alive_async(token, function() error("boom in a callback") end)
    client:keep_session_alive_async(token, function() ran = ran + 1 end)
    helpers.raises("boom in a callback", function()
      while client:wait() > 0 do end
    end)
    run(client)
    assert.equal(1, ran)
    assert.is_true(client:keep_session_alive(token))      -- the blocking path is unharmed
  end)

  it("tells a host loop which sockets to watch and when to wake", function()
    local token = helpers.token(client)
    helpers.set_delay(100)
    local done
    client:get_my_profile_async(token, function(err, profile) done = err or profile end)
    local sockets, timeout_ms, in_flight = client:pending()
    assert.same({}, sockets)
    assert.equal(0, timeout_ms)                          -- curl wants to start at once
    assert.equal(1, in_flight)
    client:drive_timeout()
    -- A loop without poll(): offer curl every socket it watches, its
    -- timer when due, until the call is over.
    local saw_socket
    local deadline = helpers.now() + 5
    while not done and helpers.now() < deadline do
      sockets, timeout_ms = client:pending()
      for _, s in ipairs(sockets) do
        saw_socket = s
        client:drive(s.fd, s.events)
      end
      if timeout_ms == 0 then client:drive_timeout() end
    end
    assert.equal("Ada", done.first_name)
    assert.is_true(saw_socket.fd > 2)
    assert.is_true(saw_socket.events == "r" or saw_socket.events == "w" or saw_socket.events == "rw")
    assert.equal("number", type(saw_socket.id))
  end)

  it("gathers curl's sockets into one descriptor a host loop can watch alone (Linux)", function()
    local token = helpers.token(client)
    local fd = assert(client:event_fd())
    assert.equal(fd, client:event_fd())                  -- one per client, for its life
    helpers.set_delay(100)
    local done = {}
    for i = 1, 3 do
      client:get_my_profile_async(token, function(err, profile) done[i] = err or profile.first_name end)
    end
    -- A loop without poll(): drive_events when the set may be ready,
    -- drive_timeout when curl's timer is due.
    local deadline = helpers.now() + 5
    while client:in_flight() > 0 and helpers.now() < deadline do
      client:drive_events()
      local _, timeout_ms = client:pending()
      if timeout_ms == 0 then client:drive_timeout() end
    end
    assert.same({ "Ada", "Ada", "Ada" }, done)
    -- a refused connection ends as the same transport error, not as a fault of the set
    local refused = helpers.client{ base_url = helpers.refused_url }
    assert(refused:event_fd())
    local err
    refused:get_my_profile_async(token, function(e) err = e end)
    deadline = helpers.now() + 5
    while refused:in_flight() > 0 and helpers.now() < deadline do refused:drive_events() end
    assert.equal("transport", err.kind)
    refused:close()
  end)

  it("keeps the blocking API working on the same client, in between", function()
    local token = helpers.token(client)
    helpers.set_delay(100)
    local async_profile
    client:get_my_profile_async(token, function(_, p) async_profile = p end)
    assert.equal("Ada", client:get_my_profile(token).first_name)  -- blocking, own handle
    run(client)
    assert.equal("Ada", async_profile.first_name)
  end)
end)

describe("chronosheets.async", function()
  local client
  before_each(function()
    helpers.reset()
    client = helpers.client()
  end)
  after_each(function() client:close() end)

  it("await returns what the blocking method returns, inside a coroutine", function()
    local seen = {}
    async.run(function()
      local login = assert(async.await(client, "login", credentials))
      local profile = assert(async.await(client, "get_my_profile", login.cs_auth_token))
      seen.name = profile.first_name
      local none, err = async.await(client, "login", { username_or_email = "ada", password = "x" })
      seen.none, seen.status = none, err.status
      seen.logout = async.await(client, "logout", login.cs_auth_token)
    end)
    run(client)
    assert.same({ name = "Ada", status = "UnAuthorized", logout = true }, seen)
  end)

  it("runs many coroutines at once on one client", function()
    local token = helpers.token(client)
    helpers.set_delay(100)
    local done = 0
    local t0 = helpers.now()
    for _ = 1, 20 do
      async.run(function()
        assert(async.await(client, "keep_session_alive", token))
        assert(async.await(client, "get_my_profile", token))
        done = done + 1
      end)
    end
    run(client)
    local elapsed = helpers.now() - t0
    helpers.set_delay(0)
    assert.equal(20, done)
    assert.is_true(elapsed < 1.5 * helpers.time_factor, ("took %.3f s"):format(elapsed))
  end)

  it("await refuses to run outside a coroutine", function()
    helpers.raises("must run inside a coroutine", async.await, client, "login", credentials)
    helpers.raises("no non-blocking method 'nope'", function()
      async.run(function() async.await(client, "nope") end)
    end)
  end)
end)
