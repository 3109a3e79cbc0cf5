# Every Lua the module supports: 5.4, 5.3, 5.2, 5.1 and LuaJIT 2.1.
#
#   make all-luas   build the C core for each, into build/<version>/
#   make check-all  make check's closing line, over all five: the busted
#                   suite on each, the examples on 5.4, the rock built by
#                   `luarocks --lua-version=<v> make` for 5.4, 5.3, 5.2 and
#                   5.1 (and the 5.1 rock loaded in LuaJIT), luacheck
#
# LuaJIT is Debian's luajit2 (OpenResty's branch, the one nginx's Lua
# module links): `pkg-config --cflags luajit` gives its include directory,
# which is what the Makefile's LUA_CFLAGS asks for when LUA_VERSION=jit.

ALL_LUAS = 5.4 5.3 5.2 5.1 jit
LUA_PACKAGES = lua5.3 liblua5.3-dev lua5.2 liblua5.2-dev lua5.1 liblua5.1-0-dev

# make check itself needs LuaJIT, luacheck and, for spec/07-codec_spec.lua,
# a second JSON codec.
CHECK_DEPS += luajit2 libluajit2-5.1-dev lua-check lua-dkjson

.PHONY: all-luas check-all

all-luas:
	@for v in $(ALL_LUAS); do $(MAKE) --no-print-directory all LUA_VERSION=$$v || exit 1; done

check-all:
	@tools/install-deps $(CHECK_DEPS) $(LUA_PACKAGES)
	@$(MAKE) --no-print-directory all-luas
	@CHECK_ROCKS="5.3 5.2 5.1 5.1:luajit" tools/with-emulator $(TEST_PORT) test \
		tools/check 5.4 build/5.4 $(filter-out 5.4,$(ALL_LUAS))
