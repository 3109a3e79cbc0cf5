-- The fast path (src/fastpath.c): with the built-in
-- lua-cjson, a reply is read straight into the result when it can be, and
-- by lua-cjson and the mapper otherwise. Every reply below is fetched both
-- ways, the second after use_json has handed the module a lua-cjson of its
-- own, which turns the fast path off: results and error values must be
-- identical, down to integers being integers.
local cs = require "chronosheets"
local helpers = require "helpers"


local profile = [["Id":1,"OrganisationId":7,"UserName":"ada","FirstName":"Ada",]]
  .. [["LastName":"Lovelace","EmailAddress":"ada@example.com","IsSubscribedToNewsletter":false,]]
  .. [["Roles":15,"AlertSettings":3,"OrganisationName":"Analytical Engines Pty Ltd",]]
  .. [["OrganisationSuburb":"Marylebone","OrganisationCountry":"United Kingdom"]]

local function envelope(data) return '{"Data":{' .. data .. '},"Status":"Succeeded","Message":""}' end

local nested = ("["):rep(40) .. "1" .. ("]"):rep(40)

-- { name, method, body [, status] }
local cases = {
  { "the usual reply", "get_my_profile", envelope(profile) },
  { "members in another order", "get_my_profile",
    '{"Message":null,"Status":"Succeeded","Data":{"Roles":15,"Id":1,"UserName":"ada"}}' },
  { "whitespace everywhere", "get_my_profile",
    ' \r\n{ "Data" : {\n\t"Id" : 1 ,\n "UserName" : "ada" } ,\n"Status" : "Succeeded" }\n ' },
  { "members outside the schema, nulls, holes, nesting", "get_my_profile", envelope(profile
      .. [[,"ExtraThing":{"NestedKey":[1,null,3.5,"x",{"DeepKey":true}],"Empty":{},"None":[]},]]
      .. [["AnotherOne":null,"":"empty key","BigNumber":12345678901234567890,"Neg":-42,"Zero":-0]]) },
  { "nulls for members of the schema", "get_my_profile",
    envelope([["Id":1,"FirstName":null,"Roles":null]]) },
  { "escapes in strings", "get_my_profile",
    envelope([["Id":1,"FirstName":"Ad\u00e9 \"q\" \\ \/","LastName":"L\n"]]) },
  { "an escape in the message", "get_my_profile",
    '{"Data":{"Id":1},"Status":"Succeeded","Message":"say \\"hi\\""}' },
  { "raw UTF-8 and a raw tab", "get_my_profile", envelope('"Id":1,"FirstName":"Zoë","LastName":"a\tb"') },
  { "a key twice", "get_my_profile", envelope([["Id":1,"Id":2]]) },
  { "a key twice, the second null", "get_my_profile", envelope([["Id":1,"Id":null]]) },
  { "two keys with one snake_case name", "get_my_profile", envelope([["FooBar":1,"foo_bar":1,"Id":1,"id":1]]) },
  { "an integer written as a float", "get_my_profile", envelope([["Id":1.0,"Roles":1e1]]) },
  { "an integer too large to be exact", "get_my_profile", envelope([["Id":12345678901234567]]) },
  { "an integer of 15 digits", "get_my_profile", envelope([["Id":-999999999999999]]) },
  { "a leading zero", "get_my_profile", envelope([["Id":01]]) },
  { "a string for an integer", "get_my_profile", envelope([["Id":"1"]]) },
  { "deep nesting outside the schema", "get_my_profile", envelope('"Id":1,"Deep":' .. nested) },
  { "Data as an empty array", "get_my_profile", '{"Data":[],"Status":"Succeeded"}' },
  { "Data twice", "get_my_profile", '{"Data":{"Id":1},"Data":{"Id":2},"Status":"Succeeded"}' },
  { "Status twice", "get_my_profile", '{"Data":{"Id":1},"Status":"Failed","Status":"Succeeded"}' },
  { "a failure status", "get_my_profile", '{"Data":null,"Status":"SessionExpired","Message":"gone"}' },
  { "no Status", "get_my_profile", '{"Data":{"Id":1}}' },
  { "trailing bytes", "get_my_profile", envelope('"Id":1') .. " x" },
  { "a truncated reply", "get_my_profile", envelope(profile):sub(1, 60) },
  { "an error status with a Succeeded envelope", "get_my_profile", envelope('"Id":1'), 500 },
  { "Data true", "keep_session_alive", '{"Data":true,"Status":"Succeeded","Message":null}' },
  { "Data false", "keep_session_alive", '{"Data":false,"Status":"Succeeded"}' },
  { "the login reply", "login", '{"Data":{"CSAuthToken":"abc123","LoggedInUser":{"Id":1,'
      .. '"Organisation":{"Id":7,"Name":"AE","IsActive":true,"PricingPlans":'
      .. '[{"PlanId":"pro","Quantity":5},{"PlanId":"x","Quantity":0}]},"IsPrimaryAccount":true}},'
      .. '"Status":"Succeeded","Message":""}' },
  { "a login reply with a null plan", "login", '{"Data":{"CSAuthToken":"abc","LoggedInUser":'
      .. '{"Organisation":{"PricingPlans":[null]}}},"Status":"Succeeded"}' },
  { "a login reply with an unusable token", "login",
    '{"Data":{"CSAuthToken":"a b"},"Status":"Succeeded"}' },
}

-- A copy where every number says whether it is an integer, so that
-- assert.same tells 1 from 1.0.
local function typed(value)
  if type(value) == "number" then
    return (math.type and math.type(value) or "number") .. ":" .. tostring(value)
  elseif type(value) == "table" then
    local copy = {}
    for k, v in pairs(value) do copy[typed(k)] = typed(v) end
    return copy
  end
  return value
end

local function fetch(client, case)
  helpers.next_reply{ status = case[4] or 200, content_type = "application/json", body = case[3] }
  local result, err
  if case[2] == "login" then
    result, err = client:login{ username_or_email = "ada", password = "correct horse" }
  else
    result, err = client[case[2]](client, "token")
  end
  if err then
    err = { kind = err.kind, status = err.status, message = err.message,
            http_status = err.http_status, validation_errors = err.validation_errors }
  end
  return typed({ result = result, err = err })
end

describe("the fast path", function()
  before_each(helpers.reset)

  it("gives what lua-cjson and the mapper give, for every kind of reply", function()
    local client = helpers.client()
    local fast = {}
    for i, case in ipairs(cases) do fast[i] = fetch(client, case) end
    cs.use_json(helpers.default_codec())
    for i, case in ipairs(cases) do
      assert.same(fetch(client, case), fast[i], case[1])
    end
    client:close()
  end)

  it("still maps the usual reply as documented", function()
    local client = helpers.client()
    helpers.next_reply{ status = 200, content_type = "application/json", body = envelope(profile) }
    local p = assert(client:get_my_profile("token"))
    assert.equal("ada", p.user_name)
    assert.equal("United Kingdom", p.organisation_country)
    assert.is_false(p.is_subscribed_to_newsletter)
    if math.type then assert.equal("integer", math.type(p.roles)) end
    client:close()
  end)
end)
