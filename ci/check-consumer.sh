#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs pidshim into a scratch DESTDIR and builds ci/consumer/consumer.c
# against that copy through pkg-config, as C (shared and static) and as C++,
# then runs each.  A prefix outside /usr keeps pkg-config from dropping
# the -I of a "system" directory.  Proves the installed header, .pc file and library work
# for a downstream project, not just the build tree.
set -u
build=${1:-build}
results=$build/results
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
no() { echo "not ok - $1"; fail=$((fail + 1)); }

make --no-print-directory -s install-lib BUILD="$build" DESTDIR="$dest" PREFIX=/opt/pidshim >/dev/null || {
	no "make install-lib"; mkdir -p "$results"; echo "$pass $fail 0" > "$results/consumer.count"; exit 1; }
export PKG_CONFIG_PATH="$dest/opt/pidshim/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest"
cflags=$(pkg-config --cflags pidshim) && libs=$(pkg-config --libs pidshim) || { no "pkg-config pidshim"; }
src=ci/consumer/consumer.c
# shellcheck disable=SC2086
if cc -std=c99 -Wall -Wextra -Werror -pedantic $cflags -o "$dest/c" $src $libs &&
	LD_LIBRARY_PATH="$dest/opt/pidshim/lib" "$dest/c"; then ok "C99 consumer, shared"; else no "C99 consumer, shared"; fi
# shellcheck disable=SC2086
if c++ -Wall -Wextra -Werror -x c++ $cflags -o "$dest/cxx" $src $libs &&
	LD_LIBRARY_PATH="$dest/opt/pidshim/lib" "$dest/cxx"; then ok "C++ consumer, shared"; else no "C++ consumer, shared"; fi
# shellcheck disable=SC2086
if cc -std=c99 $cflags -o "$dest/cs" $src "$dest/opt/pidshim/lib/libpidshim.a" $(pkg-config --libs --static pidshim | sed 's/-lpidshim//') &&
	"$dest/cs"; then ok "C99 consumer, static"; else no "C99 consumer, static"; fi
if [ -f "$dest/opt/pidshim/share/man/man3/pidshim_open.3" ]; then ok "man pages installed"; else no "man pages installed"; fi
make --no-print-directory -s uninstall-lib BUILD="$build" DESTDIR="$dest" PREFIX=/opt/pidshim >/dev/null
left=$(find "$dest/opt" -type f | wc -l)
if [ "$left" -eq 0 ]; then ok "uninstall removes every file"; else no "uninstall left $left files"; fi
mkdir -p "$results"
echo "$pass $fail 0" > "$results/consumer.count"
[ "$fail" -eq 0 ]
