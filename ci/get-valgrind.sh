#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Prints the command to run valgrind with (one line, e.g.
# "env VALGRIND_LIB=/…/libexec/valgrind /…/usr/bin/valgrind").
#
# Why: Debian 12's valgrind 3.19 does not know pidfd_open and makes it fail
# with ENOSYS, so under it the pidfd backends are invisible.  Debian trixie's
# valgrind 3.24 knows them.  This script fetches trixie's package into the
# pidshim cache WITHOUT touching the machine's apt configuration (a private
# sources list, lists dir and archive cache under the cache dir), unpacks it
# with dpkg -x and checks that it runs here.  If anything fails it falls
# back to the system valgrind and says so on stderr (the pidfd variants then
# see -ENOSYS and skip, as the tests expect).  A second run downloads
# nothing.
# Env: PIDSHIM_VALGRIND_MIRROR overrides the Debian mirror URI.
set -u
cache=${XDG_CACHE_HOME:-$HOME/.cache}/pidshim/valgrind-trixie
root=$cache/root

runs() {
	# Valgrind must start and run a trivial program on this machine.
	VALGRIND_LIB=$root/usr/libexec/valgrind "$root/usr/bin/valgrind" -q \
		/bin/true >/dev/null 2>&1
}

fallback() {
	echo "get-valgrind.sh: $1; using the system valgrind" \
		"($(valgrind --version 2>/dev/null || echo none))" >&2
	command -v valgrind >/dev/null 2>&1 || exit 1
	echo valgrind
	exit 0
}

if [ -x "$root/usr/bin/valgrind" ] && runs; then
	echo "env VALGRIND_LIB=$root/usr/libexec/valgrind $root/usr/bin/valgrind"
	exit 0
fi

mirror=${PIDSHIM_VALGRIND_MIRROR:-}
if [ -z "$mirror" ]; then
	# deb822 sources first (Debian 12 default), then one-line sources.list.
	mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n' |
		grep -v security | sed '/^$/d' | head -n 1)
fi
if [ -z "$mirror" ]; then
	mirror=$(sed -n 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]*\).*/\2/p' \
		/etc/apt/sources.list 2>/dev/null | grep -v security | head -n 1)
fi
[ -n "$mirror" ] || fallback "no Debian mirror found in /etc/apt"
command -v apt-get >/dev/null 2>&1 || fallback "apt-get missing"

mkdir -p "$cache/lists/partial" "$cache/archives/partial" "$cache/dl"
echo "deb [trusted=yes] $mirror trixie main" > "$cache/sources.list"
# The trixie package is a mirror fetch; apt wants to write its pkgcache
# below Dir::Cache, so everything apt writes stays in $cache.
apt_opts="-o Dir::Etc::sourcelist=$cache/sources.list -o Dir::Etc::sourceparts=-
 -o Dir::State::Lists=$cache/lists -o Dir::Cache=$cache
 -o Dir::Cache::archives=$cache/archives -o APT::Get::List-Cleanup=0
 -o Debug::NoLocking=1 -o APT::Sandbox::User=root"
deb=$(ls "$cache"/dl/valgrind_*.deb 2>/dev/null | head -n 1)
if [ -z "$deb" ]; then
	echo "get-valgrind.sh: fetching valgrind from $mirror trixie" >&2
	# shellcheck disable=SC2086
	apt-get -qq $apt_opts update >&2 || fallback "apt-get update of trixie failed"
	# shellcheck disable=SC2086
	(cd "$cache/dl" && apt-get -qq $apt_opts download valgrind >&2) ||
		fallback "apt-get download valgrind failed"
	deb=$(ls "$cache"/dl/valgrind_*.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || fallback "no valgrind .deb downloaded"
fi
rm -rf "$root"
dpkg -x "$deb" "$root" || fallback "dpkg -x $deb failed"
runs || fallback "trixie's valgrind does not run on this machine"
echo "env VALGRIND_LIB=$root/usr/libexec/valgrind $root/usr/bin/valgrind"
