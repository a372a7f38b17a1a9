#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `make deb`: builds the Debian source package and the binary packages of
# debian/ from a clean copy of the tree, the way a distribution does, into
# BUILD/deb/: the orig tarball (the tree without debian/), the .dsc, the
# .debs, .buildinfo, .changes and the build log (pidshim_VERSION_ARCH.build,
# for blhc).  The copy holds what git tracks plus new files git does not
# ignore (or, outside git, the tree without build/), so nothing of a
# previous build gets in; make's and the compiler's variables of the
# calling shell (MAKEFLAGS, CC, CFLAGS, BUILD, ...) are dropped so the
# build sees only dpkg-buildflags.  DEB_BUILD_OPTIONS and
# DEB_BUILD_PROFILES pass through (parallel= defaults to every CPU).
#   ci/deb-build.sh [BUILD]
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$build"
out=$(cd "$build" && pwd)/deb
cd "$top"
version=$(dpkg-parsechangelog -S Version)
upstream=${version%-*}
epoch=$(dpkg-parsechangelog -S Timestamp)
arch=$(dpkg --print-architecture)
src=$out/pidshim-$upstream
t0=$(date +%s)

rm -rf "$out"
mkdir -p "$src"
if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
	# --ignore-failed-read: a tracked file deleted in the work tree.
	git ls-files -z --cached --others --exclude-standard |
		tar --null -T - --ignore-failed-read -cf - | tar -C "$src" -xf -
else
	tar --exclude=./build --exclude=./.git -cf - . | tar -C "$src" -xf -
fi
tar -C "$out" --exclude="pidshim-$upstream/debian" --sort=name --owner=0 --group=0 \
	--numeric-owner --mtime="@$epoch" -cJf "$out/pidshim_$upstream.orig.tar.xz" "pidshim-$upstream"

case " ${DEB_BUILD_OPTIONS:-} " in
*" parallel="*) opts=${DEB_BUILD_OPTIONS:-} ;;
*) opts="${DEB_BUILD_OPTIONS:-} parallel=$(nproc)" ;;
esac
log=$out/pidshim_${version}_$arch.build
echo "deb-build: dpkg-buildpackage in $src (DEB_BUILD_OPTIONS=$opts), log $log"
cd "$src"
rc=0
{
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u BUILD -u CC -u CXX \
		-u CFLAGS -u CPPFLAGS -u CXXFLAGS -u LDFLAGS -u OPT -u WERROR -u EXTRA_CFLAGS \
		-u EXTRA_LDFLAGS -u SANITIZE -u PREFIX -u LIBDIR -u DESTDIR \
		DEB_BUILD_OPTIONS="${opts# }" dpkg-buildpackage -us -uc || rc=$?
	echo "$rc" > "$out/.rc"
} 2>&1 | tee "$log"
rc=$(cat "$out/.rc")
rm -f "$out/.rc"
echo "deb-build: exit $rc after $(( $(date +%s) - t0 ))s"
[ "$rc" -eq 0 ] || exit "$rc"
ls -1 "$out"/*.deb "$out"/*.dsc "$out"/*.changes
