# chronosheets-lua
#
#   make          build the C core for Lua 5.4 into build/5.4/
#   make demo     install what is missing, start the emulator, run examples/quickstart.lua
#   make check    install what is missing, build, run every spec against the emulator
#
# LUA_VERSION=5.3 (etc.) builds for another Lua; LUA_VERSION=jit for LuaJIT.

LUA_VERSION ?= 5.4
LUA ?= lua$(LUA_VERSION)
PKG_CONFIG ?= pkg-config
LUA_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags lua$(LUA_VERSION) 2>/dev/null || echo -I/usr/include/lua$(LUA_VERSION))
CURL_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags libcurl 2>/dev/null)
CURL_LIBS ?= $(shell $(PKG_CONFIG) --libs libcurl 2>/dev/null || echo -lcurl)

CFLAGS ?= -O2 -g
WARNINGS = -std=c99 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror=implicit-function-declaration
# The module exports luaopen_chronosheets_core only.
MODULE_FLAGS = -fPIC -shared -fvisibility=hidden

SOURCES = src/core.c src/client.c src/http.c src/multi.c src/schema.c src/wire.c src/fastpath.c
HEADERS = $(wildcard src/*.h)
BUILD = build/$(LUA_VERSION)
CORE = $(BUILD)/chronosheets/core.so

EMULATOR = emulator/emulator
TEST_PORT ?= 18089
# make check also runs the busted suite on these Luas (build/<v>/), and
# installs these Debian packages besides tools/install-deps' own (mk/*.mk
# files add theirs with +=).
CHECK_LUAS ?= jit
CHECK_DEPS =
DEMO_PORT ?= 8089

.PHONY: all deps demo check specs clean

all: $(CORE)

$(CORE): $(SOURCES) $(HEADERS) Makefile
	@mkdir -p $(@D)
	$(CC) $(WARNINGS) $(CFLAGS) $(MODULE_FLAGS) $(LUA_CFLAGS) $(CURL_CFLAGS) -o $@ $(SOURCES) $(CURL_LIBS)

deps:
	@tools/install-deps $(CHECK_DEPS)

# The demo needs only the base packages, not every test tool make check uses.
demo:
	@tools/install-deps
	@$(MAKE) --no-print-directory all
	@tools/with-emulator $(DEMO_PORT) normal env LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="$(BUILD)/?.so;;" \
		$(LUA) examples/quickstart.lua

check: deps
	@$(MAKE) --no-print-directory all
	@for v in $(CHECK_LUAS); do $(MAKE) --no-print-directory all LUA_VERSION=$$v || exit 1; done
	@tools/with-emulator $(TEST_PORT) test tools/check $(LUA_VERSION) $(BUILD) $(CHECK_LUAS)

# The busted suite alone, for a machine where `make deps` has run.
specs: all
	@tools/with-emulator $(TEST_PORT) test tools/run-specs $(LUA_VERSION) $(BUILD)

clean:
	rm -rf build

# Further targets (other Lua versions, sanitizers, benchmarks), one file
# per concern.
-include mk/*.mk
