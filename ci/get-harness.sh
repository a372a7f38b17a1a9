#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Extracts the kselftest harness (kselftest_harness.h and kselftest.h) from
# Debian's linux-source-6.1 tarball into the pidshim cache, once, and prints
# the include directory to pass as -I.  The headers are GPL kernel code: they
# are never committed to this repository, only unpacked at build time.  The
# tarball is ~130 MB of xz, so the extraction (about 15 s) happens only when
# the cache lacks the headers; later calls just print the directory.
#   ci/get-harness.sh            print the include dir, extracting if needed
# Env: PIDSHIM_LINUX_SOURCE overrides the tarball path.
set -eu
src=${PIDSHIM_LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/pidshim
dir=$cache/kselftest-6.1
if [ -s "$dir/kselftest_harness.h" ] && [ -s "$dir/kselftest.h" ]; then
	echo "$dir"
	exit 0
fi
if [ ! -r "$src" ]; then
	echo "get-harness.sh: $src missing (apt-get install linux-source-6.1)" >&2
	exit 1
fi
mkdir -p "$cache"
# Unpack into a private temporary directory and rename at the end, so that
# two builds racing here never see half-written headers.
tmp=$(mktemp -d "$cache/kselftest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tar -xJf "$src" -C "$tmp" --wildcards \
	'*/tools/testing/selftests/kselftest_harness.h' \
	'*/tools/testing/selftests/kselftest.h'
mkdir -p "$tmp/out"
for h in kselftest_harness.h kselftest.h; do
	f=$(find "$tmp" -path "*/tools/testing/selftests/$h" -type f | head -n 1)
	[ -n "$f" ] || { echo "get-harness.sh: $h not in $src" >&2; exit 1; }
	cp "$f" "$tmp/out/$h"
done
if [ ! -s "$dir/kselftest_harness.h" ]; then
	rm -rf "$dir"
	mv "$tmp/out" "$dir" 2>/dev/null || true
fi
echo "$dir"
