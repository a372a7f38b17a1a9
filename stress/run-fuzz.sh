#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs each libFuzzer harness for SECONDS, starting from the seed corpus in
# stress/corpus/<name>/ (read only: new inputs go to BUILD/fuzz-corpus/),
# and writes suite "fuzz": one pass per harness that ran clean, one
# failure per harness that crashed (the reproducer is kept in
# BUILD/fuzz-artifacts/ and printed).  Execution counts go to the TAP
# and to BUILD/results/reliability-fuzz.txt.
# usage: run-fuzz.sh BUILD SECONDS FUZZER...
set -u
build=${1:?usage: run-fuzz.sh BUILD SECONDS FUZZER...}
secs=${2:?usage: run-fuzz.sh BUILD SECONDS FUZZER...}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
res=$build/results
mkdir -p "$res" "$build/fuzz-artifacts"
tap=$res/fuzz.tap
: > "$tap"
: > "$res/reliability-fuzz.txt"
# One harness per core at a time (each is single-threaded): the same
# SECONDS each, in half the wall time on 2 cores.
jobs=$(nproc 2>/dev/null || echo 1)
run_one() {
	name=$(basename "$1" | sed 's/^fuzz-//')
	work=$build/fuzz-corpus/$name
	mkdir -p "$work"
	"$1" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
		-artifact_prefix="$build/fuzz-artifacts/$name-" "$work" "$here/corpus/$name" \
		> "$build/fuzz-artifacts/$name.log" 2>&1
	echo $? > "$build/fuzz-artifacts/$name.rc"
}
i=0
for f in "$@"; do
	run_one "$f" &
	i=$((i + 1))
	[ $((i % jobs)) -eq 0 ] && wait
done
wait
n=0 pass=0 fail=0 total=0
for f in "$@"; do
	name=$(basename "$f" | sed 's/^fuzz-//')
	log=$build/fuzz-artifacts/$name.log
	n=$((n + 1))
	rc=$(cat "$build/fuzz-artifacts/$name.rc" 2>/dev/null || echo 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	execs=${execs:-0}
	total=$((total + execs))
	echo "fuzz-$name executions=$execs seconds=$secs" >> "$res/reliability-fuzz.txt"
	if [ "$rc" -eq 0 ] && [ "$execs" -gt 0 ]; then
		pass=$((pass + 1))
		echo "ok $n - fuzz-$name: $execs executions in ${secs}s, no crash" >> "$tap"
	else
		fail=$((fail + 1))
		echo "not ok $n - fuzz-$name: exit $rc after $execs executions" >> "$tap"
		grep -E '^(pidshim_|parse_|signal |==[0-9]+==ERROR|SUMMARY)|Test unit written' "$log" |
			head -5 | sed 's/^/# /' >> "$tap"
	fi
done
echo "1..$n" >> "$tap"
echo "fuzz-total executions=$total" >> "$res/reliability-fuzz.txt"
echo "$pass $fail 0" > "$res/fuzz.count"
cat "$tap"
[ $fail -eq 0 ]
