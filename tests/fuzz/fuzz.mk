# libFuzzer targets for the loaders of hand-written and foreign files
# (docs/robustness.md). Included from the Makefile.
#
#   make fuzz            run each target for FUZZ_SECONDS (default 60), one after the other;
#                        new inputs go to build/fuzz/corpus/T, crashes to build/fuzz/crash-T-*
#   make fuzz-check      (part of make check, via tests/check_fuzz.sh) every seed and kept
#                        crasher once, then FUZZ_CHECK_SECONDS (default 20) of fuzzing each
#   make fuzz-build      only build build/fuzz/fuzz_T
#
# Target T is tests/fuzz/fuzz_T.c with seeds in tests/fuzz/T/corpus, crashers
# found earlier in tests/fuzz/T/regressions and an optional tests/fuzz/T/dict.
# The runtime is rebuilt for fuzzing with clang in build/fuzz (its own flags).

FUZZ_CC            ?= clang
FUZZ_SECONDS       ?= 60
FUZZ_CHECK_SECONDS ?= 20
FUZZ_TARGETS       := config idx frozen npy ckpt
FUZZ_DIR           := $(BUILD)/fuzz
FUZZ_SAN   = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=c11 -Wall -Wextra -Wshadow -Wno-unknown-pragmas -Wno-pass-failed -g -O1 -fopenmp \
              $(INC_TRAIN) -Itests/fuzz -D_GNU_SOURCE $(FUZZ_SAN)
.PHONY: fuzz fuzz-build fuzz-check
.PRECIOUS: $(FUZZ_DIR)/obj/%.o

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_DIR)/libqatc.a: $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(RUNTIME_SRC))
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_DIR)/obj/tests/fuzz/fuzzfile.o \
                    $(FUZZ_DIR)/libqatc.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -fopenmp -o $@ $^ -lyaml -lz -lm

fuzz-build: $(foreach t,$(FUZZ_TARGETS),$(FUZZ_DIR)/fuzz_$(t))

fuzz: fuzz-build
	@sh tests/fuzz/run.sh fuzz $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-check: fuzz-build
	@sh tests/fuzz/run.sh check $(FUZZ_DIR) $(FUZZ_CHECK_SECONDS) $(FUZZ_TARGETS)

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
