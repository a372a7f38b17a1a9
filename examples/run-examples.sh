#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs every event-loop example under each backend (PIDSHIM_BACKEND=pidfd,
# pidfd-poll, signalfd) and under the 4.19, 5.3 and android-sigsys kernel
# personalities (`$BUILD/pidshim emulate`), where the example must also
# report the backend the personality implies.  Writes $BUILD/results/examples.count
# ("PASSED FAILED SKIPPED") and examples.tap; exits 1 if anything failed.
# An example exits 77 when the kernel lacks a forced backend; that is a
# skip it names itself.
#   usage: run-examples.sh BUILD EXAMPLE...
set -u
build=${1:?usage: run-examples.sh BUILD EXAMPLE...}
shift
res=$build/results
mkdir -p "$res"
tap=$res/examples.tap
log=$res/examples.log
: > "$log"
pass=0 fail=0 skip=0 n=0
lines=

emit() { # status description [directive]
	n=$((n + 1))
	lines="$lines$1 $n - $2${3:+ # $3}
"
}

# run NAME EXPECT_BACKEND CMD...: one example run, judged by exit code and,
# when EXPECT_BACKEND is set, by the backend line the example printed.
run() {
	name=$1 want=$2
	shift 2
	out=$(timeout 120 "$@" 2>&1)
	rc=$?
	printf '### %s\n%s\n(rc %s)\n' "$name" "$out" "$rc" >> "$log"
	if [ "$rc" -eq 77 ]; then
		why=$(printf '%s\n' "$out" | sed -n 's/.*SKIP: //p' | head -1)
		echo "SKIP $name: $why"
		emit ok "$name" "SKIP $why"
		skip=$((skip + 1))
	elif [ "$rc" -eq 0 ] && { [ -z "$want" ] ||
		printf '%s\n' "$out" | grep -q ": backend $want\$"; }; then
		echo "PASS $name"
		emit ok "$name"
		pass=$((pass + 1))
	else
		echo "FAIL $name (rc $rc${want:+, expected backend $want})"
		printf '%s\n' "$out" | sed 's/^/    /' | tail -15
		emit "not ok" "$name"
		fail=$((fail + 1))
	fi
}

cli=$build/pidshim
for ex in "$@"; do
	e=$(basename "$ex")
	for b in pidfd pidfd-poll signalfd; do
		run "$e backend=$b" "$b" env PIDSHIM_BACKEND="$b" "$ex"
	done
	# The personalities fake an older kernel; the probe must follow.
	for p in 4.19:signalfd 5.3:pidfd-poll android-sigsys:signalfd; do
		k=${p%%:*} want=${p#*:}
		if [ -x "$cli" ]; then
			run "$e emulate $k" "$want" env -u PIDSHIM_BACKEND "$cli" emulate "$k" -- "$ex"
		else
			echo "SKIP $e emulate $k: $cli not built (the CLI provides 'pidshim emulate')"
			emit ok "$e emulate $k" "SKIP $cli not built"
			skip=$((skip + 1))
		fi
	done
done

{
	echo "TAP version 13"
	echo "1..$n"
	printf '%s' "$lines"
} > "$tap"
echo "$pass $fail $skip" > "$res/examples.count"
echo "examples: pass $pass, fail $fail, skip $skip (log: $log)"
[ "$fail" -eq 0 ]
