# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Kernel personalities (pidshim(7) PERSONALITIES): `make check-personalities`
# runs the complete C selftest suite under every seccomp personality
# (`pidshim emulate NAME -- ...`), asserts the backend each one must
# select, runs the personality-specific checks of selftests/personality/
# (direct syscall facts, SIGSYS survival, forced backends, EMFILE while
# probing), and prints one matrix table: personality -> backend selected,
# passed, failed, skipped.  Counts go to $(BUILD)/results/personality-NAME
# .count, the whole matrix as TAP to $(BUILD)/results/personalities.tap
# (printed too with `make check TAP=1`).  The personality engine itself is
# part of the CLI (shim/cli/personality.c, emulate.c) built by mk/cli.mk.
#
# Knobs: PERSONALITIES="4.19 5.3" runs a subset; PERSONALITY_QUICK=0|1
# forces PIDSHIM_TEST_QUICK for the non-native suites (default: see
# selftests/personality/check-matrix.sh); PERSONALITY_PIDSHIM names the
# pidshim binary to use.

PERS_SRC_DIR := selftests/personality
PERS_BIN_DIR := $(BUILD)/selftests/personality
PERS_NAMES := facts sigsys forced emfile
PERS_PROGS := $(addprefix $(PERS_BIN_DIR)/,$(PERS_NAMES) backend emulate-errors)
PERS_STATIC_DIR := $(BUILD)/static/selftests/personality
PERS_STATIC_PROGS := $(addprefix $(PERS_STATIC_DIR)/,$(PERS_NAMES) backend)
PERSONALITY_PIDSHIM ?= $(BUILD)/pidshim
PERSONALITIES ?=
PERSONALITY_QUICK ?=
TAP ?=

.PHONY: personality-tests personality-tests-static check-personalities

personality-tests: $(PERS_PROGS)

# Fully static copies and a LIST of the TAP tests (each prints the kselftest
# "# Totals:" line run-suite.sh reads; without arguments they take the
# personality from PIDSHIM_PERSONALITY, which `pidshim emulate` sets), for
# the qemu kernel matrix's busybox guests.
personality-tests-static: $(PERS_STATIC_PROGS) $(PERS_STATIC_DIR)/LIST

$(PERS_STATIC_PROGS): $(PERS_STATIC_DIR)/%: $(PERS_SRC_DIR)/%.c $(wildcard $(PERS_SRC_DIR)/*.h) \
		$(INCDIR)/pidshim.h $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(STATIC_PROG_CFLAGS) -o $@ $< $(LIB_A)

$(PERS_STATIC_DIR)/LIST: mk/personalities.mk
	@mkdir -p $(@D)
	printf '%s\n' $(PERS_NAMES) > $@

# Linked statically against the library so they run unchanged under
# emulate, in the kernel-matrix initramfs and from any directory.
$(PERS_PROGS): $(PERS_BIN_DIR)/%: $(PERS_SRC_DIR)/%.c $(wildcard $(PERS_SRC_DIR)/*.h) \
		$(INCDIR)/pidshim.h $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(PROG_CFLAGS) -o $@ $< $(LIB_A) $(LDFLAGS_COMMON)

# The suite binaries and their helper come from mk/selftests.mk.
check-personalities: personality-tests selftests $(PERSONALITY_PIDSHIM)
	@mkdir -p $(BUILD)/results
	@PIDSHIM=$(PERSONALITY_PIDSHIM) PERSONALITIES="$(PERSONALITIES)" \
		PIDSHIM_SELFTEST_DIR=$(abspath $(BUILD)/selftests) \
		PIDSHIM_TEST_HELPER=$(abspath $(BUILD)/selftests/helper) \
		PERSONALITY_QUICK="$(PERSONALITY_QUICK)" TAP="$(TAP)" \
		$(PERS_SRC_DIR)/check-matrix.sh $(PERS_BIN_DIR) $(BUILD)/results

ALL_TARGETS += personality-tests
CHECK_TARGETS += check-personalities
