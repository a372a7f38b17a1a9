#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A libexec directory for `pidshim matrix --arch ABI` on a host of another
# architecture (PIDSHIM_LIBEXECDIR): the build tree's guest scripts, the
# ABI's static pidshim, stripped (ci/abi-static.sh builds it, with the
# static selftests, in BUILD/abi/ABI), and a static busybox of the ABI
# from Debian's busybox-static (unpacked into the cache by
# ci/apt-fetch.sh, never installed).  Used by the arm64 column of
# `make kernel-matrix` and by selftests/cli/matrix-qemu.bats.
#
#   ci/guest-libexec.sh ABI BUILD DIR     ABI: aarch64
# Prints DIR when done; exit 1 with the reason on stderr.
set -eu

abi=${1:?usage: guest-libexec.sh ABI BUILD DIR}
build=${2:?usage: guest-libexec.sh ABI BUILD DIR}
dir=${3:?usage: guest-libexec.sh ABI BUILD DIR}
here=$(cd "$(dirname "$0")" && pwd)
case $abi in
aarch64) deb=arm64 strip=aarch64-linux-gnu-strip ;;
*) echo "guest-libexec.sh: no guest for ABI '$abi' (aarch64)" >&2; exit 2 ;;
esac
[ -s "$build/libexec/pidshim/guest-init.sh" ] ||
	{ echo "guest-libexec.sh: $build/libexec/pidshim missing (make cli-libexec)" >&2; exit 1; }

static=$("$here/abi-static.sh" "$abi" "$build")
# The same suite as the host's: busybox only needs to run, and one
# package list keeps one cache entry.
suite=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null)
bb=${XDG_CACHE_HOME:-$HOME/.cache}/pidshim/busybox/$deb
if ! "$here/apt-fetch.sh" "${suite:-bookworm}" "$deb" "$bb" busybox-static > "$build/abi/$abi/busybox.log" 2>&1; then
	echo "guest-libexec.sh: busybox-static:$deb could not be fetched (log: $build/abi/$abi/busybox.log)" >&2
	exit 1
fi
rm -rf "$dir"
mkdir -p "$dir/$abi"
cp "$build"/libexec/pidshim/*.sh "$dir/"
"$strip" -o "$dir/$abi/pidshim" "$static/pidshim"
cp "$bb/bin/busybox" "$dir/$abi/busybox"
echo "$dir"
