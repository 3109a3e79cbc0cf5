-- types/ (the LuaLS definitions editors read) and the module agree: every function, method, option, argument field, result
-- field and error field declared there exists, and what the module offers
-- is declared.
local cs = require "chronosheets"
local async = require "chronosheets.async"
local core = require "chronosheets.core"
local helpers = require "helpers"

-- The definition files, read as text: their classes with their fields,
-- and the functions declared on each table.
local function read_types(paths)
  local text = ""
  for _, path in ipairs(paths) do
    local f = assert(io.open(path, "rb"))
    text = text .. f:read("*a") .. "\n"
    f:close()
  end
  local classes, functions, current = {}, {}, nil
  -- one match per line on every Lua ("[^\n]*" alone gives 5.1 an empty match after each line)
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    local class = line:match("^%-%-%-@class ([%w_.]+)")
    local field = line:match("^%-%-%-@field ([%w_]+)")
    local owner, name = line:match("^function ([%w_]+)[.:]([%w_]+)%(")
    if not owner then owner, name = line:match("^([%w_]+)%.([%w_]+) = ") end
    if class then
      current = class
      classes[class] = classes[class] or {}
    elseif field and current then
      classes[current][field] = true
    elseif not line:match("^%-%-%-") then
      current = nil
    end
    if owner then
      functions[owner] = functions[owner] or {}
      functions[owner][name] = true
    end
  end
  return classes, functions
end

local classes, functions = read_types{ "types/chronosheets.lua", "types/chronosheets/async.lua",
                                       "types/chronosheets/nvim.lua", "types/chronosheets/resty.lua" }

-- The API of a host adapter (chronosheets.nvim, chronosheets.resty), read
-- from its source since busted has neither vim nor ngx: functions of _M,
-- methods of client, and the endpoint methods it makes in a loop.
local function adapter_api(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  local module, methods = {}, {}
  for name in text:gmatch("\nfunction _M%.([%w_]+)%(") do module[name] = true end
  for name in text:gmatch("\nfunction client:([%w_]+)%(") do methods[name] = true end
  local list = assert(text:match("for _, name in ipairs(%b{})"), "no endpoint loop in " .. path)
  for name in list:gmatch('"([%w_]+)"') do
    methods[name] = true
    if text:find('client[name .. "_async"]', 1, true) then methods[name .. "_async"] = true end
  end
  return module, methods
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- Every key of value is a declared field of class, and so on down the
-- tables whose class is known (nested[key] = class of value[key], or of
-- each item when it is a list).
local function assert_declared(value, class, nested)
  for _, key in ipairs(sorted_keys(value)) do
    assert(classes[class][key], ("%s.%s is not declared in types/chronosheets.lua"):format(class, key))
    local sub = nested and nested[key]
    if sub then
      local items = value[key][1] ~= nil and value[key] or { value[key] }
      for _, item in ipairs(items) do assert_declared(item, sub[1], sub[2]) end
    end
  end
end

describe("types/chronosheets.lua", function()
  before_each(helpers.reset)

  it("declares every function and field of the module, and nothing it lacks", function()
    for _, name in ipairs(sorted_keys(cs)) do
      local declared = type(cs[name]) == "function" and functions.chronosheets[name] or classes.chronosheets[name]
      assert(declared, ("chronosheets.%s is not declared in types/chronosheets.lua"):format(name))
    end
    for name in pairs(functions.chronosheets) do assert.is_function(cs[name], name) end
    for name in pairs(classes.chronosheets) do assert.is_not_nil(cs[name], name) end
    for _, name in ipairs(sorted_keys(core)) do
      local declared = type(core[name]) == "function" and functions.core[name] or classes["chronosheets.core"][name]
      assert(declared, ("chronosheets.core.%s is not declared in types/chronosheets.lua"):format(name))
    end
    for _, name in ipairs(sorted_keys(async)) do
      local declared = type(async[name]) == "function" and functions.async[name] or classes["chronosheets.async"][name]
      assert(declared, ("chronosheets.async.%s is not declared in types/chronosheets/async.lua"):format(name))
    end
    for name in pairs(functions.async) do assert.is_function(async[name], name) end
  end)

  it("declares every client method, and nothing clients lack", function()
    for _, name in ipairs(sorted_keys(core.client_methods)) do
      assert(functions.Client[name], ("client:%s is not declared in types/chronosheets.lua"):format(name))
    end
    for name in pairs(functions.Client) do assert.is_function(core.client_methods[name], name) end
  end)

  it("declares the functions of chronosheets.nvim and chronosheets.resty and their clients' methods", function()
    local module, methods = adapter_api("lua/chronosheets/nvim.lua")
    assert.same(module, functions.nvim)
    assert.same(methods, functions.NvimClient)
    module, methods = adapter_api("lua/chronosheets/resty.lua")
    assert.same(module, functions.resty)
    assert.same(methods, functions.RestyClient)
  end)

  it("declares the methods of a non-blocking call's handle", function()
    local client = helpers.client()
    local call = client:get_my_profile_async("token", function() end)
    for name in pairs(functions.Call) do assert.is_function(call[name], name) end
    assert.equal("running", call:status())
    assert.is_true(call:cancel())
    assert.equal(0, client:in_flight())
    client:close()
  end)

  it("declares session methods and fields that sessions have", function()
    local session = assert(cs.login{ base_url = helpers.base_url, username_or_email = "ada",
                                     password = helpers.ada.password })
    for name in pairs(functions.Session) do assert.is_function(session[name], name) end
    for _, name in ipairs(sorted_keys(session)) do
      assert(classes["chronosheets.Session"][name], ("session.%s is not declared"):format(name))
    end
    assert.is_string(session.token)
    assert(session:logout())
  end)

  it("declares only options, credentials and fields the module knows", function()
    -- A value of the wrong type gets an error naming what was expected,
    -- which only a known option or field gets ("unknown option 'x'" else).
    for name in pairs(classes["chronosheets.ClientOptions"]) do
      helpers.raises("option '" .. name .. "' must be", cs.client, { [name] = {} })
    end
    -- and every option the C core knows (src/client.c's option_names) is declared
    local f = assert(io.open("src/client.c", "rb"))
    local list = assert(f:read("*a"):match("option_names%[%] = (%b{})"), "option_names not found in src/client.c")
    f:close()
    local known = {}
    for name in list:gmatch('"([%w_]+)"') do known[name] = true end
    assert.same(known, classes["chronosheets.ClientOptions"])
    local client = helpers.client()
    for name in pairs(classes["chronosheets.ProfileFields"]) do
      helpers.raises("field '" .. name .. "' must be", client.update_my_profile, client, "token", { [name] = {} })
    end
    helpers.raises("field 'remember_me' must be", client.login, client,
      { username_or_email = "ada", password = "x", remember_me = {} })
    assert.same({ password = true, remember_me = true, username_or_email = true },
      classes["chronosheets.Credentials"])
    helpers.raises("token must be a string", client.request, client, "GET", "/", { token = {} })
    helpers.raises("body must be a table or a string", client.request, client, "GET", "/", { body = true })
    assert.same({ body = true, token = true }, classes["chronosheets.RequestOptions"])
    client:close()
  end)

  it("declares every field of what the endpoints return", function()
    local client = helpers.client()
    local login = assert(client:login{ username_or_email = "ada", password = helpers.ada.password })
    local plans = { "chronosheets.PricingPlan" }
    local organisation = { "chronosheets.Organisation", { pricing_plans = plans } }
    assert_declared(login, "chronosheets.LoginResult",
      { logged_in_user = { "chronosheets.User", { organisation = organisation } } })
    local token = login.cs_auth_token
    assert_declared(assert(client:get_my_profile(token)), "chronosheets.Profile")
    assert_declared(assert(client:update_my_profile(token, { last_name = "King" })), "chronosheets.UpdateResult")
    assert_declared(assert(client:request("GET", "/UserProfile/GetMyProfile", { token = token })),
      "chronosheets.Envelope")
    client:close()
  end)

  it("declares every field of every kind of error", function()
    local client = helpers.client{ timeout = 5 }
    local errors = {}
    errors[#errors + 1] = select(2, client:login{ username_or_email = "ada", password = "incorrect horse" })
    helpers.next_reply{ status = 502, content_type = "text/html", body = "<h1>Bad Gateway</h1>" }
    errors[#errors + 1] = select(2, client:get_my_profile("token"))
    helpers.next_reply{ status = 200, content_type = "text/html", body = "<html></html>" }
    errors[#errors + 1] = select(2, client:get_my_profile("token"))
    local refused = helpers.client{ base_url = helpers.refused_url }
    errors[#errors + 1] = select(2, refused:get_my_profile("token"))
    refused:close()
    client:close()
    local kinds = {}
    for _, err in ipairs(errors) do
      kinds[#kinds + 1] = err.kind
      assert_declared(err, "chronosheets.Error")
      assert.equal(cs.error_mt, getmetatable(err))
    end
    assert.same({ "api", "http", "decode", "transport" }, kinds)
  end)
end)
