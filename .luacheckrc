-- luacheck configuration; `luacheck .` (make check runs it) must stay clean.

-- The module runs on Lua 5.1-5.4 and LuaJIT: by default only the globals
-- every one of them has. Files below that run in one known host say so.
std = "min"
-- ...and the 5.1 name of table.unpack, for `table.unpack or unpack`.
read_globals = { "unpack" }
max_line_length = 120
exclude_files = { "build/", ".git/" }

-- Specs may use what one Lua has behind a guard (`if math.type then`), and
-- a table of expected values reads best on one line.
files["spec/"] = { std = "max+busted", max_line_length = 170 }

-- Benchmarks run on the Lua they are given, print Markdown tables whose
-- rows make long lines, and fill tables only to keep objects alive while
-- memory is measured (bench/memory.lua's sessions).
files["bench/"] = { std = "max", max_line_length = false, ignore = { "241" } }

-- Code that runs inside nginx's Lua module (LuaJIT + ngx).
files["emulator/"] = { std = "ngx_lua" }
files["examples/openresty/"] = { std = "ngx_lua" }

-- Code that runs inside Neovim (LuaJIT + vim).
files["examples/nvim/"] = { std = "luajit", read_globals = { "vim" } }
files["lua/chronosheets/nvim.lua"] = { std = "luajit", read_globals = { "vim" } }

-- The LuaLS definition file declares functions without bodies on tables
-- nothing reads, and a @field's description must stay on its line.
files["types/"] = { unused_args = false, ignore = { "241" }, max_line_length = false }
