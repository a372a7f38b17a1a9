#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds a downstream CMake project (examples/consumer-cmake: find_package
# and the imported targets pidshim::pidshim / pidshim::pidshim_static)
# against `make install-lib install-cmake DESTDIR=<scratch> PREFIX=/usr`
# (the library's and the package's own install steps, so another area's
# install rule can neither hide nor cause a result here), the way a distro
# package build stages it; runs what it built, checks that the version
# file accepts 0.1 and refuses 0.2 and 1.0, and that uninstall removes
# the package files again.
# Writes $BUILD/results/cmake.count; exits 1 if anything failed.
#   usage: ci/check-cmake.sh BUILD
set -u
build=${1:?usage: ci/check-cmake.sh BUILD}
. "$(dirname "$0")/tap.sh"
tap_init cmake "$build"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root
usr=$dest/usr
log=$tmp/log

if ! command -v cmake >/dev/null; then
	no "cmake is installed (ci/deps.sh check installs it from ci/deps/examples.list)"
	finish
fi

if ${MAKE:-make} --no-print-directory -s install-lib install-cmake BUILD="$build" DESTDIR="$dest" PREFIX=/usr > "$log" 2>&1; then
	ok "make install-lib install-cmake DESTDIR=... PREFIX=/usr"
else
	no "make install-lib install-cmake DESTDIR=... PREFIX=/usr"
	show "$log"
	finish
fi
cfg=$(find "$usr/lib" -path '*/cmake/pidshim/pidshimConfig.cmake' | head -1)
if [ -n "$cfg" ] && [ -f "$(dirname "$cfg")/pidshimConfigVersion.cmake" ]; then
	ok "pidshimConfig.cmake and pidshimConfigVersion.cmake installed in ${cfg#"$dest"}"
else
	no "pidshimConfig.cmake and pidshimConfigVersion.cmake installed under lib/cmake/pidshim"
	finish
fi
libdir=$(dirname "$(dirname "$(dirname "$cfg")")")

# The user's project: the consumer and the program it builds.
src=$tmp/src
mkdir -p "$src"
cp examples/consumer-cmake/CMakeLists.txt examples/api-tour.c "$src/"
if cmake -S "$src" -B "$tmp/bld" -DCMAKE_PREFIX_PATH="$usr" > "$log" 2>&1; then
	ok "cmake configure: find_package(pidshim 0.2 REQUIRED)"
else
	no "cmake configure: find_package(pidshim 0.2 REQUIRED)"
	show "$log"
	finish
fi
if cmake --build "$tmp/bld" > "$log" 2>&1; then
	ok "cmake --build (pidshim::pidshim and pidshim::pidshim_static)"
else
	no "cmake --build (pidshim::pidshim and pidshim::pidshim_static)"
	show "$log"
	finish
fi

# The shared build must use the staged copy, not some other libpidshim.
so=$(LD_LIBRARY_PATH="$libdir" ldd "$tmp/bld/api-tour" | awk '/libpidshim/ { print $3 }')
case $so in
"$dest"/*) ok "api-tour links libpidshim.so.0 from the DESTDIR ($so)" ;;
*) no "api-tour links libpidshim.so.0 from the DESTDIR (got '$so')" ;;
esac
if nm "$tmp/bld/api-tour-static" 2>/dev/null | grep -q ' T pidshim_wait$' &&
	! ldd "$tmp/bld/api-tour-static" | grep -q libpidshim; then
	ok "api-tour-static has pidshim linked in statically"
else
	no "api-tour-static has pidshim linked in statically"
fi

for b in "" signalfd; do
	for p in api-tour api-tour-static; do
		what="run $p${b:+ with PIDSHIM_BACKEND=$b}"
		if env ${b:+PIDSHIM_BACKEND=$b} LD_LIBRARY_PATH="$libdir" timeout 120 "$tmp/bld/$p" > "$log" 2>&1; then
			ok "$what"
		else
			no "$what"
			grep -v '^ok' "$log" | tail -10 | sed 's/^/    /'
		fi
	done
done

# The version file: this major.minor fits; a newer minor while at 0.x, or
# 1.0, does not.
ver=$(sed -n 's/^VERSION := //p' Makefile)
mm=${ver%.*}
next=${mm%.*}.$(( ${mm#*.} + 1 ))
for v in "$mm:yes" "$ver:yes" "$next:no" 1.0:no; do
	want=${v#*:} v=${v%:*}
	vs=$tmp/v$v
	mkdir -p "$vs"
	printf 'cmake_minimum_required(VERSION 3.13)\nproject(v C)\nfind_package(pidshim %s REQUIRED)\n' "$v" > "$vs/CMakeLists.txt"
	if cmake -S "$vs" -B "$vs/b" -DCMAKE_PREFIX_PATH="$usr" > "$log" 2>&1; then got=yes; else got=no; fi
	if [ "$got" = "$want" ]; then
		ok "find_package(pidshim $v) $( [ "$want" = yes ] && echo accepted || echo refused)"
	else
		no "find_package(pidshim $v): expected $want, got $got"
		show "$log"
	fi
done

${MAKE:-make} --no-print-directory -s uninstall-lib uninstall-cmake BUILD="$build" DESTDIR="$dest" PREFIX=/usr > "$log" 2>&1
if [ -e "$cfg" ] || [ -e "$(dirname "$cfg")/pidshimConfigVersion.cmake" ]; then
	no "make uninstall removes the CMake package"
else
	ok "make uninstall removes the CMake package"
fi
finish
