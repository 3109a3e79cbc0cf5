# Hosts with an event loop of their own: Neovim and OpenResty.
#
#   make check-nvim   the headless Neovim test (spec/nvim/run.lua) against
#                     the emulator; make check runs it too (tools/check)
#
# Debian's neovim (0.7) runs LuaJIT, so the test loads build/jit.

CHECK_DEPS += neovim

.PHONY: check-nvim

check-nvim:
	@tools/install-deps $(CHECK_DEPS)
	@$(MAKE) --no-print-directory all LUA_VERSION=jit
	@tools/with-emulator $(TEST_PORT) test tools/check-nvim
