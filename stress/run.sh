#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs the reliability suites of stress/ and writes the results protocol
# files.  usage: stress/run.sh quick|full BUILD [PERSONALITY]
#
#   quick  (make check-stress)  ~30-60 s: 3,000 cycles per backend, short
#          torture/faults, security, a short ThreadSanitizer run
#   full   (make stress)        < 5 min on 2 cores: 100,000 cycles per
#          backend (the three backends at once, each in its own pid
#          namespace with PID-reuse pressure), then the same suites
#
# Suites: "stress" (everything but TSAN) and "stress-tsan".  TAP of each
# program goes to $BUILD/results/stress-*.tap; the figures for the README's
# "Reliability" section to $BUILD/results/reliability.txt.  PERSONALITY
# (e.g. 4.19) runs the library tests under `$BUILD/pidshim emulate NAME`.
# PIDSHIM_TEST_QUICK=1 scales the loops down a further ~10x.
set -u
mode=${1:?usage: run.sh quick|full BUILD [PERSONALITY]}
build=${2:?usage: run.sh quick|full BUILD [PERSONALITY]}
pers=${3:-}
bin=$build/stress
res=$build/results
mkdir -p "$res"
backends="pidfd pidfd-poll signalfd"

case $mode in
quick) cycles=3000 cap=40 reuse_iters=10 storm=40 tsan_cycles=2000 ;;
full) cycles=100000 cap=200 reuse_iters=60 storm=200 tsan_cycles=10000 ;;
*) echo "usage: run.sh quick|full BUILD [PERSONALITY]" >&2; exit 2 ;;
esac

# Wrap a command: under a personality, and (for the stress runs, as root)
# in a private pid + mount namespace so that ns_last_pid can be driven
# without touching the host and /proc shows the namespace.
wrap=
if [ -n "$pers" ]; then
	if [ ! -x "$build/pidshim" ]; then
		echo "run.sh: $build/pidshim not built: needed for the $pers personality" >&2
		exit 1
	fi
	wrap="$build/pidshim emulate $pers --"
fi
ns=
if [ "$(id -u)" = 0 ] && unshare --pid --fork --mount-proc --kill-child true 2>/dev/null; then
	ns="unshare --pid --fork --mount-proc --kill-child"
fi

# Run one program with a hard time limit; its TAP goes to $res/$name.tap.
# A program that dies or never prints its plan counts as a failure.
runtap() {
	name=$1 limit=$2
	shift 2
	timeout -k 5 "$limit" "$@" > "$res/$name.tap" 2>&1
	rc=$?
	if ! grep -q '^1\.\.' "$res/$name.tap"; then
		echo "not ok - $name: exited with status $rc before finishing (124: over ${limit}s)" \
			>> "$res/$name.tap"
	elif [ $rc -ne 0 ] && ! grep -q '^not ok' "$res/$name.tap"; then
		echo "not ok - $name: exit status $rc" >> "$res/$name.tap"
	fi
}

# Count ok / not ok / skip over TAP files.
count() {
	cat "$@" 2>/dev/null | awk '
		/^ok .*# SKIP/ { s++; next }
		/^1\.\.0 # SKIP/ { s++; next }
		/^ok / { p++; next }
		/^not ok/ { f++; next }
		END { printf "%d %d %d\n", p, f, s }'
}

rm -f "$res"/stress-*.tap "$res/reliability.txt"
t0=$(date +%s)

# 1. Stress: the three backends at once (2 cores; they are I/O-bound on
# fork/exec and wait, so running them together fits the budget).
for b in $backends; do
	reuse=
	[ -n "$ns" ] && reuse=-r
	runtap "stress-cycles-$b" $((cap + 60)) env PIDSHIM_BACKEND=$b \
		$ns $wrap "$bin/pidshim-stress" -n $cycles -T $cap $reuse &
done
wait

# 2. PID-reuse torture, 3. faults, 6. fd leaks: one process per backend.
for b in $backends; do
	# In its own pid namespace with its own /proc (as in a container), so
	# /proc names this namespace's processes; without $ns the program
	# makes a bare pid namespace itself.
	runtap "stress-pidreuse-$b" 150 $ns env PIDSHIM_BACKEND=$b $wrap "$bin/pidshim-pidreuse" \
		$reuse_iters
	runtap "stress-faults-$b" 240 env PIDSHIM_BACKEND=$b $wrap "$bin/pidshim-faults" $storm
	runtap "stress-fdcheck-$b" 60 env PIDSHIM_BACKEND=$b $wrap "$bin/pidshim-fdcheck"
done

# 6. PIDSHIM_BACKEND is ignored when AT_SECURE is set.
stress/secure.sh "$bin/secure-probe" > "$res/stress-secure.tap" 2>&1 ||
	grep -q '^not ok' "$res/stress-secure.tap" ||
	echo "not ok - secure.sh failed" >> "$res/stress-secure.tap"

# 6. The CLI watches other users' processes but never signals them.
if [ -x "$build/pidshim" ]; then
	runtap stress-cli 120 stress/cli-security.sh "$build/pidshim" "$bin/stress-child"
else
	echo "1..0 # SKIP $build/pidshim not built (mk/cli.mk)" > "$res/stress-cli.tap"
fi

count "$res"/stress-cycles-*.tap "$res"/stress-pidreuse-*.tap "$res"/stress-faults-*.tap \
	"$res"/stress-fdcheck-*.tap "$res/stress-secure.tap" "$res/stress-cli.tap" \
	> "$res/stress.count"

# 4. ThreadSanitizer: the threaded programs against the TSAN library.
tsan=$bin/tsan
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
for b in $backends; do
	runtap "stress-tsan-$b" 300 env PIDSHIM_BACKEND=$b STRESS_CHILD=$tsan/stress-child \
		$wrap "$tsan/pidshim-stress" -n $tsan_cycles -T 60
	runtap "stress-tsan-pidreuse-$b" 150 $ns env PIDSHIM_BACKEND=$b \
		STRESS_CHILD=$tsan/stress-child $wrap "$tsan/pidshim-pidreuse" 5
done
for f in "$res"/stress-tsan-*.tap; do
	if grep -q "WARNING: ThreadSanitizer" "$f"; then
		echo "not ok - ThreadSanitizer report in $(basename "$f")" >> "$f"
	fi
done
count "$res"/stress-tsan-*.tap > "$res/stress-tsan.count"

# Figures for the README "Reliability" section.
{
	echo "mode=$mode personality=${pers:-native} seconds=$(( $(date +%s) - t0 ))"
	grep -h '^# figures' "$res"/stress-cycles-*.tap "$res"/stress-faults-*.tap | sed 's/^# figures //'
	for f in "$res"/stress-pidreuse-*.tap; do
		grep -h 'PIDs reused' "$f" | sed 's/^/pidreuse: /'
	done
} > "$res/reliability.txt"

stress/reliability-md.sh "$res" > "$res/reliability.md" 2>/dev/null

for f in "$res"/stress-*.tap; do
	grep -H '^not ok\|^Bail out' "$f"
done
echo "stress: $(cat "$res/stress.count") (passed failed skipped); tsan: $(cat "$res/stress-tsan.count")"
read -r _ f1 _ < "$res/stress.count"
read -r _ f2 _ < "$res/stress-tsan.count"
[ "$f1" -eq 0 ] && [ "$f2" -eq 0 ]
