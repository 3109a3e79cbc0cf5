# make bench: our module against a bare libcurl loop, socket.http +
# lua-cjson and the curl program, on a fixed-reply nginx over loopback
# (HTTP on BENCH_PORT, HTTPS on BENCH_PORT+1). Prints one Markdown table;
# takes a few minutes. Not part of `make check`.
#
# BENCH_ROUNDS=5 timing rounds; BENCH_SCALE=1 multiplies the calls per round.

BENCH_PORT ?= 18390
BENCH_DEPS = lua-socket valgrind openssl
BENCH_BUILD = $(BUILD)/bench

.PHONY: bench

$(BENCH_BUILD)/floor: bench/floor.c
	@mkdir -p $(@D)
	$(CC) -O2 -g -Wall -Wextra $(CURL_CFLAGS) -o $@ $< $(CURL_LIBS)

$(BENCH_BUILD)/probe.so: bench/probe.c
	@mkdir -p $(@D)
	$(CC) -O2 -g -Wall -Wextra -fPIC -shared $(LUA_CFLAGS) -o $@ $<

bench:
	@tools/install-deps $(BENCH_DEPS)
	@$(MAKE) --no-print-directory all $(BENCH_BUILD)/floor $(BENCH_BUILD)/probe.so
	@bench/run $(LUA_VERSION) $(BUILD) $(BENCH_PORT)
