#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Fetches the newest Debian cloud kernel of one suite into the pidshim cache
# and prints the path of its vmlinuz.  The kernel comes from the Debian
# archive through apt, but with a private sources list, package lists and
# archive cache under the cache dir, so the machine's own apt configuration
# is never changed (only the archive URI is read from it, by
# debian-mirror.sh).  A kernel already in the cache is used as it is: a
# second run downloads nothing (remove the suite's cache dir to pick up a
# newer kernel).  Used by `pidshim matrix` (installed next to it) and so by
# `make kernel-matrix`.
#
#   kernel-fetch.sh SUITE          e.g. bullseye, bookworm, trixie, sid
#
# Environment: PIDSHIM_DEBIAN_MIRROR (see debian-mirror.sh),
# PIDSHIM_KERNEL_ARCH (Debian architecture, default amd64),
# PIDSHIM_KERNEL_FLAVOUR (default cloud-$PIDSHIM_KERNEL_ARCH).
# Cache layout: $XDG_CACHE_HOME/pidshim/kernels/<arch>/<suite>/{vmlinuz,
# config,release,package}; the apt state lives in .../kernels/<arch>/apt/<suite>/.
set -eu

suite=${1:?usage: kernel-fetch.sh SUITE}
arch=${PIDSHIM_KERNEL_ARCH:-amd64}
flavour=${PIDSHIM_KERNEL_FLAVOUR:-cloud-$arch}
here=$(cd "$(dirname "$0")" && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/pidshim/kernels/$arch
kdir=$cache/$suite

if [ -s "$kdir/vmlinuz" ] && [ -s "$kdir/release" ]; then
	echo "$kdir/vmlinuz"
	exit 0
fi

# The archive the machine's apt already uses (or PIDSHIM_DEBIAN_MIRROR).
mirror=$("$here/debian-mirror.sh") || {
	echo "kernel-fetch: $suite: cannot tell which Debian archive to fetch from" >&2
	exit 1
}

adir=$cache/apt/$suite
mkdir -p "$adir/lists/partial" "$adir/cache/archives/partial" "$adir/none" "$kdir"
echo "deb [trusted=yes] $mirror $suite main" > "$adir/sources.list"
# Every option that would otherwise point at the machine's apt state.
aptopts="-o Dir::Etc::sourcelist=$adir/sources.list -o Dir::Etc::sourceparts=-
	-o Dir::State::Lists=$adir/lists -o Dir::Cache=$adir/cache
	-o Dir::Etc::preferences=$adir/none -o Dir::Etc::preferencesparts=$adir/none
	-o APT::Architecture=$arch -o APT::Architectures=$arch -o Debug::NoLocking=1
	-o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root"

echo "kernel-fetch: $suite: updating package list from $mirror" >&2
# shellcheck disable=SC2086
apt-get -qq $aptopts update >&2

# The signed image (no -unsigned/-dbg suffix) of the highest ABI in the suite.
# shellcheck disable=SC2086
pkg=$(apt-cache $aptopts search --names-only "^linux-image-[0-9].*-$flavour\$" |
	cut -d' ' -f1 | grep -E "^linux-image-[0-9][^ ]*-$flavour\$" |
	sort -V | tail -n 1)
if [ -z "$pkg" ]; then
	echo "kernel-fetch: $suite: no linux-image-*-$flavour package found" >&2
	exit 1
fi

# Since Linux 6.17 in sid (forky) the image package is split: the kernel
# is in linux-binary-<release>, its config in linux-base-<release>.
# shellcheck disable=SC2086
parts=$(apt-cache $aptopts depends "$pkg" | sed -n 's/^ *Depends: //p' |
	grep -E '^linux-(binary|base)-[0-9]' | sort -u || true)

tmp=$(mktemp -d "$cache/.fetch-$suite.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "kernel-fetch: $suite: downloading $pkg $parts" >&2
# shellcheck disable=SC2086
(cd "$tmp" && apt-get -qq $aptopts download "$pkg" $parts >&2)
for deb in "$tmp"/*.deb; do
	dpkg -x "$deb" "$tmp/root"
done
# Old layout: /boot/vmlinuz-<release>; split layout: /usr/lib/modules/<release>/vmlinuz.
vmlinuz=
for f in "$tmp"/root/boot/vmlinuz-* "$tmp"/root/usr/lib/modules/*/vmlinuz; do
	[ -f "$f" ] && vmlinuz=$f && break
done
if [ -z "$vmlinuz" ]; then
	echo "kernel-fetch: $suite: no vmlinuz in $pkg $parts" >&2
	exit 1
fi
case $vmlinuz in
*/boot/vmlinuz-*)
	release=${vmlinuz##*/vmlinuz-}
	config=$tmp/root/boot/config-$release ;;
*)
	release=$(basename "$(dirname "$vmlinuz")")
	config=$tmp/root/usr/lib/modules/$release/config ;;
esac
cp "$config" "$kdir/config"
# The personalities are seccomp filters: a kernel without them cannot run
# the matrix, so say so now instead of after a boot.
if ! grep -q '^CONFIG_SECCOMP_FILTER=y' "$kdir/config"; then
	echo "kernel-fetch: $suite: $release lacks CONFIG_SECCOMP_FILTER" >&2
	exit 1
fi
echo "$pkg" > "$kdir/package"
cp "$vmlinuz" "$kdir/vmlinuz.tmp"
mv "$kdir/vmlinuz.tmp" "$kdir/vmlinuz"
# Written last: its presence marks a complete cache entry.
echo "$release" > "$kdir/release"
# The package lists are only needed to pick the next kernel.
rm -rf "$adir/cache"
echo "$kdir/vmlinuz"
