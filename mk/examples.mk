# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Event-loop examples (examples/*.c): one program per loop, each spawning
# 100 children with mixed fates and checking every status it collects
# through its loop.  `make examples` builds them; `make check-examples`
# runs each under every backend (PIDSHIM_BACKEND) and under the 4.19, 5.3
# and android-sigsys kernel personalities (`pidshim emulate`), writing
# suite "examples".
# Not in ALL_TARGETS: the loops' -dev packages are check dependencies
# (ci/deps/examples.list), and a plain `make` must not need them.

EX_BUILD := $(BUILD)/examples
EX_NAMES := api-tour epoll poll set-poll libuv glib libevent libev sd-event
EX_BINS := $(addprefix $(EX_BUILD)/,$(EX_NAMES))

# Flags per loop library, looked up only when that example is built.
EX_CFLAGS_libuv = $(shell pkg-config --cflags libuv)
EX_LIBS_libuv = $(shell pkg-config --libs libuv)
EX_CFLAGS_glib = $(shell pkg-config --cflags glib-2.0)
EX_LIBS_glib = $(shell pkg-config --libs glib-2.0)
EX_CFLAGS_libevent = $(shell pkg-config --cflags libevent)
EX_LIBS_libevent = $(shell pkg-config --libs libevent)
# Debian's libev-dev ships no pkg-config file.
EX_LIBS_libev = -lev
EX_CFLAGS_sd-event = $(shell pkg-config --cflags libsystemd)
EX_LIBS_sd-event = $(shell pkg-config --libs libsystemd)

.PHONY: examples check-examples

examples: $(EX_BINS)

$(EX_BUILD):
	mkdir -p $@

# Linked statically against libpidshim.a so they run from the build tree
# (and under `pidshim emulate`) without LD_LIBRARY_PATH.
$(EX_BUILD)/%: examples/%.c examples/children.h $(INCDIR)/pidshim.h $(LIB_A) | $(EX_BUILD)
	$(CC) $(PROG_CFLAGS) $(EX_CFLAGS_$*) -o $@ $< $(LIB_A) \
		$(EX_LIBS_$*) $(LDFLAGS_COMMON)

check-examples: $(EX_BINS) $(CLI_BIN)
	examples/run-examples.sh $(BUILD) $(EX_BINS)

CHECK_TARGETS += check-examples

# ---- drop-in amalgamation -------------------------------------------------
# $(BUILD)/amalgamation/pidshim.c + pidshim.h, generated, never committed.
AMALG_DIR := $(BUILD)/amalgamation

.PHONY: amalgamation check-amalgamation

amalgamation: $(AMALG_DIR)/pidshim.c

$(AMALG_DIR)/pidshim.c: ci/amalgamate.sh $(LIB_SRCS) $(wildcard shim/lib/*.h) $(INCDIR)/pidshim.h
	CC="$(CC)" ci/amalgamate.sh $(AMALG_DIR)

# The CLI (for `pidshim emulate`) when its fragment defines it.
check-amalgamation: amalgamation $(CLI_BIN)
	ci/check-amalgamation.sh $(BUILD)

# ---- CMake package ----------------------------------------------------------
# Installed as $(LIBDIR)/cmake/pidshim/pidshimConfig{,Version}.cmake, with
# paths relative to that directory so a DESTDIR tree works as it is.
CMAKE_PKGDIR = $(LIBDIR)/cmake/pidshim
CMAKE_SED = sed -e "s|@REL_LIBDIR@|$$(realpath -m --relative-to=$(CMAKE_PKGDIR) $(LIBDIR))|g" \
	-e "s|@REL_INCLUDEDIR@|$$(realpath -m --relative-to=$(CMAKE_PKGDIR) $(INCLUDEDIR))|g" \
	-e 's|@VERSION@|$(VERSION)|g' -e 's|@SOVERSION@|$(SOVERSION)|g' \
	-e 's|@VERSION_MAJOR@|$(word 1,$(subst ., ,$(VERSION)))|g' \
	-e 's|@VERSION_MINOR@|$(word 2,$(subst ., ,$(VERSION)))|g' \
	-e "s|@SIZEOF_VOID_P@|$$($(CC) -dM -E - </dev/null | sed -n 's/^\#define __SIZEOF_POINTER__ //p')|g"

.PHONY: install-cmake uninstall-cmake check-cmake check-meson

install-cmake: lib
	install -d $(DESTDIR)$(CMAKE_PKGDIR)
	$(CMAKE_SED) cmake/pidshimConfig.cmake.in > $(DESTDIR)$(CMAKE_PKGDIR)/pidshimConfig.cmake
	$(CMAKE_SED) cmake/pidshimConfigVersion.cmake.in > $(DESTDIR)$(CMAKE_PKGDIR)/pidshimConfigVersion.cmake
	chmod 0644 $(DESTDIR)$(CMAKE_PKGDIR)/pidshimConfig.cmake $(DESTDIR)$(CMAKE_PKGDIR)/pidshimConfigVersion.cmake

uninstall-cmake:
	rm -f $(DESTDIR)$(CMAKE_PKGDIR)/pidshimConfig.cmake $(DESTDIR)$(CMAKE_PKGDIR)/pidshimConfigVersion.cmake
	-rmdir $(DESTDIR)$(CMAKE_PKGDIR) $(DESTDIR)$(LIBDIR)/cmake 2>/dev/null

INSTALL_TARGETS += install-cmake
UNINSTALL_TARGETS += uninstall-cmake

# A CMake and a meson project built against `make install DESTDIR=...`.
check-cmake: lib
	ci/check-cmake.sh $(BUILD)

check-meson: lib
	ci/check-meson.sh $(BUILD)

# ---- man pages --------------------------------------------------------------
.PHONY: check-man

check-man:
	ci/check-man.sh $(BUILD)

CHECK_TARGETS += check-amalgamation check-cmake check-meson check-man
