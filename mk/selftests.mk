# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The C selftests (selftests/*.c, kselftest harness): one binary per area
# of CONTRACT section 3, each running every behaviour test once per backend.
#
#   make selftests          build $(BUILD)/selftests/{LIST,helper,<area>...}
#   make selftests-static   static binaries against libpidshim.a in
#                           $(BUILD)/static/selftests/ (same layout, for the
#                           qemu kernel-matrix guests)
#   make check-selftests    run them               -> results suite "selftests"
#   make check-asan         ASan+UBSan build in $(BUILD)/asan, run
#                                                  -> "selftests-asan"
#   make check-valgrind     once under valgrind (trixie's, see
#                           ci/get-valgrind.sh), quick -> "selftests-valgrind"
#
# The harness headers come from ci/get-harness.sh (unpacked from Debian's
# linux-source-6.1 into the cache, never committed).  The test binaries are
# built only for `check` and the targets above, not by `make`.

ST_NAMES := probe open wait signal spawn set coexist robust heavy
ST_DIR := $(BUILD)/selftests
ST_BINS := $(addprefix $(ST_DIR)/,$(ST_NAMES))
ST_HELPER := $(ST_DIR)/helper
ST_STATIC_DIR := $(BUILD)/static/selftests
ST_STATIC_BINS := $(addprefix $(ST_STATIC_DIR)/,$(ST_NAMES))
ST_HDRS := selftests/pstest.h $(INCDIR)/pidshim.h
ST_HARNESS_STAMP := $(BUILD)/selftests/.harness
# The harness defines non-static functions without prototypes and passes
# its format strings on through vprintf.
ST_CFLAGS = $(CFLAGS_COMMON) -Wno-missing-prototypes -Wno-format-nonliteral -I$(INCDIR) -Iselftests \
	-I$$(cat $(ST_HARNESS_STAMP))
# The helper is the spawned child: no sanitizer runtime, static for speed.
ST_HELPER_CFLAGS := -std=gnu11 $(OPT) $(WARN) -D_GNU_SOURCE
ST_RUN_ENV = PIDSHIM_SELFTEST_DIR=$(1) PIDSHIM_TEST_HELPER=$(1)/helper

.PHONY: selftests selftests-static check-selftests check-asan check-valgrind

selftests: $(ST_BINS) $(ST_HELPER) $(ST_DIR)/LIST

selftests-static: $(ST_STATIC_BINS) $(ST_STATIC_DIR)/helper $(ST_STATIC_DIR)/LIST \
	$(ST_STATIC_DIR)/run-suite.sh

$(ST_HARNESS_STAMP):
	@mkdir -p $(dir $@)
	ci/get-harness.sh > $@.tmp && mv $@.tmp $@

$(ST_DIR)/%: selftests/%.c $(ST_HDRS) $(LIB_SO) $(ST_HARNESS_STAMP)
	$(CC) $(ST_CFLAGS) -o $@ $< -L$(BUILD) -lpidshim \
		-Wl,-rpath,$(abspath $(BUILD)) $(LDFLAGS_COMMON)

$(ST_HELPER) $(ST_STATIC_DIR)/helper: selftests/helper.c
	@mkdir -p $(dir $@)
	$(CC) $(ST_HELPER_CFLAGS) -static -o $@ $<

$(ST_STATIC_DIR)/%: selftests/%.c $(ST_HDRS) $(LIB_A) $(ST_HARNESS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ST_CFLAGS) -static -o $@ $< $(LIB_A) $(LDFLAGS_COMMON)

$(ST_DIR)/LIST $(ST_STATIC_DIR)/LIST: mk/selftests.mk
	@mkdir -p $(dir $@)
	printf '%s\n' $(ST_NAMES) > $@

$(ST_STATIC_DIR)/run-suite.sh: selftests/run-suite.sh
	@mkdir -p $(dir $@)
	cp $< $@

check-selftests: selftests
	$(call ST_RUN_ENV,$(ST_DIR)) sh selftests/run-suite.sh selftests $(BUILD)/results

# The sanitizer build lives in its own tree so it never mixes objects with
# the plain one.  PIDSHIM_TEST_SLOW=2: ASan slows spawn and exit a little.
check-asan:
	@mkdir -p $(BUILD)/results
	@if ! $(MAKE) --no-print-directory BUILD=$(BUILD)/asan SANITIZE=1 lib selftests; then \
		echo "0 1 0" > $(BUILD)/results/selftests-asan.count; exit 1; fi
	ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1 \
	UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
	PIDSHIM_TEST_SLOW=2 $(call ST_RUN_ENV,$(BUILD)/asan/selftests) \
		sh selftests/run-suite.sh selftests-asan $(BUILD)/results

# Once, quick, and with every time bound ten times wider.  Valgrind errors
# in a test's own process make it exit 99, so the harness fails that test.
ST_VALGRIND_OPTS := -q --error-exitcode=99 --track-fds=yes --leak-check=full \
	--errors-for-leak-kinds=definite --show-leak-kinds=definite --trace-children=no
check-valgrind: selftests
	@mkdir -p $(BUILD)/results
	@vg=$$(ci/get-valgrind.sh) || { echo "0 1 0" > $(BUILD)/results/selftests-valgrind.count; exit 1; }; \
	echo "valgrind: $$vg"; \
	PIDSHIM_TEST_QUICK=1 PIDSHIM_TEST_SLOW=10 $(call ST_RUN_ENV,$(ST_DIR)) \
		sh selftests/run-suite.sh selftests-valgrind $(BUILD)/results \
		$$vg $(ST_VALGRIND_OPTS)

CHECK_TARGETS += check-selftests check-asan check-valgrind
