-- A misbehaving server, on demand: the emulator's test-only faults
-- (emulator/lua/chronosheets_faults.lua, emulator/faultd.lua) against the
-- client. Each fault must end in an error value of the right kind with a
-- message that says what happened, within the timeout, never a partial
-- table; and the same client works for the next call.
local cjson = require "cjson"
local cs = require "chronosheets"
local helpers = require "helpers"

local ada = helpers.ada

-- VmRSS of this process in KiB.
local function resident_kib()
  local f = io.open("/proc/self/status", "r")
  local text = f and f:read("*a") or ""
  if f then f:close() end
  return tonumber(text:match("VmRSS:%s*(%d+)")) or 0
end

describe("a misbehaving server", function()
  local places, client, token
  local TIMEOUT = 1.5

  setup(function()
    places = helpers.faults()
    client = helpers.client{ timeout = TIMEOUT, connect_timeout = 1 }
  end)
  teardown(function()
    client:close()
    helpers.reset()
  end)
  before_each(function()
    helpers.reset()
    token = helpers.token(client)
  end)
  after_each(function()
    -- whatever the fault did, the same client works for the next call
    assert.equal("Ada", assert(client:get_my_profile(token)).first_name)
  end)

  -- Arms the fault for the next request, makes the call and checks the
  -- common promises; returns the error and the seconds it took.
  local function meets(fault, call)
    helpers.next_fault(fault)
    local elapsed, result, err = helpers.timed(call or function() return client:get_my_profile(token) end)
    assert.is_nil(result, "a fault must never give a result, got " .. tostring(result))
    assert.is_table(err)
    assert.is_string(err.message)
    assert.is_nil(tostring(err):find(token, 1, true))
    return err, elapsed
  end

  describe("that never connects (1)", function()
    it("a listener whose accept queue is full: transport within connect_timeout", function()
      local hole = helpers.client{ base_url = places.blackhole_url, connect_timeout = 1, timeout = 10 }
      for _ = 1, 2 do   -- the same client fails the same way again: nothing wedged
        local elapsed, result, err = helpers.timed(hole.get_my_profile, hole, token)
        assert.is_nil(result)
        assert.equal("transport", err.kind)
        assert.equal(28, err.curl_code)   -- CURLE_OPERATION_TIMEDOUT
        assert.matches("Failed to connect", err.message)
        assert.is_true(elapsed >= 0.9 and elapsed < 2 * helpers.time_factor, "took " .. elapsed .. " s")
      end
      hole:close()
    end)

    it("a black-holed address (TEST-NET-1): transport within connect_timeout", function()
      -- Whether the route drops the SYN (a timeout) or there is no route at
      -- all (at once) depends on the machine; either way it ends in time.
      local far = helpers.client{ base_url = "http://192.0.2.1:9", allow_insecure_http = true,
                                  connect_timeout = 1, timeout = 10 }
      local elapsed, result, err = helpers.timed(far.get_my_profile, far, token)
      assert.is_nil(result)
      assert.equal("transport", err.kind)
      assert.truthy(err.curl_code == 7 or err.curl_code == 28, err.message)
      assert.is_true(elapsed < 2 * helpers.time_factor, "took " .. elapsed .. " s")
      far:close()
    end)
  end)

  describe("that is slow (2)", function()
    it("accepts and never answers: transport within timeout", function()
      local err, elapsed = meets("silent")
      assert.equal("transport", err.kind)
      assert.equal(28, err.curl_code)
      assert.matches("timed out after 1%d%d%d milliseconds with 0 bytes received", err.message)
      assert.is_true(elapsed >= TIMEOUT - 0.05 and elapsed < (TIMEOUT + 1) * helpers.time_factor, "took " .. elapsed .. " s")
    end)

    it("sends headers then stalls the body: transport within timeout", function()
      local err, elapsed = meets("stall")
      assert.equal("transport", err.kind)
      assert.equal(28, err.curl_code)
      assert.matches("with 0 out of 100 bytes received", err.message)
      assert.is_true(elapsed >= TIMEOUT - 0.05 and elapsed < (TIMEOUT + 1) * helpers.time_factor, "took " .. elapsed .. " s")
    end)

    it("drips one byte a second: transport within timeout", function()
      local err, elapsed = meets("drip")
      assert.equal("transport", err.kind)
      assert.equal(28, err.curl_code)
      assert.matches("timed out", err.message)
      assert.is_true(elapsed >= TIMEOUT - 0.05 and elapsed < (TIMEOUT + 1) * helpers.time_factor, "took " .. elapsed .. " s")
    end)

    it("drips one byte a second: transport after low_speed_time, long before timeout", function()
      local patient = helpers.client{ timeout = 30, low_speed_limit = 10, low_speed_time = 1 }
      local t = helpers.token(patient)
      local err, elapsed = meets("drip", function() return patient:get_my_profile(t) end)
      assert.equal("transport", err.kind)
      assert.equal(28, err.curl_code)
      assert.matches("too slow", err.message)
      assert.matches("10 bytes/sec", err.message)
      assert.is_true(elapsed >= 0.9 and elapsed < 3 * helpers.time_factor, "took " .. elapsed .. " s")
      assert.equal("Ada", assert(patient:get_my_profile(t)).first_name)
      patient:close()
    end)
  end)

  describe("that breaks the framing (3)", function()
    local cases = {
      { "closes before Content-Length is met", "short", 18, "transfer closed with 462 bytes remaining" },
      { "ends a chunked body without the final chunk", "chunked_open", 18, "outstanding read data remaining" },
      { "sends a chunk size that is not hexadecimal", "bad_chunk", 56, "hexadecimal sequence in chunked" },
      { "resets the connection mid-body (TCP RST)", "reset", 56, "reset by peer" },
    }
    for _, case in ipairs(cases) do
      it(case[1] .. ": transport, never a partial table", function()
        local err, elapsed = meets(case[2])
        assert.equal("transport", err.kind)
        assert.equal(case[3], err.curl_code)
        assert.truthy(err.message:find(case[4], 1, true), err.message)
        assert.equal(200, err.http_status)   -- what the status line said
        assert.is_true(elapsed < 1 * helpers.time_factor, "took " .. elapsed .. " s")
      end)
    end

    it("resets the connection in the reply to a login: transport, and no token", function()
      local err = meets("reset", function()
        return client:login{ username_or_email = "ada", password = ada.password }
      end)
      assert.equal("transport", err.kind)
      assert.is_nil(tostring(err):find(ada.password, 1, true))
      assert.equal("/UserProfile/DoLogin", helpers.last_request().uri)
    end)
  end)

  describe("that sends too much (4)", function()
    it("one response header line of 200 KiB: transport", function()
      local err = meets("huge_header")
      assert.equal("transport", err.kind)
      -- libcurl refuses a header line over 100 KB, and calls it "Out of memory"
      assert.equal(27, err.curl_code)
      assert.matches("header", err.message)
    end)

    it("1 MB of response headers in 2,000 lines: transport", function()
      local err = meets("many_headers")
      assert.equal("transport", err.kind)
      assert.equal(56, err.curl_code)
      assert.matches("Too large response headers", err.message)
    end)

    local big = {
      { "announced by Content-Length, refused before reading", "big_length", 63 },
      { "with no length (ends at close)", "big_close", 23 },
      { "in chunks", "big_chunked", 23 },
    }
    for _, case in ipairs(big) do
      it("a 9 MiB body over the default 8 MiB cap, " .. case[1] .. ": transport", function()
        local err, elapsed = meets(case[2])
        assert.equal("transport", err.kind)
        assert.equal(case[3], err.curl_code)
        assert.matches("larger than max_response_bytes", err.message)
        assert.is_true(elapsed < 1 * helpers.time_factor, "took " .. elapsed .. " s")
      end)
    end

    it("keeps memory bounded by max_response_bytes", function()
      local small = helpers.client{ max_response_bytes = 65536 }
      local t = helpers.token(small)
      collectgarbage()
      local before = resident_kib()
      for _ = 1, 3 do
        for _, case in ipairs(big) do
          local err = meets(case[2], function() return small:get_my_profile(t) end)
          assert.matches("larger than max_response_bytes", err.message)
        end
      end
      collectgarbage()
      local grown = resident_kib() - before
      -- nine 9 MiB replies went by; what stays is far below even one
      assert.is_true(grown < 4096, "resident memory grew by " .. grown .. " KiB")
      small:close()
    end)

    -- In a fresh process, where glibc serves each doubling of the buffer
    -- with its own mapping and unmaps it when freed, so RSS shows it.
    -- Under ASan and valgrind their own allocators keep freed memory, so
    -- only the plain runs (time factor 1) can see it go.
    if helpers.time_factor == 1 then
      it("lets go of the buffer a big reply grew before the next call", function()
        local out = helpers.run_lua({}, [[
          local helpers = require "helpers"
          local client = helpers.client()
          local token = helpers.token(client)
          local function rss()
            local f = io.open("/proc/self/status"); local s = f:read("*a"); f:close()
            return tonumber(s:match("VmRSS:%s*(%d+)"))
          end
          assert(client:get_my_profile(token))
          collectgarbage()
          local before = rss()
          helpers.next_fault("big_close")               -- 8 MiB read before the cap stops it
          assert(not client:get_my_profile(token))
          local during = rss()
          assert(client:get_my_profile(token))
          print(("grew=%d kept=%d"):format(during - before, rss() - before))
        ]])
        local grew, kept = out:match("grew=(%-?%d+) kept=(%-?%d+)")
        assert(grew, out)
        assert.is_true(tonumber(grew) > 4096, "the big reply grew RSS by only " .. grew .. " KiB")
        assert.is_true(tonumber(kept) < 2048, "RSS stayed " .. kept .. " KiB above where it was")
      end)
    end

    it("never asks for compression, so a gzip bomb is never inflated", function()
      assert(client:get_my_profile(token))
      local headers = helpers.last_request().headers
      assert.is_nil(headers["accept-encoding"])
      assert.is_nil(headers["te"])
      -- 64 KB of gzip that would inflate to 64 MiB, sent anyway
      local err = meets("gzip_bomb")
      assert.equal("decode", err.kind)
      assert.matches("not JSON", err.message)
      assert.matches("HTTP 200, application/json", err.message)
      assert.is_true(#err.message < 1024, "message of " .. #err.message .. " bytes")
    end)
  end)

  describe("that sends what is not an envelope (5)", function()
    -- spec/05-errors_spec.lua has HTML with 200 and 502, truncated JSON,
    -- [[[...]]] 100,000 deep, a top-level array and string, NaN, hex, no
    -- Status and Status = 1. These are the rest.
    local function envelope_with(fragment)
      return '{"Data":{"Id":1},' .. fragment .. ',"Message":""}'
    end
    local cases = {
      { "Infinity", '{"Status":"Succeeded","Data":{"Id":Infinity}}', "not JSON" },
      { "-Infinity", '{"Status":"Succeeded","Data":{"Id":-Infinity}}', "not JSON" },
      { "a number with a leading +", '{"Status":"Succeeded","Data":{"Id":+1}}', "not JSON" },
      { "objects nested 100,000 deep", ('{"a":'):rep(100000) .. "1" .. ("}"):rep(100000), "not JSON" },
      { "a top-level number", "42", "not a JSON object" },
      { "a top-level null", "null", "not a JSON object" },
      { "a Status of null", envelope_with('"Status":null'), "no Status string" },
      { "a Status that is an object", envelope_with('"Status":{"Code":"Succeeded"}'), "no Status string" },
      { "a Status that is an array", envelope_with('"Status":["Succeeded"]'), "no Status string" },
      { "a Status of true", envelope_with('"Status":true'), "no Status string" },
    }
    for _, case in ipairs(cases) do
      it(case[1] .. " with 200: decode, with status and content type in the message", function()
        helpers.next_reply{ status = 200, content_type = "application/json", body = case[2] }
        local profile, err = client:get_my_profile(token)
        assert.is_nil(profile)
        assert.equal("decode", err.kind)
        assert.equal(200, err.http_status)
        assert.truthy(err.message:find(case[3], 1, true), err.message)
        assert.truthy(err.message:find("HTTP 200, application/json", 1, true), err.message)
      end)
    end

    it("a 502 whose body is JSON but not an envelope: http, with status and content type", function()
      helpers.next_reply{ status = 502, content_type = "application/problem+json",
                          body = '{"type":"about:blank","title":"Bad Gateway"}' }
      local _, err = client:get_my_profile(token)
      assert.equal("http", err.kind)
      assert.equal(502, err.http_status)
      assert.matches("HTTP 502", err.message)
      assert.matches("application/problem+json", err.message, 1, true)
    end)

    it("a 200 HTML page with no Content-Type at all: decode, saying so", function()
      helpers.next_reply{ status = 200, body = "<html><body>Maintenance</body></html>" }
      local _, err = client:get_my_profile(token)
      assert.equal("decode", err.kind)
      assert.matches("HTTP 200", err.message)
      assert.matches("<body>Maintenance", err.message)
    end)
  end)

  describe("that sends a login token no one should use (6)", function()
    -- 05-errors has: missing, null, empty, 12, CR LF, NUL, over 4 KiB.
    local bad = {
      ["holding CR alone"] = '"abc\\rdef"',
      ["holding LF alone"] = '"abc\\ndef"',
      ["holding a space"] = '"abc def"',
      ["holding a tab"] = '"abc\\tdef"',
      ["holding non-ASCII"] = '"abc\\u00e9def"',
      ["an object"] = '{"Token":"abc"}',
      ["an array"] = '["abc"]',
      ["true"] = "true",
      ["of exactly 4097 bytes"] = '"' .. ("a"):rep(4097) .. '"',
    }
    for name, json in pairs(bad) do
      it("a token " .. name .. ": decode error, and the token never reaches the caller", function()
        helpers.next_reply{ status = 200, content_type = "application/json",
                            body = '{"Data":{"CSAuthToken":' .. json .. ',"LoggedInUser":{"Id":1}},'
                                   .. '"Status":"Succeeded","Message":""}' }
        local session, err = cs.login{ username_or_email = "ada", password = ada.password,
                                       base_url = helpers.base_url }
        assert.is_nil(session)
        assert.equal("decode", err.kind)
        assert.matches("CSAuthToken", err.message)
        -- the login was the last request: nothing was sent with that token
        assert.equal("/UserProfile/DoLogin", helpers.last_request().uri)
      end)
    end

    it("a token of exactly 4096 printable bytes is fine", function()
      local long = ("t"):rep(4096)
      helpers.next_reply{ status = 200, content_type = "application/json",
                          body = '{"Data":{"CSAuthToken":"' .. long .. '","LoggedInUser":{"Id":1}},'
                                 .. '"Status":"Succeeded","Message":""}' }
      local login = assert(client:login{ username_or_email = "ada", password = ada.password })
      assert.equal(long, login.cs_auth_token)
    end)
  end)

  describe("that redirects (7)", function()
    local statuses = { 301, 302, 303, 307, 308 }
    for _, status in ipairs(statuses) do
      it(status .. " to another port and host: not followed; the other server sees nothing", function()
        for _, host in ipairs{ "127.0.0.1", "localhost" } do
          local location = places.recorder_url:gsub("127%.0%.0%.1", host) .. "/UserProfile/DoLogin"
          helpers.next_reply{ status = status, content_type = "text/html", body = "moved",
                              headers = { Location = location } }
          local login, err = client:login{ username_or_email = "ada", password = ada.password }
          assert.is_nil(login)
          assert.equal("http", err.kind)
          assert.equal(status, err.http_status)
          assert.matches("HTTP " .. status, err.message)

          helpers.next_reply{ status = status, content_type = "text/html", body = "moved",
                              headers = { Location = location:gsub("DoLogin", "GetMyProfile") } }
          local _, err2 = client:get_my_profile(token)
          assert.equal("http", err2.kind)
          assert.equal(status, err2.http_status)
        end
        local recorded = helpers.recorded()
        assert.equal(0, #recorded.recorder, cjson.encode(recorded.recorder))
      end)
    end

    it("to file:// or another scheme: not followed", function()
      for _, location in ipairs{ "file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/" } do
        helpers.next_reply{ status = 302, content_type = "text/plain", body = "moved",
                            headers = { Location = location } }
        local _, err = client:get_my_profile(token)
        assert.equal("http", err.kind)
        assert.equal(302, err.http_status)
      end
    end)

    it("the recorder does record what reaches it (the check above can fail)", function()
      local other = helpers.client{ base_url = places.recorder_url }
      assert.is_true(other:keep_session_alive("canary-token"))
      local recorded = helpers.recorded().recorder
      assert.equal(1, #recorded)
      assert.equal("canary-token", recorded[1].headers["x-chronosheets-auth"])
      other:close()
    end)
  end)
end)
