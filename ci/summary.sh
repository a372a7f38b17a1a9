#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Adds up the per-suite counts that check targets leave in a results
# directory (<suite>.count: "PASSED FAILED SKIPPED") into one table and the
# closing "N passed, N failed, N skipped" line.  A check target that failed
# without counting its failure (ci/run-target.sh lists it in
# failed-targets) counts as one failure.
# Exit status: 0 only when nothing failed.
set -u
dir=${1:?usage: summary.sh RESULTS_DIR}
tp=0 tf=0 ts=0
printf '\n%-34s %7s %7s %7s\n' suite passed failed skipped
for f in "$dir"/*.count; do
	[ -e "$f" ] || continue
	read -r p fl s < "$f" || true
	p=${p:-0} fl=${fl:-0} s=${s:-0}
	printf '%-34s %7s %7s %7s\n' "$(basename "$f" .count)" "$p" "$fl" "$s"
	tp=$((tp + p)) tf=$((tf + fl)) ts=$((ts + s))
done
if [ -s "$dir/failed-targets" ]; then
	while read -r t; do
		printf '%-34s %7s %7s %7s   (target failed)\n' "$t" 0 1 0
		tf=$((tf + 1))
	done < "$dir/failed-targets"
fi
# The kernel personality matrix (check-personalities), again at the end.
rows=$dir/personalities/matrix.rows
if [ -s "$rows" ]; then
	printf '\n%-15s %-11s %-11s %7s %7s %7s\n' personality expected selected passed failed skipped
	while read -r p expect got pass fail skip _; do
		mark=
		[ "$got" = "$expect" ] || mark="  <- wrong backend"
		printf '%-15s %-11s %-11s %7s %7s %7s%s\n' "$p" "$expect" "$got" "$pass" "$fail" "$skip" "$mark"
	done < "$rows"
fi
# What failed, by name, next to the total: a CI log is often read from
# its end only.
if [ "$tf" -ne 0 ]; then
	echo
	echo "failed:"
	grep -rh --include='*.tap' '^[[:space:]]*not ok' "$dir" 2>/dev/null |
		sed 's/^[[:space:]]*/  /' | sort -u | head -n 30
fi
echo
echo "$tp passed, $tf failed, $ts skipped"
[ "$tf" -eq 0 ]
