#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Unpacks Debian packages of any architecture into a directory, without
# installing them and without touching the machine's dpkg or apt state: the
# cross ABIs of `make check-abi` take their libseccomp (headers and static
# library, to link the CLI for arm64, s390x, i386) from such a tree, and the
# arm64 kernel matrix its busybox-static and kernel the same way.  apt runs
# with a private sources list, package lists and archive cache under the
# pidshim cache; the archive is the one the machine's own apt sources name.
# A tree already complete for the same package list is used as it is;
# DIR/.apt-fetch-debs names the package files it was unpacked from.
#
#   ci/apt-fetch.sh SUITE ARCH DIR PACKAGE...    prints DIR when done
#   e.g. ci/apt-fetch.sh bookworm arm64 ~/.cache/pidshim/abi/arm64 libseccomp-dev libseccomp2
#
# Env: PIDSHIM_DEBIAN_MIRROR overrides the archive URI (default: the one
# the machine's own apt sources name, see ci/debian-mirror.sh; none: stop).
set -eu

suite=${1:?usage: apt-fetch.sh SUITE ARCH DIR PACKAGE...}
arch=${2:?usage: apt-fetch.sh SUITE ARCH DIR PACKAGE...}
dir=${3:?usage: apt-fetch.sh SUITE ARCH DIR PACKAGE...}
shift 3
[ $# -gt 0 ] || { echo "apt-fetch.sh: no package named" >&2; exit 2; }
want="$suite $arch $*"
if [ -r "$dir/.apt-fetch" ] && [ "$(cat "$dir/.apt-fetch")" = "$want" ]; then
	echo "$dir"
	exit 0
fi

mirror=$("$(dirname "$0")/debian-mirror.sh") || exit 1

cache=${XDG_CACHE_HOME:-$HOME/.cache}/pidshim/apt/$suite-$arch
mkdir -p "$cache/lists/partial" "$cache/archives/partial" "$cache/none"
echo "deb [trusted=yes] $mirror $suite main" > "$cache/sources.list"
# Every option that would otherwise point at the machine's apt state.
aptopts="-o Dir::Etc::sourcelist=$cache/sources.list -o Dir::Etc::sourceparts=-
	-o Dir::State::Lists=$cache/lists -o Dir::Cache=$cache
	-o Dir::Etc::preferences=$cache/none -o Dir::Etc::preferencesparts=$cache/none
	-o APT::Architecture=$arch -o APT::Architectures=$arch -o Debug::NoLocking=1
	-o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root"

echo "apt-fetch: $suite/$arch: $* from $mirror" >&2
# shellcheck disable=SC2086
apt-get -qq $aptopts update >&2
tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2086
(cd "$tmp" && apt-get -qq $aptopts download "$@" >&2)
mkdir -p "$tmp/root"
for deb in "$tmp"/*.deb; do
	dpkg -x "$deb" "$tmp/root"
done
# What is there: the request, and the package files it came from.
(cd "$tmp" && ls -- *.deb) > "$tmp/root/.apt-fetch-debs"
echo "$want" > "$tmp/root/.apt-fetch"
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
mv "$tmp/root" "$dir"
echo "$dir"
