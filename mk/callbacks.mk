# No Lua inside libcurl's callbacks: tools/check-callbacks runs
# tests/callbacks/exercise.lua under gdb with a breakpoint on every Lua C
# API function, and fails if one runs with libcurl on the stack (a Lua
# error there would unwind through libcurl). About 10 s; make check runs it.
#
#   make check-callbacks

CALLBACKS_DEPS = gdb binutils
CHECK_DEPS += $(CALLBACKS_DEPS)

.PHONY: check-callbacks

check-callbacks: all
	@tools/install-deps $(CALLBACKS_DEPS)
	@tools/with-emulator $(TEST_PORT) test tools/check-callbacks $(LUA_VERSION) $(BUILD)
