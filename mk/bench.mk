# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `make bench`: builds bench/ (one binary per implementation: raw syscalls,
# raw pidfds, pidshim, libuv, GLib, libev, sd-event, plus the stamping
# helper) and runs bench/run.py, which prints one markdown table per
# benchmark and writes $(BUILD)/bench/results.json, results.md and
# scaling.png.  Benchmarks are not tests: nothing here is in CHECK_TARGETS.
# BENCH_ARGS passes options to run.py (e.g. BENCH_ARGS="--only b1,b4" or
# "--quick"); BENCH_BEFORE=<commit> adds that commit's pidshim beside.

BENCH_DIR := $(BUILD)/bench
BENCH_IMPLS := raw rawpidfd pidshim uv glib ev sdevent
BENCH_BINS := $(patsubst %,$(BENCH_DIR)/bench-%,$(BENCH_IMPLS)) $(BENCH_DIR)/bench-child
# Third-party headers are system headers: their warnings are not ours.
bench_pc = $(patsubst -I%,-isystem %,$(shell pkg-config --cflags $(1)))
BENCH_CFLAGS := $(CFLAGS_COMMON) -Ibench
BENCH_ARGS ?=

.PHONY: bench bench-build bench-deps

$(BENCH_DIR):
	mkdir -p $@

$(BENCH_DIR)/bench-child: bench/child.c | $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(LDFLAGS_COMMON)

$(BENCH_DIR)/bench-raw: bench/impl_raw.c bench/common.c bench/bench.h | $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) -o $@ bench/impl_raw.c bench/common.c $(LDFLAGS_COMMON)

$(BENCH_DIR)/bench-rawpidfd: bench/impl_rawpidfd.c bench/common.c bench/bench.h | $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) -o $@ bench/impl_rawpidfd.c bench/common.c $(LDFLAGS_COMMON)

# Linked against the shared library (with an rpath to the build tree), so
# callgrind can count the instructions spent inside libpidshim.so alone.
$(BENCH_DIR)/bench-pidshim: bench/impl_pidshim.c bench/common.c bench/bench.h $(LIB_SO_DEV) | $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) -I$(INCDIR) -o $@ bench/impl_pidshim.c bench/common.c \
		-L$(BUILD) -lpidshim -Wl,-rpath,$(abspath $(BUILD)) $(LDFLAGS_COMMON)

$(BENCH_DIR)/bench-uv: bench/impl_uv.c bench/common.c bench/bench.h | $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) $(call bench_pc,libuv) -o $@ bench/impl_uv.c bench/common.c \
		$(shell pkg-config --libs libuv) $(LDFLAGS_COMMON)

$(BENCH_DIR)/bench-glib: bench/impl_glib.c bench/common.c bench/bench.h | $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) $(call bench_pc,glib-2.0) -o $@ bench/impl_glib.c bench/common.c \
		$(shell pkg-config --libs glib-2.0) $(LDFLAGS_COMMON)

# Debian's libev-dev ships no pkg-config file.
$(BENCH_DIR)/bench-ev: bench/impl_ev.c bench/common.c bench/bench.h | $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) -o $@ bench/impl_ev.c bench/common.c -lev $(LDFLAGS_COMMON)

$(BENCH_DIR)/bench-sdevent: bench/impl_sdevent.c bench/common.c bench/bench.h | $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) $(call bench_pc,libsystemd) -o $@ bench/impl_sdevent.c bench/common.c \
		$(shell pkg-config --libs libsystemd) $(LDFLAGS_COMMON)

# B5 only, x86_64 only: answers pidfd_send_signal for a valgrind that lacks
# it (see the file); run.py uses it only when the backend is otherwise ENOSYS.
ifeq ($(shell uname -m),x86_64)
BENCH_BINS += $(BENCH_DIR)/vg-syscall-shim.so
endif
$(BENCH_DIR)/vg-syscall-shim.so: bench/vg-syscall-shim.c | $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) -fPIC -shared -o $@ $< $(LDFLAGS_COMMON)

bench-build: $(BENCH_BINS)

# BENCH_BEFORE=<commit>: the pidshim rows of B1-B3 run a second time, in
# the same run, with the library of that commit ("before:" rows), so that
# a change is judged against the old code under the same load.  Its
# source comes from `git archive`; today's bench program is built against
# its header and library.
BENCH_BEFORE ?=
BEFORE_DIR := $(BUILD)/before
ifneq ($(BENCH_BEFORE),)
BENCH_BEFORE_BIN := $(BENCH_DIR)/bench-pidshim-before
BENCH_ARGS += --before $(BENCH_BEFORE_BIN) --before-name $(BENCH_BEFORE)
.PHONY: $(BENCH_BEFORE_BIN)
endif

$(BENCH_DIR)/bench-pidshim-before: bench/impl_pidshim.c bench/common.c bench/bench.h | $(BENCH_DIR)
	rm -rf $(BEFORE_DIR) && mkdir -p $(BEFORE_DIR)
	git archive $(BENCH_BEFORE) | tar -x -C $(BEFORE_DIR)
	$(MAKE) --no-print-directory -C $(BEFORE_DIR) BUILD=build lib
	$(CC) $(BENCH_CFLAGS) -I$(BEFORE_DIR)/shim/include -o $@ bench/impl_pidshim.c \
		bench/common.c -L$(BEFORE_DIR)/build -lpidshim \
		-Wl,-rpath,$(abspath $(BEFORE_DIR)/build) $(LDFLAGS_COMMON)

# The anchors and gnuplot come from Debian (ci/deps/bench.list).
bench-deps:
	@ci/deps.sh check

bench: bench-deps
	@$(MAKE) --no-print-directory lib bench-build $(BENCH_BEFORE_BIN)
	python3 bench/run.py --bindir $(BENCH_DIR) --lib $(LIB_SO_REAL) $(BENCH_ARGS)
