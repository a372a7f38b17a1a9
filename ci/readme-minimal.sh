#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `make readme-minimal`: proves the README's quick start where a new user
# runs it, on a minimal Debian 12 (the `debootstrap --variant=minbase`
# system of ci/minbase.sh, what the debian:bookworm image holds: no
# compiler, no libc headers, apt installing without recommends).  The
# commands are read from the README's "Quick start" section, not copied
# here, and run in the order it gives them, as root in a chroot holding
# the tracked files of this tree: first `ci/deps.sh build && make &&
# ./build/pidshim probe`, with nothing installed but what the first step
# asks for, then `make check`.  The chroot gets its own mount and PID
# namespaces (fresh /proc, nothing left running afterwards) and shares
# the host's network for apt.  Caches that only save downloads are
# shared with the host: the .debs of `make docker-test` and the kernels
# and kselftest harness under $XDG_CACHE_HOME/pidshim.
#
# Environment: BUILD (default build), PIDSHIM_README_QUICK (1, default:
# `make check` installs every dependency it names, then runs only the
# targets in PIDSHIM_README_TARGETS (default: check-selftests
# check-examples) with PIDSHIM_TEST_QUICK=1: .ci/run runs the whole suite
# on the host, a fresh Debian 12 machine itself; what only this chroot can
# show is that a minimal system gets everything the suite needs; 0: the
# full `make check`).
# Writes $BUILD/results/readme-minimal.count (one test per README
# command) and $BUILD/readme-minimal/*.log.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BUILD=${BUILD:-build}
mkdir -p "$BUILD/results" "$BUILD/readme-minimal"
res=$(cd "$BUILD/results" && pwd)
logs=$(cd "$BUILD/readme-minimal" && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/pidshim
quick=${PIDSHIM_README_QUICK:-1}
targets=${PIDSHIM_README_TARGETS:-check-selftests check-examples}
t0=$(date +%s)
rm -f "$res/readme-minimal.count"

fail() {
	echo "readme-minimal: $*" >&2
	echo "0 1 0" > "$res/readme-minimal.count"
	exit 1
}

# The ```sh blocks of the "Quick start" section, one command a line.
awk '
/^## / { inqs = ($0 ~ /^## Quick start/) }
inqs && /^```sh$/ { inblock = 1; next }
inblock && /^```$/ { inblock = 0; next }
inblock { print }' "$top/README.md" > "$logs/commands"
[ "$(wc -l < "$logs/commands")" -ge 2 ] || fail "no two commands in the README's Quick start"

tarball=$("$here/minbase.sh" "$logs") || fail "no minimal Debian base (ci/minbase.sh)"
root=$(mktemp -d "$logs/root.XXXXXX")
cleanup() { rm -rf "$root"; }
trap cleanup EXIT
tar -C "$root" -xf "$tarball"
# mktemp made it 0700: the chroot's / must let every user in (tests run
# programs as nobody).
chmod 0755 "$root"
mkdir -p "$root/src/pidshim" "$root/root/.cache/pidshim" "$root/var/cache/apt/archives"
# The tracked files, as a clone would have them (with uncommitted edits).
(cd "$top" && git ls-files -z | tar --null --ignore-failed-read -T - -cf -) | tar -C "$root/src/pidshim" -xf -
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$cache/docker/apt-archives/partial"

# Inside: each README command in order, its status on a line of its own.
{
	echo 'cd /src/pidshim'
	# A new user's shell: nothing of the make that started us.
	echo 'unset BUILD MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES'
	echo 'export DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 HOME=/root'
	if [ "$quick" = 1 ]; then
		echo 'export PIDSHIM_TEST_QUICK=1 PIDSHIM_VALGRIND=0'
		printf 'export PIDSHIM_CHECK_TARGETS="%s"\n' "$targets"
	fi
	n=0
	while IFS= read -r cmd; do
		n=$((n + 1))
		shown=$cmd
		if [ "$quick" = 1 ] && [ "$cmd" = "make check" ]; then
			# The same make check: its dependencies, then a few suites.
			cmd="ci/docker-check.sh"
			shown="make check (quick: every dependency, then only $targets, through ci/docker-check.sh)"
		fi
		printf 'echo "=== README command %d: %s"\n' "$n" "$shown"
		printf '( %s ) && echo "readme-minimal: command %d passed" || { echo "readme-minimal: command %d failed"; exit 1; }\n' \
			"$cmd" "$n" "$n"
	done < "$logs/commands"
} > "$root/readme-run.sh"
echo "readme-minimal: in a minbase chroot, running:"
sed 's/^/    /' "$logs/commands"

rc=0
# shellcheck disable=SC2016 # expanded by the inner shell
unshare --mount --pid --fork --propagation private sh -euc '
	root=$1 cache=$2
	mount -t proc proc "$root/proc"
	mount -t sysfs sys "$root/sys"
	mount --rbind /dev "$root/dev"
	mount -t tmpfs shm "$root/dev/shm"
	mount -t tmpfs tmp "$root/tmp"
	mount --bind "$cache" "$root/root/.cache/pidshim"
	mount --bind "$cache/docker/apt-archives" "$root/var/cache/apt/archives"
	exec chroot "$root" /bin/sh /readme-run.sh' sh "$root" "$cache" \
	> "$logs/run.log" 2>&1 || rc=$?

passed=$(grep -c '^readme-minimal: command [0-9]* passed' "$logs/run.log" || true)
total=$(wc -l < "$logs/commands")
grep -E '^(=== README command|readme-minimal: command|[0-9]+ passed, [0-9]+ failed)' "$logs/run.log" || true
echo "$passed $((total - passed)) 0" > "$res/readme-minimal.count"
echo "readme-minimal: $passed of $total README commands passed in $(($(date +%s) - t0))s (log: $logs/run.log)"
if [ "$rc" != 0 ] || [ "$passed" != "$total" ]; then
	tail -n 30 "$logs/run.log" >&2
	exit 1
fi
