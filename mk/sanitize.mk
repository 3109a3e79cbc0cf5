# Sanitized builds of the C core, and the memory checks `make check` runs.
#
#   make asan        build/asan/$(LUA_VERSION)/chronosheets/core.so, with
#                    AddressSanitizer and UndefinedBehaviorSanitizer
#   make check-asan  the busted suite against that build (tools/check-asan)
#   make check-valgrind  the busted suite under valgrind (tools/check-valgrind)
#
# The interpreter (lua5.4) is not sanitized, so the ASan runtime must be
# the first library in the process: tools/check-asan preloads it.

ASAN_BUILD = build/asan/$(LUA_VERSION)
ASAN_CORE = $(ASAN_BUILD)/chronosheets/core.so
# -fno-sanitize-recover: undefined behaviour aborts the run instead of
# printing a line that a passing suite would hide.
SANITIZE_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

.PHONY: asan check-asan check-valgrind

asan: $(ASAN_CORE)

$(ASAN_CORE): $(SOURCES) $(HEADERS) Makefile mk/sanitize.mk
	@mkdir -p $(@D)
	$(CC) $(WARNINGS) -O1 -g $(SANITIZE_FLAGS) $(MODULE_FLAGS) $(LUA_CFLAGS) $(CURL_CFLAGS) -o $@ $(SOURCES) $(CURL_LIBS)

check-asan: deps asan
	@tools/with-emulator $(TEST_PORT) test tools/check-asan $(LUA_VERSION)

check-valgrind: deps all
	@tools/with-emulator $(TEST_PORT) test tools/check-valgrind $(LUA_VERSION) $(BUILD)

ASAN_LUA = $(ASAN_BUILD)/lua

$(ASAN_LUA): tests/sanitize/lua.c mk/sanitize.mk
	@mkdir -p $(@D)
	$(CC) -std=c99 -Wall -Wextra -O1 -g $(SANITIZE_FLAGS) $(LUA_CFLAGS) -o $@ $< -llua$(LUA_VERSION)

asan: $(ASAN_LUA)

CHECK_DEPS += valgrind

# The allocation-failure torture of the module (tests/alloc/alloc_fail.c),
# built with ASan + UBSan against the sanitized core (mk/sanitize.mk), so
# LeakSanitizer checks every run for leaks.
#
#   make alloc-fail   build it and run it against the emulator

ALLOC_FAIL = $(ASAN_BUILD)/alloc_fail

.PHONY: alloc-fail

$(ALLOC_FAIL): tests/alloc/alloc_fail.c mk/sanitize.mk
	@mkdir -p $(@D)
	$(CC) -std=c99 -Wall -Wextra -O1 -g $(SANITIZE_FLAGS) $(LUA_CFLAGS) -o $@ $< -llua$(LUA_VERSION) $(CURL_LIBS)

alloc-fail: deps asan $(ALLOC_FAIL)
	@tools/with-emulator $(TEST_PORT) test tools/check-alloc-fail $(LUA_VERSION)
