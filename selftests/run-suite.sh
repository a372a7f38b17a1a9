#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs every pidshim C selftest binary once and records the results in the
# project's results protocol:
#
#   selftests/run-suite.sh SUITE RESULTS_DIR [PREFIX_CMD...]
#
# The binaries are the names listed in $PIDSHIM_SELFTEST_DIR/LIST (default:
# the script's own directory if it holds a LIST, else build/selftests), run one after the other, each optionally behind a
# prefix command (valgrind, `pidshim emulate 4.19 --`, ...) and under a
# hang timeout ($PIDSHIM_SUITE_TIMEOUT seconds per binary, default 1200,
# times $PIDSHIM_TEST_SLOW).  All TAP output goes to RESULTS_DIR/SUITE.tap;
# RESULTS_DIR/SUITE.count gets "PASSED FAILED SKIPPED", summed from each
# binary's "# Totals:" line.  A binary that crashes, times out, prints no
# totals or exits non-zero without reporting a failed test counts as one
# more failure.  Exit status 0 only when nothing failed.
#
# POSIX sh only (dash, busybox ash): the qemu kernel matrix runs it inside a
# busybox guest on the static binaries.
set -u
if [ $# -lt 2 ]; then
	echo "usage: $0 SUITE RESULTS_DIR [PREFIX_CMD...]" >&2
	exit 2
fi
suite=$1
results=$2
shift 2
here=$(dirname "$0")
if [ -z "${PIDSHIM_SELFTEST_DIR:-}" ] && [ -r "$here/LIST" ]; then
	# A copy next to the binaries (the static tree of the qemu guests).
	PIDSHIM_SELFTEST_DIR=$here
fi
dir=${PIDSHIM_SELFTEST_DIR:-build/selftests}
slow=${PIDSHIM_TEST_SLOW:-1}
limit=$(( ${PIDSHIM_SUITE_TIMEOUT:-1200} * slow ))
: "${PIDSHIM_TEST_HELPER:=$dir/helper}"
export PIDSHIM_TEST_HELPER

mkdir -p "$results"
tap=$results/$suite.tap
count=$results/$suite.count
: > "$tap"
tp=0 tf=0 ts=0
# Written first so that a killed run still leaves counts behind.
echo "0 1 0" > "$count"

if [ ! -r "$dir/LIST" ]; then
	echo "run-suite.sh: $dir/LIST missing (make selftests)" >&2
	echo "not ok 1 $suite: no selftest list in $dir" >> "$tap"
	exit 1
fi

# Scratch file in the results dir: a busybox initramfs may have no /tmp.
out=$results/.$suite.$$.out
trap 'rm -f "$out"' EXIT

# Runs "$@" with a hang timeout; returns its status, 137 when killed.
run_limited() {
	"$@" > "$out" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	pid=$!
	(
		sleep "$limit" &
		s=$!
		trap 'kill $s 2>/dev/null; exit 0' TERM
		wait $s
		echo "# run-suite: timeout after ${limit}s, killing $pid" >> "$out"
		kill -9 "$pid" 2>/dev/null
	) >/dev/null 2>&1 &
	wd=$!
	wait "$pid"
	rc=$?
	kill "$wd" 2>/dev/null
	wait "$wd" 2>/dev/null
	return $rc
}

for name in $(cat "$dir/LIST"); do
	bin=$dir/$name
	echo "# selftest binary: $name" >> "$tap"
	if [ ! -x "$bin" ]; then
		echo "not ok 1 $name: binary missing" >> "$tap"
		tf=$((tf + 1))
		printf '%-10s missing\n' "$name"
		continue
	fi
	start=$(date +%s)
	run_limited "$@" "$bin"
	rc=$?
	cat "$out" >> "$tap"
	totals=$(grep '^# Totals:' "$out" | tail -n 1)
	p=0 f=0 s=0
	if [ -n "$totals" ]; then
		# "# Totals: pass:N fail:N xfail:N xpass:N skip:N error:N"
		vals=$(echo "$totals" | sed -n \
			's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\) xfail:[0-9]* xpass:[0-9]* skip:\([0-9]*\) error:\([0-9]*\).*/\1 \2 \3 \4/p')
		if [ -n "$vals" ]; then
			read -r p f s e <<EOF
$vals
EOF
			f=$((f + e))
		else
			f=1
			echo "not ok - $name: unreadable totals line: $totals" >> "$tap"
		fi
	else
		# No totals: a crash or a kill; count what was reported, plus one.
		p=$(grep -c '^ok [0-9]* [^#]' "$out")
		s=$(grep -c '^ok [0-9]* # SKIP' "$out")
		f=$(grep -c '^not ok' "$out")
		f=$((f + 1))
		echo "not ok - $name: no totals (exit status $rc: crash or timeout)" >> "$tap"
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name: exit status $rc without a failed test" >> "$tap"
	fi
	tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
	printf '%-10s pass %4d  fail %4d  skip %4d  (%ss, exit %d)\n' \
		"$name" "$p" "$f" "$s" "$(( $(date +%s) - start ))" "$rc"
	grep '^not ok' "$out" | sed 's/^/    /'
done

echo "$tp $tf $ts" > "$count"
echo "$suite: $tp passed, $tf failed, $ts skipped (TAP in $tap)"
[ "$tf" -eq 0 ]
