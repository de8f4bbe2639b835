# qatc — quantization-aware training to integer-only C.
#
#   make            build ./qatc
#   make demo       the main job: train -> generate -> build -> run (installs missing packages)
#   make check      every test (installs missing packages)
#   make bench      benchmarks against PyTorch and CMSIS-NN figures
#   make bench-speed      training speed of the MLPerf Tiny models against PyTorch (~10 min)
#   make bench-precision  W8 and W4A8 top-1, qatc and PyTorch, 6 + 8 epochs (~2 hours)
#   make install    PREFIX=/usr/local DESTDIR=
#
# Sources are found by pattern, so adding a module or a test needs no edit here:
#   runtime/common/*.c -> build/libqatc_common.a  (errors, YAML, files, rng, data)
#   runtime/int8/*.c   -> build/libqatc_int8.a    (the int8 core: what the generated C agrees with)
#   runtime/train/*.c  -> build/libqatc_train.a   (the trainer)
#   gen/*.c - main.c   -> build/libqatcgen.a      (the generator)
#   tests/test_*.c     -> build/tests/test_*      (one cmocka binary per module)
#   tests/support/*.c linked into every test; tests/check_*.sh run by make check
#
# Each library sees only the headers it may use (docs/architecture.md): common
# sees itself; int8 sees itself and common, and is compiled with the generated
# code's strict flags (-std=c99 -Wconversion); train sees all three. So an int8
# file that includes a trainer header does not compile; tests/check_layering.sh
# (make check) also catches relative escapes such as "../train/net.h".

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-format-truncation -Werror
INC_COMMON   = -Iruntime/common
INC_INT8     = -Iruntime/int8 $(INC_COMMON)
INC_TRAIN    = -Iruntime/train $(INC_INT8)
INC          = $(INC_TRAIN) -Igen -Itests/support
CPPFLAGS_ALL = $(INC) -D_GNU_SOURCE $(CBLAS_CPPFLAGS) $(CPPFLAGS)
CFLAGS_ALL   = -std=c11 $(WARN) -fopenmp $(CFLAGS)
LDLIBS_ALL   = -lyaml -lz -lm -lpthread -fopenmp $(CBLAS_LDLIBS) $(LDLIBS)

# OpenBLAS through CBLAS when it is there; a portable fallback otherwise. The
# probe (link a program against -lopenblas) runs once per build folder, before
# the first object is compiled, and keeps its answer, 1 or 0, in
# $(BUILD)/have_cblas; later runs of make only read that file. make clean (or
# deleting the file) probes again, and so does make deps after a "0", in case
# it has just installed libopenblas-dev.
CBLAS_PROBE    ?= $(BUILD)/have_cblas
HAVE_CBLAS      = $(strip $(file < $(CBLAS_PROBE)))
CBLAS_CPPFLAGS  = $(if $(filter 1,$(HAVE_CBLAS)),-DQATC_HAVE_CBLAS)
CBLAS_LDLIBS    = $(if $(filter 1,$(HAVE_CBLAS)),-lopenblas)

COMMON_SRC  := $(sort $(wildcard runtime/common/*.c))
INT8_SRC    := $(sort $(wildcard runtime/int8/*.c))
TRAIN_SRC   := $(sort $(wildcard runtime/train/*.c))
RUNTIME_SRC := $(COMMON_SRC) $(INT8_SRC) $(TRAIN_SRC)
GEN_SRC     := $(sort $(filter-out gen/main.c,$(wildcard gen/*.c)))
SUPPORT_SRC := $(sort $(wildcard tests/support/*.c))
TEST_SRC    := $(sort $(wildcard tests/test_*.c))
CHECK_SH    := $(sort $(wildcard tests/check_*.sh))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIBCOMMON  := $(BUILD)/libqatc_common.a
LIBINT8    := $(BUILD)/libqatc_int8.a
LIBTRAIN   := $(BUILD)/libqatc_train.a
LIBQATCGEN := $(BUILD)/libqatcgen.a
LIBS       := $(LIBQATCGEN) $(LIBTRAIN) $(LIBINT8) $(LIBCOMMON)   # in link order
TESTS      := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))

.PHONY: all deps demo check check-run check-sanitize tests bench bench-speed bench-precision install clean
all: qatc

deps:
	@scripts/deps.sh
	@if [ "$$(cat $(CBLAS_PROBE) 2>/dev/null)" = 0 ]; then rm -f $(CBLAS_PROBE); fi

$(CBLAS_PROBE):
	@mkdir -p $(dir $@)
	@if printf '\043include <cblas.h>\nint main(void){return 0;}' | \
	  $(CC) -x c - -lopenblas -o /dev/null 2>/dev/null; then echo 1; else echo 0; fi >$@

# Every object waits for the probe; the trainer's (whose flags it changes) are
# rebuilt when it is redone.
$(BUILD)/obj/%.o: %.c | $(CBLAS_PROBE)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP -c $< -o $@
$(call obj,$(TRAIN_SRC)): $(CBLAS_PROBE)

# The include boundary and the int8 core's flags, per library.
$(call obj,$(COMMON_SRC)): CPPFLAGS_ALL = $(INC_COMMON) -D_GNU_SOURCE $(CPPFLAGS)
$(call obj,$(INT8_SRC)):   CPPFLAGS_ALL = $(INC_INT8) -D_GNU_SOURCE $(CPPFLAGS)
$(call obj,$(INT8_SRC)):   CFLAGS_ALL = -std=c99 $(WARN) -Wconversion $(CFLAGS)

$(LIBCOMMON): $(call obj,$(COMMON_SRC))
$(LIBINT8): $(call obj,$(INT8_SRC))
$(LIBTRAIN): $(call obj,$(TRAIN_SRC))
$(LIBCOMMON) $(LIBINT8) $(LIBTRAIN):
	@rm -f $@
	ar rcs $@ $^

$(LIBQATCGEN): $(call obj,$(GEN_SRC))
	@rm -f $@
	ar rcs $@ $^

qatc: $(call obj,gen/main.c) $(LIBS)
	$(CC) $(CFLAGS_ALL) -o $@ $(filter %.o %.a,$^) $(LDLIBS_ALL)

$(BUILD)/tests/%: tests/%.c $(call obj,$(SUPPORT_SRC)) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP -o $@ $(filter %.c %.o %.a,$^) $(TEST_LDFLAGS) \
	  -lcmocka $(LDLIBS_ALL)

# tests/test_oom.c makes allocations fail by wrapping them at link time.
$(BUILD)/tests/test_oom: TEST_LDFLAGS = -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free
# tests/test_qfile.c makes a chosen rename fail, and link, the same way.
$(BUILD)/tests/test_qfile: TEST_LDFLAGS = -Wl,--wrap=rename,--wrap=link

# The tests/support objects are named here, not only in the pattern rule above:
# otherwise they are intermediate files, which make deletes after the build
# (the next make would compile them again and relink every test) and does not
# remake when missing (tests/check_target.sh links random_model.o).
tests: $(TESTS) $(call obj,$(SUPPORT_SRC))

# The test suite: every cmocka binary, then every check script. Scripts get
# QATC (the binary), BUILD (a scratch folder) and CC.
check: deps
	@scripts/deps.sh valgrind
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
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/sanitize CBLAS_PROBE=$(CBLAS_PROBE) OPT=-O1 \
	  CFLAGS="-O1 -g $(SAN)" LDLIBS="$(SAN)" tests
	@set -e; for t in $(patsubst $(BUILD)/%,$(BUILD)/sanitize/%,$(TESTS)); do \
	  echo "== sanitize $$t"; ASAN_OPTIONS=detect_leaks=1 $$t; done

demo: deps
	@$(MAKE) --no-print-directory qatc
	@sh examples/demo.sh

# make bench: the reference CNN against PyTorch and CMSIS-NN and the training speed of the
# four MLPerf Tiny models against PyTorch (bench/run.sh), then those models' generated C
# beside CMSIS-NN's figures (examples/mlperf-tiny; trains them first when their frozen
# models are missing, about 30 minutes). BENCH_MLPERF=0 skips that last part.
BENCH_MLPERF ?= 1
bench: deps
	@scripts/deps.sh python3-torch python3-numpy python3-yaml valgrind
	@$(MAKE) --no-print-directory qatc
	@sh bench/run.sh
	@if [ "$(BENCH_MLPERF)" = 1 ]; then $(MAKE) --no-print-directory -C examples/mlperf-tiny \
	  QATC=$(CURDIR)/qatc bench; fi

# make bench-speed: section s of make bench alone, the training speed of the four MLPerf Tiny
# models against PyTorch (about 10 minutes on 2 busy cores).
bench-speed: deps
	@scripts/deps.sh python3-torch python3-numpy python3-yaml
	@$(MAKE) --no-print-directory qatc
	@BENCH_SPEED_ONLY=1 sh bench/run.sh

# make bench-precision: section p of make bench alone, float/PTQ/QAT top-1 of qatc and PyTorch
# at 8- and 4-bit weights on the reference CNN and examples/mobilenet, 6 + 8 epochs on the
# whole set (about 2 hours on 2 busy cores; a stopped run resumes: bench/run.sh).
bench-precision: deps
	@scripts/deps.sh python3-torch python3-numpy python3-yaml
	@$(MAKE) --no-print-directory qatc
	@BENCH_PRECISION=1 sh bench/run.sh

install: qatc
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/qatc/templates
	install -m 755 qatc $(DESTDIR)$(PREFIX)/bin/qatc
	install -m 644 templates/*.m4 $(DESTDIR)$(PREFIX)/share/qatc/templates/

clean:
	rm -rf $(BUILD) qatc

-include $(shell find $(BUILD)/obj $(BUILD)/tests -name '*.d' 2>/dev/null)

# libFuzzer targets: make fuzz, make fuzz-check (tests/fuzz/fuzz.mk).
include tests/fuzz/fuzz.mk
