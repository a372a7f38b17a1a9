# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Event-loop examples (examples/*.c): one program per loop, each spawning
# 100 children with mixed fates and checking every status it collects
# through its loop.  `make examples` builds them; `make check-examples`
# runs each under every backend (PIDSHIM_BACKEND) and under the 4.19 and
# 5.3 kernel personalities (`pidshim emulate`), writing suite "examples".
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
	$(CC) $(CFLAGS_COMMON) -I$(INCDIR) $(EX_CFLAGS_$*) -o $@ $< $(LIB_A) \
		$(EX_LIBS_$*) $(LDFLAGS_COMMON)

check-examples: $(EX_BINS)
	examples/run-examples.sh $(BUILD) $(EX_BINS)

CHECK_TARGETS += check-examples
