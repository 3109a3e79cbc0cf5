# Hosts with an event loop of their own: Neovim and OpenResty.
#
#   make check-nvim   the headless Neovim test (spec/nvim/run.lua) against
#                     the emulator; make check runs it too (tools/check)
#   make check-openresty  examples/openresty/nginx.conf with one worker, against
#                     the emulator (its port + 9, or OPENRESTY_PORT); make
#                     check runs it too
#
# Debian's neovim (0.7) and nginx's Lua module run LuaJIT, so both tests
# load build/jit.

CHECK_DEPS += neovim

.PHONY: check-nvim check-openresty

check-nvim:
	@tools/install-deps $(CHECK_DEPS)
	@$(MAKE) --no-print-directory all LUA_VERSION=jit
	@tools/with-emulator $(TEST_PORT) test tools/check-nvim

check-openresty:
	@tools/install-deps $(CHECK_DEPS)
	@$(MAKE) --no-print-directory all LUA_VERSION=jit
	@tools/with-emulator $(TEST_PORT) test tools/check-openresty
