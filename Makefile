# qatc — quantization-aware training to integer-only C.
#
#   make            build ./qatc
#   make demo       the main job: train -> generate -> build -> run (installs missing packages)
#   make check      every test (installs missing packages)
#   make bench      benchmarks against PyTorch and CMSIS-NN figures
#   make install    PREFIX=/usr/local DESTDIR=
#
# Sources are found by pattern, so adding a module or a test needs no edit here:
#   runtime/*.c      -> build/libqatc.a      (the host library)
#   gen/*.c - main.c -> build/libqatcgen.a   (the generator)
#   tests/test_*.c   -> build/tests/test_*   (one cmocka binary per module)
#   tests/support/*.c linked into every test; tests/check_*.sh run by make check

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-format-truncation -Werror
CPPFLAGS_ALL = -Iruntime -Igen -Itests/support -D_GNU_SOURCE $(CPPFLAGS)
CFLAGS_ALL   = -std=c11 $(WARN) -fopenmp $(CFLAGS)
LDLIBS_ALL   = -lyaml -lz -lm -lpthread -fopenmp $(LDLIBS)

# OpenBLAS through CBLAS when it is there; a portable fallback otherwise.
HAVE_CBLAS := $(shell printf '\043include <cblas.h>\nint main(void){return 0;}' | \
                $(CC) -x c - -lopenblas -o /dev/null 2>/dev/null && echo 1)
ifeq ($(HAVE_CBLAS),1)
CPPFLAGS_ALL += -DQATC_HAVE_CBLAS
LDLIBS_ALL   += -lopenblas
endif

RUNTIME_SRC := $(sort $(wildcard runtime/*.c))
GEN_SRC     := $(sort $(filter-out gen/main.c,$(wildcard gen/*.c)))
SUPPORT_SRC := $(sort $(wildcard tests/support/*.c))
TEST_SRC    := $(sort $(wildcard tests/test_*.c))
CHECK_SH    := $(sort $(wildcard tests/check_*.sh))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIBQATC    := $(BUILD)/libqatc.a
LIBQATCGEN := $(BUILD)/libqatcgen.a
TESTS      := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))

.PHONY: all deps demo check check-run check-sanitize tests bench install clean
all: qatc

deps:
	@scripts/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(LIBQATC): $(call obj,$(RUNTIME_SRC))
	@rm -f $@
	ar rcs $@ $^

$(LIBQATCGEN): $(call obj,$(GEN_SRC))
	@rm -f $@
	ar rcs $@ $^

qatc: $(call obj,gen/main.c) $(LIBQATCGEN) $(LIBQATC)
	$(CC) $(CFLAGS_ALL) -o $@ $(filter %.o %.a,$^) $(LDLIBS_ALL)

$(BUILD)/tests/%: tests/%.c $(call obj,$(SUPPORT_SRC)) $(LIBQATCGEN) $(LIBQATC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP -o $@ $(filter %.c %.o %.a,$^) $(TEST_LDFLAGS) \
	  -lcmocka $(LDLIBS_ALL)

# tests/test_oom.c makes allocations fail by wrapping them at link time.
$(BUILD)/tests/test_oom: TEST_LDFLAGS = -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free

tests: $(TESTS)

# The test suite: every cmocka binary, then every check script. Scripts get
# QATC (the binary), BUILD (a scratch folder) and CC.
check: deps
	@$(MAKE) --no-print-directory check-run

check-run: qatc tests
	@set -e; for t in $(TESTS); do echo "== $$t"; $$t; done
	@set -e; for s in $(CHECK_SH); do echo "== $$s"; \
	  QATC=$(CURDIR)/qatc BUILD=$(CURDIR)/$(BUILD) CC=$(CC) sh $$s; done
	@$(MAKE) --no-print-directory check-sanitize
	@echo "make check: all passed"

# The unit suite again under AddressSanitizer and UndefinedBehaviorSanitizer,
# in a build folder of its own.
SAN = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
check-sanitize:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/sanitize OPT=-O1 \
	  CFLAGS="-O1 -g $(SAN)" LDLIBS="$(SAN)" tests
	@set -e; for t in $(patsubst $(BUILD)/%,$(BUILD)/sanitize/%,$(TESTS)); do \
	  echo "== sanitize $$t"; ASAN_OPTIONS=detect_leaks=1 $$t; done

demo: deps
	@$(MAKE) --no-print-directory qatc
	@sh examples/demo.sh

bench: deps
	@scripts/deps.sh python3-torch valgrind
	@$(MAKE) --no-print-directory qatc
	@sh bench/run.sh

install: qatc
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/qatc/templates
	install -m 755 qatc $(DESTDIR)$(PREFIX)/bin/qatc
	install -m 644 templates/*.m4 $(DESTDIR)$(PREFIX)/share/qatc/templates/

clean:
	rm -rf $(BUILD) qatc

-include $(shell find $(BUILD)/obj $(BUILD)/tests -name '*.d' 2>/dev/null)

# libFuzzer targets: make fuzz, make fuzz-check (tests/fuzz/fuzz.mk).
include tests/fuzz/fuzz.mk
