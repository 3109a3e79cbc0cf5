# make bench: our module against a bare libcurl loop, socket.http +
# lua-cjson and the curl program, on a fixed-reply nginx over loopback
# (HTTP on BENCH_PORT, HTTPS on BENCH_PORT+1), then many calls at once on
# one client (BENCH_PORT+2, and 50 ms late on BENCH_PORT+3). Prints
# Markdown tables; takes about a minute and a half. Not part of `make check`.
#
# BENCH_ROUNDS=5 timing rounds; BENCH_SCALE=1 multiplies the calls per round;
# BENCH_MANY_ROUNDS=3 runs of each many-calls measurement; BENCH_ONLY=many
# runs only the many-calls part.

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
