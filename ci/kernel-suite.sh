#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs the static selftest binaries under every kernel personality on the
# kernel it runs on, and prints their TAP between "@@KM" marker lines that
# ci/kernel-report.sh reads back.  The same script runs as the payload of the
# qemu guests of the kernel matrix (busybox sh, as PID 1's child, output on
# the serial console) and natively on the host (the matrix's host column),
# so every kernel is tested the same way.  It only reports: the verdicts
# (counts, backend mismatches, crashes, time-outs) are made by the reader,
# which also notices a section that never ended (a guest that died).
#
#   kernel-suite.sh TESTDIR PIDSHIM_CLI [PERSONALITY...]
#
# TESTDIR holds the binaries named in TESTDIR/LIST (one a line, '#'
# comments, first word = file name); no personality given: every one
# `pidshim emulate --names` lists.  Environment: PIDSHIM_TEST_QUICK (passed
# on), KM_TEST_TIMEOUT (seconds one binary may run, default 300).
set -u

tdir=${1:?usage: kernel-suite.sh TESTDIR PIDSHIM [PERSONALITY...]}
cli=${2:?usage: kernel-suite.sh TESTDIR PIDSHIM [PERSONALITY...]}
shift 2
tmo=${KM_TEST_TIMEOUT:-300}
# stderr is kept apart and shown after the TAP as comments: interleaved
# with a fully buffered stdout it could split a result line.
err=$(mktemp "${TMPDIR:-/tmp}/km-stderr.XXXXXX") || exit 1
trap 'rm -f "$err"' EXIT

# The backend each personality must select, from CONTRACT section 4 and
# not from the CLI, so a wrong table in the CLI cannot hide a wrong choice.
# Personalities added later fall back to the CLI's own table.
expected_backend() {
	case $1 in
	4.19 | 5.1 | 5.2 | docker-eperm | android-sigsys) echo signalfd ;;
	5.3) echo pidfd-poll ;;
	5.4 | 5.10 | native) echo pidfd ;;
	*) "$cli" emulate --expected-backend "$1" 2>/dev/null || echo unknown ;;
	esac
}

# The backend name in `pidshim probe --json`: "backend": {"name": "pidfd", ...}.
backend_of() {
	tr -d '\n' | sed -n 's/.*"backend"[[:space:]]*:[[:space:]]*{[^}]*"name"[[:space:]]*:[[:space:]]*"\([a-z-]*\)".*/\1/p'
}

# Runs one test binary (or command) as a section: "$1" section, "$2" name.
run_section() {
	sec=$1 name=$2
	shift 2
	echo "@@KM test-begin $sec $name"
	start=$(date +%s)
	timeout -s KILL "$tmo" "$@" 2>"$err" </dev/null
	rc=$?
	# A last line without newline must not swallow the marker.
	echo ""
	sed -e 's/^/# stderr: /' "$err"
	echo "@@KM test-end $sec $name rc=$rc secs=$(($(date +%s) - start))"
}

if [ $# -eq 0 ]; then
	# shellcheck disable=SC2046 # one name a line, no blanks in names
	set -- $("$cli" emulate --names)
fi

tests=$(sed -e 's/#.*//' "$tdir/LIST" | awk 'NF { print $1 }')

echo "@@KM uname $(uname -r)"
# CPU time split (user nice system idle ...) before and after: tells a
# guest starved of host CPU from one that waits on the tests' own sleeps.
echo "@@KM stat-begin $(head -n 1 /proc/stat)"
echo "@@KM nproc $(grep -c '^processor' /proc/cpuinfo 2>/dev/null || echo 1)"
echo "@@KM probe-begin"
"$cli" probe --json 2>&1
echo "@@KM probe-end rc=$?"
# Does the kernel have every pidfd feature of the version it claims?
echo "@@KM pers-begin probe expect=-"
run_section probe probe--tap "$cli" probe --tap
echo "@@KM pers-end probe"

cd "$tdir" || exit 1
PATH=$tdir:$PATH
# Where the selftests find their spawned child (see selftests/run-suite.sh).
PIDSHIM_SELFTEST_DIR=$tdir
PIDSHIM_TEST_HELPER=$tdir/helper
export PATH PIDSHIM_SELFTEST_DIR PIDSHIM_TEST_HELPER
for p in "$@"; do
	exp=$(expected_backend "$p")
	# The selftests check the library's choice against it too.
	PIDSHIM_EXPECT_BACKEND=$exp
	export PIDSHIM_EXPECT_BACKEND
	echo "@@KM pers-begin $p expect=$exp"
	# What the library selects under this personality, seen through the
	# CLI's own probe inside the same filter.
	got=$("$cli" emulate "$p" -- "$cli" probe --json 2>/dev/null | backend_of)
	echo "@@KM backend $p ${got:-none}"
	for t in $tests; do
		run_section "$p" "$t" "$cli" emulate "$p" -- "$tdir/$t"
	done
	echo "@@KM pers-end $p"
done
echo "@@KM stat-end $(head -n 1 /proc/stat)"
echo "@@KM done"
