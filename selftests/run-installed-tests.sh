#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The runner of the installed selftests (`make install-tests`, Debian's
# pidshim-tests: /usr/libexec/installed-tests/pidshim/run-tests), for a
# distribution's QA on its own kernels: runs each test binary against the
# libpidshim.so.0 the system has, through run-suite.sh (hang timeout,
# crash and exit-status accounting), and prints one TAP stream, each
# binary's kselftest output as an indented subtest, ending with the line
# "N passed, N failed, N skipped".  Exit status 0 only when nothing failed.
#
#   run-tests [--quick] [--keep DIR] [NAME...]
#     --quick     PIDSHIM_TEST_QUICK=1: the heavy loops ten times smaller
#     --keep DIR  keep each binary's TAP and counts in DIR (NAME.tap/.count)
#     NAME...     only these binaries (default: every name in LIST)
# Under a kernel personality: pidshim emulate 4.19 -- run-tests
# (PIDSHIM_EXPECT_BACKEND=NAME makes the probe tests check the backend).
# Env: PIDSHIM_SELFTEST_DIR (the binaries, default this script's directory),
# PIDSHIM_TEST_SLOW, PIDSHIM_SUITE_TIMEOUT (see run-suite.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=${PIDSHIM_SELFTEST_DIR:-$here}
keep=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) export PIDSHIM_TEST_QUICK=1 ;;
	--keep) keep=${2:?--keep needs a directory}; shift ;;
	--help) sed -n '/^#   run-tests/,/^# PIDSHIM_TEST_SLOW/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	--) shift; break ;;
	-*) echo "run-tests: unknown option $1 (--help)" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
dir=$(cd "$dir" 2>/dev/null && pwd) || { echo "run-tests: no directory $dir" >&2; exit 2; }
if [ ! -r "$dir/LIST" ]; then
	echo "run-tests: $dir/LIST missing" >&2
	exit 2
fi
names=${*:-$(cat "$dir/LIST")}
export PIDSHIM_TEST_HELPER="${PIDSHIM_TEST_HELPER:-$dir/helper}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pidshim-tests.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
res=${keep:-$tmp/results}
mkdir -p "$res"

# shellcheck disable=SC2086 # names are words
set -- $names
echo "TAP version 14"
echo "1..$#"
echo "# pidshim installed tests in $dir, kernel $(uname -r)"
i=0 tp=0 tf=0 ts=0
for name in "$@"; do
	i=$((i + 1))
	# run-suite.sh runs what a LIST names: one binary, through a link (the
	# test finds its helper beside its real path, /proc/self/exe).
	one=$tmp/$name
	mkdir -p "$one"
	echo "$name" > "$one/LIST"
	[ -e "$dir/$name" ] && ln -s "$dir/$name" "$one/$name"
	PIDSHIM_SELFTEST_DIR=$one sh "$here/run-suite.sh" "$name" "$res" > "$tmp/summary" 2>&1
	read -r p f s < "$res/$name.count" || { p=0 f=1 s=0; }
	echo "# Subtest: $name"
	sed -e '/^# selftest binary: /d' -e '/^TAP version/d' -e 's/^/    /' "$res/$name.tap"
	if [ "$f" -eq 0 ]; then r="ok"; else r="not ok"; fi
	echo "$r $i - $name: $p passed, $f failed, $s skipped"
	tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
done
echo "$tp passed, $tf failed, $ts skipped"
[ "$tf" -eq 0 ]
