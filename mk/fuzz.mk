# libFuzzer over the reply path (fuzz/fuzz_reply.c), with ASan + UBSan.
#
#   make fuzz          build build/fuzz/fuzz_reply and fuzz for FUZZ_TIME
#                      seconds (default 600) from fuzz/corpus; new inputs go
#                      to build/fuzz/corpus, crashes to build/fuzz/
#   make fuzz-corpus   capture fuzz/corpus again from the emulator
#
# make check runs it for a fixed number of inputs (tools/check-fuzz).

FUZZ_CC ?= clang
FUZZ_BIN = build/fuzz/fuzz_reply
FUZZ_TIME ?= 600
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

CHECK_DEPS += clang libclang-rt-14-dev

.PHONY: fuzz fuzz-build fuzz-corpus

fuzz-build: $(FUZZ_BIN)

# Lua 5.4 only: the harness embeds it.
$(FUZZ_BIN): fuzz/fuzz_reply.c $(SOURCES) $(HEADERS) Makefile mk/fuzz.mk
	@tools/install-deps clang libclang-rt-14-dev >/dev/null
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=c99 -Wall -Wextra $(FUZZ_FLAGS) -Isrc -I/usr/include/lua5.4 $(CURL_CFLAGS) \
		-o $@ fuzz/fuzz_reply.c $(SOURCES) -llua5.4 $(CURL_LIBS)

fuzz: $(FUZZ_BIN)
	@mkdir -p build/fuzz/corpus
	$(FUZZ_BIN) -max_total_time=$(FUZZ_TIME) -print_final_stats=1 -artifact_prefix=build/fuzz/ \
		build/fuzz/corpus fuzz/corpus

fuzz-corpus: deps all
	@tools/with-emulator $(TEST_PORT) test fuzz/capture fuzz/corpus
