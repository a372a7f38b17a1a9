#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds a downstream meson project (examples/consumer-meson:
# dependency('pidshim') through pkg-config) against `make install-lib
# DESTDIR=<scratch> PREFIX=/usr`, with PKG_CONFIG_PATH and
# PKG_CONFIG_SYSROOT_DIR pointing into the staging tree as a distro or
# cross build would, runs the program, and checks that a version pidshim
# cannot satisfy is refused.
# Writes $BUILD/results/meson.count; exits 1 if anything failed.
#   usage: ci/check-meson.sh BUILD
set -u
build=${1:?usage: ci/check-meson.sh BUILD}
. "$(dirname "$0")/tap.sh"
tap_init meson "$build"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root
log=$tmp/log

for t in meson ninja pkg-config; do
	if ! command -v $t >/dev/null; then
		no "$t is installed (ci/deps.sh check installs it from ci/deps/examples.list)"
		finish
	fi
done

if ${MAKE:-make} --no-print-directory -s install-lib BUILD="$build" DESTDIR="$dest" PREFIX=/usr > "$log" 2>&1; then
	ok "make install-lib DESTDIR=... PREFIX=/usr"
else
	no "make install-lib DESTDIR=... PREFIX=/usr"
	show "$log"
	finish
fi
pc=$(find "$dest/usr" -name pidshim.pc | head -1)
if [ -z "$pc" ]; then
	no "pidshim.pc installed"
	finish
fi
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")
# The .pc file names /usr paths; the sysroot maps them into the DESTDIR.
# /usr/include is a "system" directory pkg-config would drop (the real
# /usr/include has no pidshim.h), so keep it.
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$dest" PKG_CONFIG_LIBDIR="$pcdir"
export PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1

src=$tmp/src
mkdir -p "$src"
cp examples/consumer-meson/meson.build examples/api-tour.c "$src/"
if meson setup "$tmp/bld" "$src" > "$log" 2>&1 && grep -q 'Run-time dependency pidshim found: YES' "$log"; then
	ok "meson setup: dependency('pidshim', version: '>=0.1') found ($(sed -n 's/.*dependency pidshim found: YES //p' "$log"))"
else
	no "meson setup: dependency('pidshim', version: '>=0.1') found"
	show "$log"
	finish
fi
if meson compile -C "$tmp/bld" > "$log" 2>&1; then
	ok "meson compile"
else
	no "meson compile"
	show "$log"
	finish
fi
so=$(LD_LIBRARY_PATH="$libdir" ldd "$tmp/bld/api-tour" | awk '/libpidshim/ { print $3 }')
case $so in
"$dest"/*) ok "api-tour links libpidshim.so.0 from the DESTDIR ($so)" ;;
*) no "api-tour links libpidshim.so.0 from the DESTDIR (got '$so')" ;;
esac
for b in "" signalfd; do
	what="run api-tour${b:+ with PIDSHIM_BACKEND=$b}"
	if env ${b:+PIDSHIM_BACKEND=$b} LD_LIBRARY_PATH="$libdir" timeout 120 "$tmp/bld/api-tour" > "$log" 2>&1; then
		ok "$what"
	else
		no "$what"
		grep -v '^ok' "$log" | tail -10 | sed 's/^/    /'
	fi
done

# A version the installed copy cannot satisfy must stop the configure.
neg=$tmp/neg
mkdir -p "$neg"
printf "project('v', 'c')\ndependency('pidshim', version: '>=99')\n" > "$neg/meson.build"
if meson setup "$tmp/negbld" "$neg" > "$log" 2>&1; then
	no "dependency('pidshim', version: '>=99') refused"
else
	ok "dependency('pidshim', version: '>=99') refused"
fi
finish
