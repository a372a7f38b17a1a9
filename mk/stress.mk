# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Reliability: stress, PID-reuse torture, fault injection, ThreadSanitizer,
# fuzzing and security checks (stress/).  All driven by stress/run.sh.
#
#   make stress        the full run: 100,000 spawn/wait cycles per backend
#                      (three backends at once, each in its own pid
#                      namespace with PID-reuse pressure), torture, faults,
#                      security, TSAN; bounded to < 5 min on 2 cores.
#   make check-stress  the same suites scaled down (~30-60 s), part of
#                      `make check`; suites "stress" and "stress-tsan".
#   make fuzz          each libFuzzer harness for FUZZ_SECONDS (60; CI: 20),
#                      suite "fuzz".
# STRESS_PERSONALITY=4.19 runs stress/torture/faults under
# `pidshim emulate NAME` (backends the personality hides are skipped with
# the kernel feature named).  Figures of the last run land in
# $(BUILD)/results/reliability.txt.

ST_BUILD := $(BUILD)/stress
ST_COMMON := stress/common.c stress/common.h
ST_PROGS := $(addprefix $(ST_BUILD)/,pidshim-stress pidshim-pidreuse pidshim-faults \
	pidshim-fdcheck secure-probe stress-child)
ST_TSAN_PROGS := $(addprefix $(ST_BUILD)/tsan/,pidshim-stress pidshim-pidreuse stress-child)
comma := ,
ST_WRAP := $(addprefix -Wl$(comma)--wrap=,malloc calloc realloc reallocarray free \
	posix_memalign aligned_alloc strdup strndup)
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_NAMES := exit-status duration signal pid
FUZZ_BINS := $(addprefix $(ST_BUILD)/fuzz/fuzz-,$(FUZZ_NAMES))
STRESS_PERSONALITY ?=

.PHONY: stress check-stress stress-progs stress-tsan-progs fuzz fuzz-progs

stress-progs: $(ST_PROGS)
stress-tsan-progs: $(ST_TSAN_PROGS)
fuzz-progs: $(FUZZ_BINS)

# Static, no sanitizer: one spawn must cost a clone and an exec only.
$(ST_BUILD)/stress-child $(ST_BUILD)/tsan/stress-child: stress/child.c
	@mkdir -p $(@D)
	$(CC) $(STATIC_PROG_CFLAGS) -o $@ $<

$(ST_BUILD)/pidshim-%: stress/%.c $(ST_COMMON) $(INCDIR)/pidshim.h $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(PROG_CFLAGS) -o $@ $< stress/common.c $(LIB_A) $(LDFLAGS_COMMON) -lrt

# Every allocation the library makes goes through faults.c's wrappers.
$(ST_BUILD)/pidshim-faults: stress/faults.c $(ST_COMMON) $(INCDIR)/pidshim.h $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(PROG_CFLAGS) -o $@ $< stress/common.c $(LIB_A) $(ST_WRAP) \
		$(LDFLAGS_COMMON) -lrt

# Static so that it runs setuid/setgid without the loader dropping
# LD_LIBRARY_PATH; so never sanitized: with SANITIZE set it links a plain
# copy of the library.
ST_PLAIN_LIB := $(if $(SANITIZE),$(BUILD)/plain/libpidshim.a,$(LIB_A))
$(BUILD)/plain/libpidshim.a: $(LIB_SRCS) shim/lib/*.h $(INCDIR)/pidshim.h
	$(MAKE) --no-print-directory BUILD=$(BUILD)/plain SANITIZE= $(BUILD)/plain/libpidshim.a

$(ST_BUILD)/secure-probe: stress/secure-probe.c $(INCDIR)/pidshim.h $(ST_PLAIN_LIB)
	@mkdir -p $(@D)
	$(CC) $(STATIC_PROG_CFLAGS) -o $@ $< $(ST_PLAIN_LIB)

# ThreadSanitizer: the library rebuilt with SANITIZE=thread, and the
# threaded tests against it.
$(BUILD)/tsan/libpidshim.a: $(LIB_SRCS) shim/lib/*.h $(INCDIR)/pidshim.h
	$(MAKE) --no-print-directory BUILD=$(BUILD)/tsan SANITIZE=thread $(BUILD)/tsan/libpidshim.a

$(ST_BUILD)/tsan/pidshim-%: stress/%.c $(ST_COMMON) $(INCDIR)/pidshim.h $(BUILD)/tsan/libpidshim.a
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O1 -g $(WARN) -D_GNU_SOURCE -pthread -fsanitize=thread \
		-fno-omit-frame-pointer -I$(INCDIR) -o $@ $< stress/common.c \
		$(BUILD)/tsan/libpidshim.a -pthread -fsanitize=thread -lrt

# libFuzzer (clang; libclang-rt-14-dev).  The library is rebuilt with
# coverage so the fuzzer sees inside pidshim_exit_status().
$(BUILD)/fuzzlib/libpidshim.a: $(LIB_SRCS) shim/lib/*.h $(INCDIR)/pidshim.h
	$(MAKE) --no-print-directory BUILD=$(BUILD)/fuzzlib CC=$(FUZZ_CC) SANITIZE= \
		EXTRA_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined" \
		EXTRA_LDFLAGS="-fsanitize=address,undefined" $(BUILD)/fuzzlib/libpidshim.a

FUZZ_FLAGS := -std=gnu11 -O1 -g -D_GNU_SOURCE -Wall -Wextra -Werror \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

$(ST_BUILD)/fuzz/fuzz-exit-status: stress/fuzz-exit-status.c $(BUILD)/fuzzlib/libpidshim.a
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -I$(INCDIR) -o $@ $< $(BUILD)/fuzzlib/libpidshim.a -pthread

$(ST_BUILD)/fuzz/fuzz-%: stress/fuzz-%.c shim/cli/parse.c shim/cli/parse.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Ishim/cli -o $@ $< shim/cli/parse.c

stress: $(ST_PROGS) $(ST_TSAN_PROGS) $(BUILD)/pidshim
	stress/run.sh full $(BUILD) "$(STRESS_PERSONALITY)"

check-stress: $(ST_PROGS) $(ST_TSAN_PROGS) $(BUILD)/pidshim
	stress/run.sh quick $(BUILD) "$(STRESS_PERSONALITY)"

fuzz: $(FUZZ_BINS)
	stress/run-fuzz.sh $(BUILD) $(FUZZ_SECONDS) $(FUZZ_BINS)

CHECK_TARGETS += check-stress
