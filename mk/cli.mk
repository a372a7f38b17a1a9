# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The `pidshim` command (shim/cli/*.c: probe, run, wait, the emulate
# personalities and the matrix) and its bats-core tests.
#   make cli            $(BUILD)/pidshim, linked against libpidshim.a
#   make cli-static     $(BUILD)/static/pidshim, fully static, for the
#                       busybox initramfs of `pidshim matrix`
#   make cli-libexec    $(BUILD)/libexec/pidshim: what `pidshim matrix`
#                       needs beside qemu and busybox (the guest's /init,
#                       the cell runner, the kernel fetcher, the static
#                       pidshim under its architecture's name), laid out as
#                       `make install` puts it in $(PKGLIBEXECDIR), so the
#                       build tree's pidshim finds it next to itself
#   make check-cli      selftests/cli/*.bats twice: with the backend the
#                       library picks (suite "cli") and with
#                       PIDSHIM_BACKEND=signalfd (suite "cli-signalfd"),
#                       then the qemu tests of `pidshim matrix` once (suite
#                       "cli-matrix", selftests/cli/matrix-qemu.bats);
#                       BATS_FILTER=regex runs a subset
# The binary links libpidshim statically so it runs from the build tree
# and under `pidshim emulate` without LD_LIBRARY_PATH; libseccomp is only
# needed by emulate (shim/cli/personality.c).

CLI_SRCS := $(sort $(wildcard shim/cli/*.c))
# The library's headers the CLI shares (kernel ABI, SIGSYS guard, backend
# table); never internal.h.
CLI_LIB_HDRS := shim/lib/kabi.h shim/lib/sigsys-guard.h shim/lib/backends.h
CLI_HDRS := $(wildcard shim/cli/*.h) $(CLI_LIB_HDRS) $(INCDIR)/pidshim.h
CLI_OBJS := $(patsubst shim/cli/%.c,$(BUILD)/obj/cli/%.o,$(CLI_SRCS))
CLI_STATIC_OBJS := $(patsubst shim/cli/%.c,$(BUILD)/obj/cli-static/%.o,$(CLI_SRCS))
CLI_BIN := $(BUILD)/pidshim
CLI_STATIC_BIN := $(BUILD)/static/pidshim
CLI_CFLAGS := $(PROG_CFLAGS) -Ishim/lib
CLI_LIBS := -lseccomp
BATS ?= bats
BATS_FILTER ?=
LIBEXECDIR ?= $(PREFIX)/libexec
PKGLIBEXECDIR ?= $(LIBEXECDIR)/pidshim
# The guest architecture the static CLI serves: the compiler's target,
# named as `uname -m` and `pidshim matrix --arch` name it.
MATRIX_ARCH := $(firstword $(subst -, ,$(shell $(CC) -dumpmachine)))
CLI_LIBEXEC := $(BUILD)/libexec/pidshim
CLI_LIBEXEC_SCRIPTS := guest-init.sh matrix-run.sh kernel-fetch.sh debian-mirror.sh
CLI_LIBEXEC_FILES := $(addprefix $(CLI_LIBEXEC)/,$(CLI_LIBEXEC_SCRIPTS)) \
	$(CLI_LIBEXEC)/$(MATRIX_ARCH)/pidshim

.PHONY: cli cli-static cli-libexec check-cli install-cli uninstall-cli

cli: $(CLI_BIN)

$(BUILD)/obj/cli $(BUILD)/obj/cli-static $(BUILD)/static:
	mkdir -p $@

$(BUILD)/obj/cli/%.o: shim/cli/%.c $(CLI_HDRS) | $(BUILD)/obj/cli
	$(CC) $(CLI_CFLAGS) -c -o $@ $<

# Where an installed pidshim looks last for its libexec files.
CLI_LIBEXEC_DEF := -DCLI_PKGLIBEXECDIR='"$(PKGLIBEXECDIR)"'
$(BUILD)/obj/cli/matrix.o $(BUILD)/obj/cli-static/matrix.o: CLI_CFLAGS += $(CLI_LIBEXEC_DEF)

$(CLI_BIN): $(CLI_OBJS) $(LIB_A)
	$(CC) -o $@ $(CLI_OBJS) $(LIB_A) $(CLI_LIBS) $(LDFLAGS_COMMON)

# Static: the packager's flags (blhc checks them here too) but no
# sanitizers: they do not link statically.
$(BUILD)/obj/cli-static/%.o: shim/cli/%.c $(CLI_HDRS) | $(BUILD)/obj/cli-static
	$(CC) $(CPPFLAGS) $(CFLAGS) -I$(INCDIR) -Ishim/lib \
		$(if $(filter %/matrix.o,$@),$(CLI_LIBEXEC_DEF)) -c -o $@ $<

cli-static: $(CLI_STATIC_BIN)

$(CLI_STATIC_BIN): $(CLI_STATIC_OBJS) $(LIB_A) | $(BUILD)/static
	$(CC) -static -o $@ $(CLI_STATIC_OBJS) $(LIB_A) $(CLI_LIBS) $(LDFLAGS)

cli-libexec: $(CLI_LIBEXEC_FILES)

$(CLI_LIBEXEC)/%.sh: ci/%.sh
	install -D -m 0755 $< $@

$(CLI_LIBEXEC)/$(MATRIX_ARCH)/pidshim: $(CLI_STATIC_BIN)
	install -D -m 0755 $< $@

# The suites that boot qemu guests run once, not once per backend.
CLI_BATS_QEMU := selftests/cli/matrix-qemu.bats
CLI_BATS := $(filter-out $(CLI_BATS_QEMU),$(sort $(wildcard selftests/cli/*.bats)))
# A test that hangs (a regression keeping a pipe open) fails instead.
BATS_TEST_TIMEOUT ?= 300

# bats prints TAP; the counts come from it: "ok" lines with "# skip" are
# skipped, the other "ok" lines passed, "not ok" failed.
# $(1) suite name, $(2) environment, $(3) the .bats files.
# Every signal's disposition is reset first: `nohup make check &` (or any
# background job of a shell without job control) ignores HUP, INT and
# QUIT, which the tests of signal forwarding and of inherited dispositions
# must not inherit.
define cli_bats_run
	@mkdir -p $(BUILD)/results
	@echo "--- bats $(1)$(if $(2), ($(2)))"
	@rc=0; env --default-signal $(2) PIDSHIM=$(abspath $(CLI_BIN)) PIDSHIM_BUILD=$(abspath $(BUILD)) \
		BATS_TEST_TIMEOUT=$(BATS_TEST_TIMEOUT) \
		$(BATS) --tap $(if $(BATS_FILTER),--filter '$(BATS_FILTER)') $(3) \
		> $(BUILD)/results/$(1).tap 2>&1 || rc=$$?; \
	cat $(BUILD)/results/$(1).tap; \
	p=$$(grep -E '^ok ' $(BUILD)/results/$(1).tap | grep -vci '# skip' || true); \
	s=$$(grep -E '^ok ' $(BUILD)/results/$(1).tap | grep -ci '# skip' || true); \
	f=$$(grep -cE '^not ok ' $(BUILD)/results/$(1).tap || true); \
	if [ "$$rc" != 0 ] && [ "$$f" = 0 ]; then f=1; fi; \
	echo "$$p $$f $$s" > $(BUILD)/results/$(1).count; \
	echo "$(1): $$p passed, $$f failed, $$s skipped"; \
	[ "$$f" = 0 ]
endef

check-cli: $(CLI_BIN) $(CLI_LIBEXEC_FILES)
	@rc=0; \
	$(MAKE) --no-print-directory check-cli-default || rc=1; \
	$(MAKE) --no-print-directory check-cli-signalfd || rc=1; \
	$(MAKE) --no-print-directory check-cli-matrix || rc=1; \
	exit $$rc

.PHONY: check-cli-default check-cli-signalfd check-cli-matrix
check-cli-default: $(CLI_BIN) $(CLI_LIBEXEC_FILES)
	$(call cli_bats_run,cli,,$(CLI_BATS))

check-cli-signalfd: $(CLI_BIN) $(CLI_LIBEXEC_FILES)
	$(call cli_bats_run,cli-signalfd,PIDSHIM_BACKEND=signalfd,$(CLI_BATS))

# Boots TCG guests (bullseye, sid, bookworm from the kernel cache): ~30 s.
check-cli-matrix: $(CLI_BIN) $(CLI_LIBEXEC_FILES)
	$(call cli_bats_run,cli-matrix,,$(CLI_BATS_QEMU))

install-cli: $(CLI_BIN) $(CLI_LIBEXEC_FILES)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(PKGLIBEXECDIR)/$(MATRIX_ARCH)
	install -m 0755 $(CLI_BIN) $(DESTDIR)$(BINDIR)/pidshim
	install -m 0755 $(addprefix $(CLI_LIBEXEC)/,$(CLI_LIBEXEC_SCRIPTS)) $(DESTDIR)$(PKGLIBEXECDIR)/
	install -m 0755 $(CLI_LIBEXEC)/$(MATRIX_ARCH)/pidshim $(DESTDIR)$(PKGLIBEXECDIR)/$(MATRIX_ARCH)/
	install -m 0644 man/man1/*.1 $(DESTDIR)$(MANDIR)/man1/

uninstall-cli:
	rm -f $(DESTDIR)$(BINDIR)/pidshim $(DESTDIR)$(PKGLIBEXECDIR)/$(MATRIX_ARCH)/pidshim
	for f in $(CLI_LIBEXEC_SCRIPTS); do rm -f $(DESTDIR)$(PKGLIBEXECDIR)/$$f; done
	-rmdir $(DESTDIR)$(PKGLIBEXECDIR)/$(MATRIX_ARCH) $(DESTDIR)$(PKGLIBEXECDIR)
	for f in man/man1/*.1; do rm -f $(DESTDIR)$(MANDIR)/man1/$$(basename $$f); done

ALL_TARGETS += cli cli-libexec
CHECK_TARGETS += check-cli
INSTALL_TARGETS += install-cli
UNINSTALL_TARGETS += uninstall-cli
