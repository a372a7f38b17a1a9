#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs the personality matrix: for every personality `pidshim emulate
# --names` lists, the complete C selftest suite under it (through
# selftests/run-suite.sh, with PIDSHIM_EXPECT_BACKEND set to the backend
# the personality must select), the backend the library really selects
# (asked of a real process under the filter), and the personality-specific
# checks of this directory.  Each personality's counts are written as suite
# personality-NAME (.count and a flat .tap); the whole matrix goes to
# personalities.tap as one test per personality with its results as an
# indented subtest; one table is printed at the end.
#
#   check-matrix.sh BINDIR RESULTS_DIR
# Env: PIDSHIM (the pidshim binary), PERSONALITIES (subset, default all),
#      PERSONALITY_QUICK (1: PIDSHIM_TEST_QUICK=1 for the non-native
#      suites; 0: full everywhere; empty: the default below), TAP=1 prints
#      the matrix TAP stream, PERSONALITY_TIMEOUT (seconds per suite run).
# Exit status: 0 when nothing failed.
set -u

bindir=${1:?usage: check-matrix.sh BINDIR RESULTS_DIR}
results=${2:?usage: check-matrix.sh BINDIR RESULTS_DIR}
pidshim=${PIDSHIM:-build/pidshim}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# A hung binary is killed by run-suite.sh after PIDSHIM_SUITE_TIMEOUT
# seconds (its default, 1200, is for valgrind; the suite takes ~1 min
# natively); the whole run is bounded too.
suite_timeout=${PERSONALITY_TIMEOUT:-1200}
: "${PIDSHIM_SUITE_TIMEOUT:=300}"
export PIDSHIM_SUITE_TIMEOUT
# The native suite always runs in full.  The other eight run it quick by
# default: the native run already runs every test on all three backends
# (forced), so the heavy loops (1000 children, 8x200 spawns) say nothing
# more under a filter; what a personality adds is the probe, the backend
# it selects and the backends it refuses.  Measured on 2 shared cores: the
# whole matrix takes ~100 s quick and ~180 s full.  PERSONALITY_QUICK=0
# runs all nine in full.
quick=${PERSONALITY_QUICK:-1}

case $pidshim in /*) ;; *) pidshim=$(pwd)/$pidshim ;; esac
case $bindir in /*) ;; *) bindir=$(pwd)/$bindir ;; esac
case $results in /*) ;; *) results=$(pwd)/$results ;; esac
if [ ! -x "$pidshim" ]; then
	echo "check-matrix: $pidshim not built" >&2
	exit 1
fi
names=${PERSONALITIES:-$("$pidshim" emulate --names)}
stage=$results/personalities
rm -rf "$stage" && mkdir -p "$stage"
matrix_tap=$results/personalities.tap
matrix_rows=$stage/matrix.rows
: > "$matrix_rows"

# tap_count FILE -> "PASSED FAILED SKIPPED" of the top-level result lines.
tap_count() {
	awk '
	/^(not ok|ok)([ \t]|$)/ {
		if ($1 == "not") f++
		else if ($0 ~ /#[ \t]*[Ss][Kk][Ii][Pp]/) s++
		else p++
	}
	END { printf "%d %d %d\n", p, f, s }' "$1"
}

# tap_plan_ok FILE: the plan line matches the number of results.
tap_plan_ok() {
	awk '
	/^1\.\.[0-9]+/ { split($0, a, /\.\./); plan = a[2] + 0; seen = 1 }
	/^(not ok|ok)([ \t]|$)/ { n++ }
	END { exit !(seen && n == plan) }' "$1"
}

# flatten PREFIX FILE: renumber-ready "ok - PREFIX: desc" lines, comments
# kept.  The kselftest harness prints a skipped test as "ok N # SKIP why"
# without its name: take the name from the "#  RUN  name ..." line before.
flatten() {
	awk -v pre="$1" '
	/^#  RUN / { run = $3 }
	/^(not ok|ok)([ \t]|$)/ {
		st = ($1 == "not") ? "not ok" : "ok"
		line = $0
		sub(/^(not ok|ok)[ \t]*[0-9]*[ \t]*(-[ \t]*)?/, "", line)
		if (line ~ /^#/ && run != "")
			line = run " " line
		print st " - " pre ": " line
		run = ""
		next
	}
	/^#/ { print; next }
	/^[ \t]+#/ { sub(/^[ \t]+/, ""); print }' "$2"
}

# run_tap PREFIX TAPFILE CMD...: run a TAP program, append its results to
# the personality's flat stream; a crash, timeout or short plan counts as
# one more failure.
run_tap() {
	prefix=$1 out=$2
	shift 2
	timeout -k 5 120 "$@" > "$out" 2> "$out.err"
	rc=$?
	flatten "$prefix" "$out" >> "$flat"
	if [ $rc -ne 0 ] && ! grep -q '^not ok' "$out"; then
		echo "not ok - $prefix: exited with status $rc without a failing test" >> "$flat"
		sed 's/^/# /' "$out.err" >> "$flat"
	elif ! tap_plan_ok "$out"; then
		echo "not ok - $prefix: TAP plan does not match its results" >> "$flat"
	fi
}

total_fail=0
for p in $names; do
	d=$stage/$p
	mkdir -p "$d"
	flat=$d/flat
	: > "$flat"
	start=$(date +%s)
	if ! expect=$("$pidshim" emulate --expected-backend "$p"); then
		echo "not ok - unknown personality $p" >> "$flat"
		expect=none
	fi

	# 1. The backend the library selects in a process under the filter.
	got=$(env -u PIDSHIM_BACKEND "$pidshim" emulate "$p" -- "$bindir/backend" 2>&1)
	if [ "$got" = "$expect" ]; then
		echo "ok - backend: $p selects $got" >> "$flat"
	else
		echo "not ok - backend: $p selects $got, want $expect" >> "$flat"
	fi

	# 2. The complete selftest suite under the personality.
	suite_counts="0 0 0"
	q=$quick
	[ "$p" = native ] && q=0
	if [ -r "$top/selftests/run-suite.sh" ]; then
		mkdir -p "$d/suite"
		(
			cd "$top" || exit 1
			export PIDSHIM_EXPECT_BACKEND="$expect"
			unset PIDSHIM_BACKEND
			if [ "$q" = 1 ]; then export PIDSHIM_TEST_QUICK=1; fi
			timeout -k 10 "$suite_timeout" sh selftests/run-suite.sh "personality-$p" \
				"$d/suite" "$pidshim" emulate "$p" --
		) > "$d/suite.log" 2>&1
		src=$?
		if [ -s "$d/suite/personality-$p.count" ]; then
			read -r sp sf ss < "$d/suite/personality-$p.count"
			suite_counts="${sp:-0} ${sf:-0} ${ss:-0}"
			if [ -s "$d/suite/personality-$p.tap" ]; then
				flatten suite "$d/suite/personality-$p.tap" > "$d/suite.flat"
			fi
			# The extra failures below are counted through $flat.
			if [ "${sf:-0}" -eq 0 ] && [ $src -ne 0 ]; then
				echo "not ok - suite: run-suite.sh exited $src with no failure counted" \
					>> "$flat"
			fi
		else
			echo "not ok - suite: run-suite.sh left no counts (exit $src)" >> "$flat"
			tail -n 20 "$d/suite.log" | sed 's/^/# /' >> "$flat"
		fi
	else
		echo "not ok - suite: selftests/run-suite.sh is missing" >> "$flat"
	fi

	# 3. Personality-specific checks.
	for t in facts sigsys emfile; do
		run_tap "$t" "$d/$t.tap" env -u PIDSHIM_BACKEND \
			"$pidshim" emulate "$p" -- "$bindir/$t" "$p"
	done
	# emulate itself where seccomp is refused: once, with the native row.
	if [ "$p" = native ]; then
		run_tap emulate "$d/emulate-errors.tap" "$bindir/emulate-errors" "$pidshim"
	fi
	# forced sets PIDSHIM_BACKEND to each backend in turn itself.
	run_tap forced "$d/forced.tap" env -u PIDSHIM_BACKEND \
		"$pidshim" emulate "$p" -- "$bindir/forced" "$p"

	# Counts: the suite's own count file plus our flat results.
	read -r fp ff fs <<EOF
$(tap_count "$flat")
EOF
	read -r sp sf ss <<EOF
$suite_counts
EOF
	pass=$((fp + sp)) fail=$((ff + sf)) skip=$((fs + ss))
	echo "$pass $fail $skip" > "$results/personality-$p.count"
	{
		echo "TAP version 13"
		cat "$flat" "$d/suite.flat" 2>/dev/null | awk '
			/^(not ok|ok) - / {
				st = ($1 == "not") ? "not ok" : "ok"
				rest = substr($0, index($0, " - ") + 3)
				print st " " ++n " - " rest
				next
			}
			{ print }
			END { print "1.." n }'
	} > "$results/personality-$p.tap"
	secs=$(($(date +%s) - start))
	mode=full
	[ "$q" = 1 ] && mode=quick
	echo "$p $expect ${got%% *} $pass $fail $skip $secs $mode" >> "$matrix_rows"
	printf 'personality %-15s backend %-11s %4d passed %3d failed %4d skipped  (%ss, suite %s)\n' \
		"$p" "${got%% *}" "$pass" "$fail" "$skip" "$secs" "$mode"
	grep '^not ok' "$results/personality-$p.tap" | sed 's/^/    /'
	total_fail=$((total_fail + fail))
done

# The matrix as TAP: one test per personality, its results as a subtest.
{
	echo "TAP version 13"
	echo "1..$(wc -l < "$matrix_rows" | tr -d ' ')"
	i=0
	while read -r p expect got pass fail skip secs mode; do
		i=$((i + 1))
		sed 's/^/    /' "$results/personality-$p.tap"
		st=ok
		[ "$fail" -ne 0 ] && st="not ok"
		echo "$st $i - personality $p: backend $got (expected $expect)," \
			"$pass passed, $fail failed, $skip skipped, suite $mode, ${secs}s"
	done < "$matrix_rows"
} > "$matrix_tap"

echo
printf '%-15s %-11s %-11s %7s %7s %7s %6s  %s\n' personality expected selected \
	passed failed skipped secs suite
while read -r p expect got pass fail skip secs mode; do
	mark=
	[ "$got" != "$expect" ] && mark="  <- wrong backend"
	printf '%-15s %-11s %-11s %7s %7s %7s %6s  %s%s\n' "$p" "$expect" "$got" \
		"$pass" "$fail" "$skip" "$secs" "$mode" "$mark"
done < "$matrix_rows"
echo "matrix TAP: $matrix_tap"
if [ "${TAP:-}" = 1 ]; then
	cat "$matrix_tap"
fi
if [ "$total_fail" -ne 0 ]; then
	echo "check-personalities: failures; see $results/personality-*.tap" >&2
	exit 1
fi
exit 0
