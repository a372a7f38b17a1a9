# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Top-level build of pidshim.  The library and its install rules live here;
# each other area (CLI, selftests, personalities, kernel matrix, benchmarks,
# examples, stress) has its own fragment in mk/*.mk, included below.
#
# Test protocol: every check target writes $(BUILD)/results/<suite>.count
# holding one line "PASSED FAILED SKIPPED"; `make check` runs every target
# listed in CHECK_TARGETS and ci/summary.sh adds the counts up into the
# closing "N passed, N failed, N skipped" line.

BUILD ?= build
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=

CC ?= cc
AR ?= ar
# `make CC=clang` must work with -Werror too.  WERROR= drops -Werror alone
# (debian/rules does: a later compiler's new warning must not stop a
# distribution's build; upstream CI keeps it).
WERROR ?= -Werror
WARN := -Wall -Wextra $(WERROR) -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	-Wpointer-arith -Wformat=2 -Wno-unused-parameter
OPT ?= -O2 -g
SANITIZE ?=
ifeq ($(SANITIZE),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
ifeq ($(SANITIZE),thread)
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
endif
# A packager's flags (dpkg-buildflags' hardening, rpm's optflags) come in
# as CFLAGS, CPPFLAGS and LDFLAGS, from the environment or the command
# line; OPT is only the default optimisation.  What the code needs to build
# at all is appended after them with `override`, so `make CFLAGS=-O0`
# cannot drop it.  They are not exported: the recursive builds of mk/*.mk
# (asan, tsan, fuzz: SANITIZE, EXTRA_CFLAGS, EXTRA_LDFLAGS) would append
# twice, and cmake or meson in the consumer checks would read our warnings
# as their CFLAGS.
CFLAGS ?= $(OPT)
CPPFLAGS ?=
LDFLAGS ?=
override CFLAGS += -std=gnu11 -pthread $(WARN)
override CPPFLAGS += -D_GNU_SOURCE
override LDFLAGS += -pthread
unexport CFLAGS CPPFLAGS LDFLAGS
CFLAGS_COMMON = $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) $(EXTRA_CFLAGS)
LDFLAGS_COMMON = $(LDFLAGS) $(SANFLAGS) $(EXTRA_LDFLAGS)
# Header dependencies: an object rule that adds $(DEPFLAGS) leaves a .d
# file beside its object, read back at the end (-MP: a deleted header is
# no error).
DEPFLAGS = -MMD -MP

VERSION := 0.2.0
SOVERSION := 0
INCDIR := shim/include

LIB_SRCS := $(sort $(wildcard shim/lib/*.c))
LIB_OBJS := $(patsubst shim/lib/%.c,$(BUILD)/obj/lib/%.o,$(LIB_SRCS))
LIB_MAP := shim/lib/pidshim.map
LIB_SO_REAL := $(BUILD)/libpidshim.so.$(VERSION)
LIB_SO := $(BUILD)/libpidshim.so.$(SOVERSION)
LIB_SO_DEV := $(BUILD)/libpidshim.so
LIB_A := $(BUILD)/libpidshim.a
LIB_PC := $(BUILD)/pidshim.pc
LIB_CFLAGS := $(CFLAGS_COMMON) -Wunused-parameter -fPIC -fvisibility=hidden -DPIDSHIM_BUILDING -I$(INCDIR) -Ishim/lib
# A program built against the library (the CLI, tests, examples).
PROG_CFLAGS = $(CFLAGS_COMMON) -I$(INCDIR)
# A fully static test program: it runs under `pidshim emulate`, in the
# kernel-matrix guests and setuid, so neither sanitizers nor LD_LIBRARY_PATH.
STATIC_PROG_CFLAGS = -std=gnu11 -O2 $(WARN) -D_GNU_SOURCE -pthread -I$(INCDIR) -static

# Fragments append to these.
ALL_TARGETS := lib
CHECK_TARGETS :=
INSTALL_TARGETS := install-lib
UNINSTALL_TARGETS := uninstall-lib

.PHONY: all lib check check-run install uninstall clean check-symbols check-style \
	install-lib uninstall-lib check-consumer check-deps
.DEFAULT_GOAL := all

lib: $(LIB_SO_REAL) $(LIB_SO) $(LIB_SO_DEV) $(LIB_A) $(LIB_PC)

$(BUILD)/obj/lib/%.o: shim/lib/%.c | $(BUILD)/obj/lib
	$(CC) $(LIB_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/obj/lib:
	mkdir -p $@

$(LIB_SO_REAL): $(LIB_OBJS) $(LIB_MAP)
	$(CC) -shared -Wl,-soname,libpidshim.so.$(SOVERSION) -Wl,--version-script=$(LIB_MAP) \
		-Wl,-z,defs -Wl,-z,now -Wl,-z,relro -Wl,-z,nodelete -o $@ $(LIB_OBJS) $(LDFLAGS_COMMON)

$(LIB_SO): $(LIB_SO_REAL)
	ln -sf $(notdir $<) $@

$(LIB_SO_DEV): $(LIB_SO)
	ln -sf $(notdir $<) $@

# The toolchain.  A cross build needs only CC (aarch64-linux-gnu-gcc,
# "gcc -m32", musl-gcc): ar and objcopy default to the ones that compiler
# runs itself, and the relocatable link of the static archive goes through
# the compiler driver, which picks the target's ld and emulation.  AR,
# OBJCOPY and LD given on the command line or in the environment are used
# as they are.
CC_TOOL = $(shell $(CC) -print-prog-name=$(1) 2>/dev/null || echo $(1))
ifeq ($(origin AR),default)
AR = $(call CC_TOOL,ar)
endif
OBJCOPY ?= $(call CC_TOOL,objcopy)
# sizeof(void *) on the target, for warnings that only 32-bit ABIs raise.
CC_POINTER_SIZE = $(shell $(CC) -dM -E -x c /dev/null 2>/dev/null | sed -n 's/^\#define __SIZEOF_POINTER__ //p')

# One relocatable object whose hidden names are made local: a program
# linking the archive sees pidshim_* and nothing else of ours.  Except the
# i386 PIC helpers __x86.get_pc_thunk.*: every object carries its own copy
# in a COMDAT group and the final link keeps only one, the program's, so ours
# must stay global (and hidden) for our calls to reach the copy kept.
LIB_A_COMDAT_SYMS := $(addprefix __x86.get_pc_thunk.,ax bx cx dx si di bp)
# The compiler flags reach the driver for the target ones (-m32, --target);
# without -pthread (clang: unused with -nostdlib) and the sanitizers (clang
# would pull their runtime into the object).
ifeq ($(origin LD),default)
# The packager's LDFLAGS too: blhc reads every link line (ld ignores -z
# options in a relocatable link).
LIB_LD_R = $(CC) $(filter-out -pthread -fsanitize=%,$(LIB_CFLAGS) $(LDFLAGS)) -nostdlib -r
else
LIB_LD_R = $(LD) -r
endif
$(LIB_A): $(LIB_OBJS)
	rm -f $@ $(BUILD)/obj/pidshim-all.o
	$(LIB_LD_R) -o $(BUILD)/obj/pidshim-all.o $^
	$(OBJCOPY) --localize-hidden $(BUILD)/obj/pidshim-all.o
	$(OBJCOPY) $(addprefix --globalize-symbol=,$(LIB_A_COMDAT_SYMS)) $(BUILD)/obj/pidshim-all.o
	$(AR) rcs $@ $(BUILD)/obj/pidshim-all.o

PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g'

$(LIB_PC): shim/pidshim.pc.in Makefile | $(BUILD)/obj/lib
	$(PC_SED) $< > $@

# The exported dynamic symbols must be exactly the ones the map lists.
check-symbols: $(LIB_SO_REAL)
	ci/check-symbols.sh $(LIB_SO_REAL) $(LIB_MAP) $(BUILD)/results

# Every C file of shim/ and selftests/ must be laid out as .clang-format
# (kernel style) says: prints the diff clang-format would apply and fails
# on any.  One test per file in $(BUILD)/results/style.count.  Fix with
# `clang-format -i FILE`.
STYLE_FILES = $(sort $(wildcard shim/*/*.[ch] selftests/*.[ch] selftests/*/*.[ch]))
check-style:
	@mkdir -p $(BUILD)/results
	@if ! command -v clang-format >/dev/null; then \
		echo "check-style: clang-format is not installed (ci/deps/style.list)"; \
		echo "0 1 0" > $(BUILD)/results/style.count; exit 1; \
	fi; \
	p=0; f=0; for file in $(STYLE_FILES); do \
		if clang-format --style=file "$$file" | diff -u "$$file" -; then \
			p=$$((p + 1)); else f=$$((f + 1)); fi; \
	done; \
	echo "$$p $$f 0" > $(BUILD)/results/style.count; \
	echo "style: $$p passed, $$f failed"; \
	[ "$$f" = 0 ]

# A consumer built against an installed copy, through pkg-config, as C and C++.
check-consumer: lib
	ci/check-consumer.sh $(BUILD)

CHECK_TARGETS += check-symbols check-consumer check-style

-include mk/*.mk
-include $(wildcard $(BUILD)/obj/*/*.d)

all: $(ALL_TARGETS)

# `make check` installs what the tests need when run as root (ci/deps.sh),
# then runs every suite, then prints one summary line.
check-deps:
	@ci/deps.sh check

check: check-deps
	@$(MAKE) --no-print-directory all
	@rm -rf $(BUILD)/results && mkdir -p $(BUILD)/results
	@for t in $(CHECK_TARGETS); do \
		echo "=== $$t"; \
		MAKE="$(MAKE)" ci/run-target.sh $(BUILD)/results $$t BUILD=$(BUILD); \
	done; true
	@ci/summary.sh $(BUILD)/results

install: $(INSTALL_TARGETS)
uninstall: $(UNINSTALL_TARGETS)

install-lib: lib
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man7
	install -m 0755 $(LIB_SO_REAL) $(DESTDIR)$(LIBDIR)/
	ln -sf libpidshim.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libpidshim.so.$(SOVERSION)
	ln -sf libpidshim.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libpidshim.so
	install -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	$(PC_SED) shim/pidshim.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/pidshim.pc
	install -m 0644 $(INCDIR)/pidshim.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 0644 man/man3/*.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 0644 man/man7/*.7 $(DESTDIR)$(MANDIR)/man7/

uninstall-lib:
	rm -f $(DESTDIR)$(LIBDIR)/libpidshim.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libpidshim.so.$(SOVERSION) \
		$(DESTDIR)$(LIBDIR)/libpidshim.so $(DESTDIR)$(LIBDIR)/libpidshim.a \
		$(DESTDIR)$(LIBDIR)/pkgconfig/pidshim.pc $(DESTDIR)$(INCLUDEDIR)/pidshim.h
	for f in man/man3/*.3; do rm -f $(DESTDIR)$(MANDIR)/man3/$$(basename $$f); done
	for f in man/man7/*.7; do rm -f $(DESTDIR)$(MANDIR)/man7/$$(basename $$f); done

clean:
	rm -rf $(BUILD)
