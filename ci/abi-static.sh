#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The static binaries a guest of another architecture boots with in
# `make kernel-matrix` (the arm64 column): the static selftests, the
# static personality checks and the static pidshim, built with the ABI's cross compiler in BUILD/abi/ABI, the
# tree `make check-abi` uses (so a run of either reuses the other's
# objects).  The ABI's libseccomp (static, from Debian's libseccomp-dev of
# that architecture) is unpacked by ci/apt-fetch.sh into the same cache
# directory ci/check-abi.sh uses, never installed.  Building only, no test
# runs here: qemu-user is not needed.
#
#   ci/abi-static.sh ABI BUILD        ABI: aarch64
# Prints BUILD/abi/ABI/static when done (pidshim and selftests/ in it);
# exit 1 with the reason on stderr when the toolchain is missing or the
# build fails (log: BUILD/abi/ABI/build-static.log).
set -eu

abi=${1:?usage: abi-static.sh ABI BUILD}
build=${2:?usage: abi-static.sh ABI BUILD}
top=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
case $abi in
aarch64) cc=aarch64-linux-gnu-gcc deb=arm64 triplet=aarch64-linux-gnu
	pkgs="gcc-aarch64-linux-gnu libc6-dev-arm64-cross" ;;
*) echo "abi-static.sh: no kernel-matrix guest for ABI '$abi' (aarch64)" >&2; exit 2 ;;
esac
if ! command -v "$cc" > /dev/null 2>&1; then
	echo "abi-static.sh: $cc is not installed (Debian: $pkgs; ci/deps/kernel-matrix.list)" >&2
	exit 1
fi

b=$build/abi/$abi
mkdir -p "$b"
suite=${PIDSHIM_ABI_SUITE:-$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null)}
seccomp_root=${XDG_CACHE_HOME:-$HOME/.cache}/pidshim/abi/$deb
if ! "$top/ci/apt-fetch.sh" "${suite:-bookworm}" "$deb" "$seccomp_root" \
	libseccomp-dev libseccomp2 > "$b/apt-fetch.log" 2>&1; then
	echo "abi-static.sh: libseccomp-dev:$deb could not be fetched (log: $b/apt-fetch.log)" >&2
	exit 1
fi
# The ABI's make gets its variables from here, not from an outer make.
unset MAKEFLAGS MFLAGS MAKELEVEL
if ! ${MAKE:-make} -C "$top" -j"$(nproc 2>/dev/null || echo 2)" --no-print-directory \
	BUILD="$b" CC="$cc -isystem $seccomp_root/usr/include" \
	CLI_LIBS="$seccomp_root/usr/lib/$triplet/libseccomp.a" \
	selftests-static personality-tests-static cli-static > "$b/build-static.log" 2>&1; then
	echo "abi-static.sh: the static $abi build failed (log: $b/build-static.log)" >&2
	tail -n 20 "$b/build-static.log" >&2
	exit 1
fi
echo "$b/static"
