-- What the fuzz harness (fuzz/fuzz_reply.c) found, kept as specs against
-- the emulator. A use after free does not always fail a plain run; the
-- same specs under ASan and valgrind (make check) catch it every time.
local cjson = require "cjson"
local cs = require "chronosheets"
local helpers = require "helpers"

describe("replies the fuzzer found", function()
  local client, token

  before_each(function()
    helpers.reset()
    client = helpers.client()
    token = helpers.token(client)
  end)

  after_each(function()
    assert.equal("Ada", assert(client:get_my_profile(token)).first_name)
    client:close()
  end)

  it("tostring of an error whose validation errors run past 1 KB holds them all, in order", function()
    -- error_tostring grew its luaL_Buffer with an item on top of the stack
    local reasons = {}
    for i = 1, 40 do reasons[i] = ("reason %02d "):format(i) .. ("x"):rep(60) end
    helpers.next_reply{ status = 200, content_type = "application/json",
                        body = cjson.encode{ Data = { ValidationErrors = reasons },
                                             Status = "ValidationError", Message = "Invalid" } }
    local result, err = client:update_my_profile(token, { first_name = "Ada" })
    assert.is_nil(result)
    assert.equal("api", err.kind)
    assert.same(reasons, err.validation_errors)
    local text = tostring(err)
    assert.equal("chronosheets api error (ValidationError, HTTP 200): Invalid: "
                 .. table.concat(reasons, "; "), text)
  end)

  it("tostring of an error holds every validation error whatever their lengths", function()
    -- the separator that made the buffer grow is the case that broke: a
    -- first reason of every length up to past 2 KB puts each "; " across
    -- each boundary of luaL_Buffer's growth
    for length = 1, 2100, 3 do
      local reasons = { ("r"):rep(length) }
      for i = 2, 12 do reasons[i] = "r" .. i end
      local err = setmetatable({ kind = "api", status = "ValidationError", http_status = 200,
                                 message = "Invalid", validation_errors = reasons }, cs.error_mt)
      assert.equal("chronosheets api error (ValidationError, HTTP 200): Invalid: "
                   .. table.concat(reasons, "; "), tostring(err))
    end
  end)

  it("an empty 200 gives exactly nil and a decode error, for blocking and non-blocking calls", function()
    helpers.next_reply{ status = 200, content_type = "application/json", body = "" }
    local n = select("#", client:get_my_profile(token))
    assert.equal(2, n)
    helpers.next_reply{ status = 200, content_type = "application/json", body = "" }
    local got
    client:get_my_profile_async(token, function(...) got = { n = select("#", ...), ... } end)
    while client:wait(5) > 0 do end
    assert.equal(2, got.n)
    assert.equal("decode", got[1].kind)
    assert.matches("no body", got[1].message)
    assert.is_nil(got[2])
  end)
end)
