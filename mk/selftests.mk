# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The C selftests (selftests/*.c, kselftest harness): one binary per area
# of the promised behaviour (pidshim(7), the section 3 pages), each running every behaviour test once per backend.
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

SELFT_NAMES := probe open wait signal spawn set coexist robust heavy hostile trace threads
SELFT_DIR := $(BUILD)/selftests
SELFT_BINS := $(addprefix $(SELFT_DIR)/,$(SELFT_NAMES))
SELFT_HELPER := $(SELFT_DIR)/helper
SELFT_STATIC_DIR := $(BUILD)/static/selftests
SELFT_STATIC_BINS := $(addprefix $(SELFT_STATIC_DIR)/,$(SELFT_NAMES))
SELFT_HDRS := selftests/pstest.h selftests/psbpf.h $(INCDIR)/pidshim.h
SELFT_HARNESS_STAMP := $(BUILD)/selftests/.harness
# The harness defines non-static functions without prototypes and passes
# its format strings on through vprintf.
# The stamp fills the cache once (also for make -j); each compile asks the
# script again, which only prints the dir, or re-extracts a wiped cache.
SELFT_CFLAGS = $(CFLAGS_COMMON) -Wno-missing-prototypes -Wno-format-nonliteral -I$(INCDIR) -Iselftests \
	-I$$(ci/get-harness.sh)
# On 32-bit ABIs (i386, arm) the 6.1 harness's failure report casts every
# EXPECT_*() operand, pointers too, to uintmax_t (kselftest_harness.h
# 712-737), which -Wpointer-to-int-cast rejects; the harness is not ours to
# edit, so only there and only then is the warning off.
SELFT_CFLAGS += $(if $(filter 4,$(CC_POINTER_SIZE)),-Wno-pointer-to-int-cast)
# The helper is the spawned child: no sanitizer runtime, static for speed.
SELFT_HELPER_CFLAGS := -std=gnu11 $(OPT) $(WARN) -D_GNU_SOURCE
SELFT_RUN_ENV = PIDSHIM_SELFTEST_DIR=$(1) PIDSHIM_TEST_HELPER=$(1)/helper

.PHONY: selftests selftests-static check-selftests check-asan check-valgrind

selftests: $(SELFT_BINS) $(SELFT_HELPER) $(SELFT_DIR)/LIST

selftests-static: $(SELFT_STATIC_BINS) $(SELFT_STATIC_DIR)/helper $(SELFT_STATIC_DIR)/LIST \
	$(SELFT_STATIC_DIR)/run-suite.sh

$(SELFT_HARNESS_STAMP):
	@mkdir -p $(dir $@)
	ci/get-harness.sh > $@.tmp && mv $@.tmp $@

$(SELFT_BINS): $(SELFT_DIR)/%: selftests/%.c $(SELFT_HDRS) $(LIB_SO_DEV) $(SELFT_HARNESS_STAMP)
	$(CC) $(SELFT_CFLAGS) -o $@ $< -L$(BUILD) -lpidshim \
		-Wl,-rpath,$(abspath $(BUILD)) $(LDFLAGS_COMMON)

$(SELFT_HELPER) $(SELFT_STATIC_DIR)/helper: selftests/helper.c
	@mkdir -p $(dir $@)
	$(CC) $(SELFT_HELPER_CFLAGS) -static -o $@ $<

$(SELFT_STATIC_BINS): $(SELFT_STATIC_DIR)/%: selftests/%.c $(SELFT_HDRS) $(LIB_A) $(SELFT_HARNESS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(SELFT_CFLAGS) -static -o $@ $< $(LIB_A) $(LDFLAGS_COMMON)

$(SELFT_DIR)/LIST $(SELFT_STATIC_DIR)/LIST: mk/selftests.mk
	@mkdir -p $(dir $@)
	printf '%s\n' $(SELFT_NAMES) > $@

$(SELFT_STATIC_DIR)/run-suite.sh: selftests/run-suite.sh
	@mkdir -p $(dir $@)
	cp $< $@

# Each check target writes its counts even when the build fails (one failure).
SELFT_BUILD_OR_FAIL = @mkdir -p $(BUILD)/results; if ! $(MAKE) --no-print-directory $(1); then \
	echo "0 1 0" > $(BUILD)/results/$(2).count; exit 1; fi

check-selftests:
	$(call SELFT_BUILD_OR_FAIL,selftests,selftests)
	$(call SELFT_RUN_ENV,$(SELFT_DIR)) sh selftests/run-suite.sh selftests $(BUILD)/results

# The sanitizer build lives in its own tree so it never mixes objects with
# the plain one.  PIDSHIM_TEST_SLOW=2: ASan slows spawn and exit a little.
check-asan:
	$(call SELFT_BUILD_OR_FAIL,BUILD=$(BUILD)/asan SANITIZE=1 lib selftests,selftests-asan)
	ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1 \
	UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
	PIDSHIM_TEST_SLOW=2 $(call SELFT_RUN_ENV,$(BUILD)/asan/selftests) \
		sh selftests/run-suite.sh selftests-asan $(BUILD)/results

# Once, quick, and with every time bound ten times wider.  Valgrind errors
# in a test's own process make it exit 99, so the harness fails that test.
SELFT_VALGRIND_OPTS := -q --error-exitcode=99 --track-fds=yes --leak-check=full \
	--errors-for-leak-kinds=definite --show-leak-kinds=definite --trace-children=no
check-valgrind:
	$(call SELFT_BUILD_OR_FAIL,selftests,selftests-valgrind)
	@vg=$$(ci/get-valgrind.sh) || { echo "0 1 0" > $(BUILD)/results/selftests-valgrind.count; exit 1; }; \
	echo "valgrind: $$vg"; \
	PIDSHIM_TEST_QUICK=1 PIDSHIM_TEST_SLOW=10 $(call SELFT_RUN_ENV,$(SELFT_DIR)) \
		sh selftests/run-suite.sh selftests-valgrind $(BUILD)/results \
		$$vg $(SELFT_VALGRIND_OPTS)

CHECK_TARGETS += check-selftests check-asan check-valgrind

# ---- installed tests ---------------------------------------------------------
# `make install-tests` (not part of `make install`): the selftests for a
# distribution's QA against the installed library (Debian's pidshim-tests),
# in GNOME's installed-tests layout: the binaries linked to libpidshim.so.0
# with no rpath into the build tree, their helper beside them (dynamic, the
# packager's flags), LIST, run-suite.sh and the runner run-tests
# (selftests/run-installed-tests.sh), plus one .test file per binary.
TESTSDIR ?= $(PREFIX)/libexec/installed-tests/pidshim
TESTSMETADIR ?= $(PREFIX)/share/installed-tests/pidshim
IT_DIR := $(BUILD)/installed-tests
IT_BINS := $(addprefix $(IT_DIR)/,$(SELFT_NAMES))

.PHONY: installed-tests install-tests uninstall-tests

installed-tests: $(IT_BINS) $(IT_DIR)/helper $(IT_DIR)/LIST

$(IT_BINS): $(IT_DIR)/%: selftests/%.c $(SELFT_HDRS) $(LIB_SO_DEV) $(SELFT_HARNESS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(SELFT_CFLAGS) -o $@ $< -L$(BUILD) -lpidshim $(LDFLAGS_COMMON)

$(IT_DIR)/helper: selftests/helper.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) -o $@ $< $(LDFLAGS_COMMON)

$(IT_DIR)/LIST: mk/selftests.mk
	@mkdir -p $(@D)
	printf '%s\n' $(SELFT_NAMES) > $@

install-tests: installed-tests
	install -d $(DESTDIR)$(TESTSDIR) $(DESTDIR)$(TESTSMETADIR)
	install -m 0755 $(IT_BINS) $(IT_DIR)/helper selftests/run-suite.sh $(DESTDIR)$(TESTSDIR)/
	install -m 0755 selftests/run-installed-tests.sh $(DESTDIR)$(TESTSDIR)/run-tests
	install -m 0644 $(IT_DIR)/LIST $(DESTDIR)$(TESTSDIR)/
	for n in $(SELFT_NAMES); do \
		printf '[Test]\nType=session\nExec=%s/%s\nOutput=TAP\n' $(TESTSDIR) $$n \
			> $(DESTDIR)$(TESTSMETADIR)/$$n.test; \
	done

uninstall-tests:
	rm -rf $(DESTDIR)$(TESTSDIR) $(DESTDIR)$(TESTSMETADIR)
