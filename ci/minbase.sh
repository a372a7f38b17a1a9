#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Prints the path of a tarball of a minimal Debian 12 root file system
# (`debootstrap --variant=minbase bookworm`, what the debian:bookworm
# container image holds), making it first if the cache has none.  Shared
# by `make docker-test` (imported as the Dockerfile's base image) and
# `make readme-minimal` (the README's quick start run in it as a chroot),
# so both start from the same minimal system and debootstrap runs once.
# The archive is the one this machine's apt uses (ci/debian-mirror.sh).
#
#   ci/minbase.sh LOGDIR        prints $XDG_CACHE_HOME/pidshim/docker/debian-bookworm-minbase.tar
set -eu

here=$(cd "$(dirname "$0")" && pwd)
logs=${1:?usage: minbase.sh LOGDIR}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/pidshim/docker
tarball=$cache/debian-bookworm-minbase.tar
if [ -s "$tarball" ]; then
	echo "$tarball"
	exit 0
fi
mirror=$("$here/debian-mirror.sh") || exit 1
echo "minbase: debootstrap --variant=minbase bookworm from $mirror" >&2
mkdir -p "$cache" "$logs"
root=$(mktemp -d "$cache/.root.XXXXXX")
trap 'rm -rf "$root"' EXIT
if ! debootstrap --variant=minbase bookworm "$root" "$mirror" > "$logs/debootstrap.log" 2>&1; then
	tail -n 20 "$logs/debootstrap.log" >&2
	echo "minbase: debootstrap failed, see $logs/debootstrap.log" >&2
	exit 1
fi
# What the official image also drops: caches and apt lists.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" --numeric-owner -cf "$tarball.tmp" .
mv "$tarball.tmp" "$tarball"
echo "$tarball"
