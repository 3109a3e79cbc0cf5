# make soak: 100,000 calls on one client against the emulator (bench/soak.lua),
# sampling resident memory, the Lua heap and open descriptors every 5,000
# calls; fails if RSS grows more than SOAK_MAX_GROWTH_KIB after warm-up or
# descriptors grow. About a minute. Not part of `make check`.
#
#   make soak SOAK_CALLS=20000 SOAK_PORT=18400 LUA_VERSION=jit

SOAK_PORT ?= 18400
SOAK_CALLS ?= 100000
SOAK_MAX_GROWTH_KIB ?= 2048

.PHONY: soak

soak: deps
	@$(MAKE) --no-print-directory all
	@SOAK_CALLS=$(SOAK_CALLS) SOAK_MAX_GROWTH_KIB=$(SOAK_MAX_GROWTH_KIB) \
	LUA_PATH="lua/?.lua;lua/?/init.lua;bench/?.lua;;" LUA_CPATH="$(BUILD)/?.so;;" \
		tools/with-emulator $(SOAK_PORT) test $(LUA) bench/soak.lua
