rockspec_format = "3.0"
package = "chronosheets"
version = "scm-1"

source = {
  url = "git+https://github.com/chronosheets/chronosheets-lua.git",
}

description = {
  summary = "ChronoSheets UserProfile API client: a C core over libcurl, with sessions",
  detailed = [[
    Log in to ChronoSheets, keep the session alive, read and update the
    profile and log out, getting plain Lua tables back. A C core over
    libcurl (one kept-alive connection per client), JSON through lua-cjson,
    and a thin Lua layer for session objects.
  ]],
  homepage = "https://github.com/chronosheets/chronosheets-lua",
  license = "MIT",
}

-- lua-cjson is needed at run time but not listed: Debian's lua-cjson
-- package is invisible to LuaRocks, and listing it would make LuaRocks try
-- to download a second copy. Install it with your system's packages or
-- `luarocks install lua-cjson`; without it, pass a codec to use_json().
dependencies = {
  "lua >= 5.1",
}

external_dependencies = {
  CURL = { library = "curl" },
}

build = {
  type = "builtin",
  -- The LuaLS definitions (a `---@meta` file) are for editors, not for
  -- require: installed beside the rock's manifest, off package.path
  -- (`luarocks show --rock-dir chronosheets`/types).
  copy_directories = { "types" },
  modules = {
    ["chronosheets"] = "lua/chronosheets/init.lua",
    ["chronosheets.async"] = "lua/chronosheets/async.lua",
    ["chronosheets.nvim"] = "lua/chronosheets/nvim.lua",
    ["chronosheets.resty"] = "lua/chronosheets/resty.lua",
    ["chronosheets.core"] = {
      sources = { "src/core.c", "src/client.c", "src/http.c", "src/multi.c", "src/schema.c", "src/wire.c", "src/fastpath.c" },
      libraries = { "curl" },
      incdirs = { "$(CURL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)" },
      defines = {},
    },
  },
}
