# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The `pidshim` command (shim/cli/*.c: probe, run, wait, and the emulate
# personalities) and its bats-core tests.
#   make cli            $(BUILD)/pidshim, linked against libpidshim.a
#   make cli-static     $(BUILD)/static/pidshim, fully static, for the qemu
#                       kernel matrix's busybox initramfs
#   make check-cli      selftests/cli/*.bats twice: with the backend the
#                       library picks (suite "cli") and with
#                       PIDSHIM_BACKEND=signalfd (suite "cli-signalfd");
#                       BATS_FILTER=regex runs a subset
# The binary links libpidshim statically so it runs from the build tree
# and under `pidshim emulate` without LD_LIBRARY_PATH; libseccomp is only
# needed by emulate (shim/cli/personality.c).

CLI_SRCS := $(sort $(wildcard shim/cli/*.c))
CLI_HDRS := $(wildcard shim/cli/*.h) $(INCDIR)/pidshim.h
CLI_OBJS := $(patsubst shim/cli/%.c,$(BUILD)/obj/cli/%.o,$(CLI_SRCS))
CLI_STATIC_OBJS := $(patsubst shim/cli/%.c,$(BUILD)/obj/cli-static/%.o,$(CLI_SRCS))
CLI_BIN := $(BUILD)/pidshim
CLI_STATIC_BIN := $(BUILD)/static/pidshim
CLI_CFLAGS := $(CFLAGS_COMMON) -I$(INCDIR)
CLI_LIBS := -lseccomp
BATS ?= bats
BATS_FILTER ?=

.PHONY: cli cli-static check-cli install-cli uninstall-cli

cli: $(CLI_BIN)

$(BUILD)/obj/cli $(BUILD)/obj/cli-static $(BUILD)/static:
	mkdir -p $@

$(BUILD)/obj/cli/%.o: shim/cli/%.c $(CLI_HDRS) | $(BUILD)/obj/cli
	$(CC) $(CLI_CFLAGS) -c -o $@ $<

$(CLI_BIN): $(CLI_OBJS) $(LIB_A)
	$(CC) -o $@ $(CLI_OBJS) $(LIB_A) $(CLI_LIBS) $(LDFLAGS_COMMON)

# Static: no sanitizers (they do not link statically) and no -fPIC needs.
$(BUILD)/obj/cli-static/%.o: shim/cli/%.c $(CLI_HDRS) | $(BUILD)/obj/cli-static
	$(CC) -std=gnu11 -O2 $(WARN) -D_GNU_SOURCE -pthread -I$(INCDIR) -c -o $@ $<

cli-static: $(CLI_STATIC_BIN)

$(CLI_STATIC_BIN): $(CLI_STATIC_OBJS) $(LIB_A) | $(BUILD)/static
	$(CC) -static -pthread -o $@ $(CLI_STATIC_OBJS) $(LIB_A) $(CLI_LIBS)

# bats prints TAP; the counts come from it: "ok" lines with "# skip" are
# skipped, the other "ok" lines passed, "not ok" failed.
define cli_bats_run
	@mkdir -p $(BUILD)/results
	@echo "--- bats $(1)$(if $(2), ($(2)))"
	@rc=0; env $(2) PIDSHIM=$(abspath $(CLI_BIN)) PIDSHIM_BUILD=$(abspath $(BUILD)) \
		$(BATS) --tap $(if $(BATS_FILTER),--filter '$(BATS_FILTER)') selftests/cli \
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

check-cli: $(CLI_BIN)
	@rc=0; \
	$(MAKE) --no-print-directory check-cli-default || rc=1; \
	$(MAKE) --no-print-directory check-cli-signalfd || rc=1; \
	exit $$rc

.PHONY: check-cli-default check-cli-signalfd
check-cli-default: $(CLI_BIN)
	$(call cli_bats_run,cli,)

check-cli-signalfd: $(CLI_BIN)
	$(call cli_bats_run,cli-signalfd,PIDSHIM_BACKEND=signalfd)

install-cli: $(CLI_BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(CLI_BIN) $(DESTDIR)$(BINDIR)/pidshim
	install -m 0644 man/man1/*.1 $(DESTDIR)$(MANDIR)/man1/

uninstall-cli:
	rm -f $(DESTDIR)$(BINDIR)/pidshim
	for f in man/man1/*.1; do rm -f $(DESTDIR)$(MANDIR)/man1/$$(basename $$f); done

ALL_TARGETS += cli
CHECK_TARGETS += check-cli
INSTALL_TARGETS += install-cli
UNINSTALL_TARGETS += uninstall-cli
