#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Turns the `pidshim matrix --json` report of the selftests
# (ci/kernel-tests.sh) into the kernel matrix's own outputs: one row per
# kernel x personality (backend selected, passed, failed, skipped, note)
# as OUT/table.txt and the grid OUT/table.md the README shows, and per
# kernel RES/<prefix><kernel>.count ("PASSED FAILED SKIPPED", summed by
# ci/summary.sh) and .tap.  Besides the selftests' own results, each cell
# counts one test for the backend the personality selects (checked
# against kernel-tests.sh --expected-backend), and each kernel one for
# running to the end; a cell that failed without a failed result of its
# own (hung, crashed, not run, no kernel) counts as one failure.
#
#   kernel-table.sh REPORT.json OUT RES PREFIX [KERNEL...]
# KERNEL...: the column order (default: the report's).  Prints the table
# and one count line per kernel; exit 1 if anything failed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
json=$1 out=$2 res=$3 prefix=$4
shift 4
# shellcheck disable=SC2046 # kernel names have no blanks
[ $# -gt 0 ] || set -- $(jq -r '.kernels[].name' "$json")
mkdir -p "$out" "$res"

expect=
for p in $(jq -r '[.cells[].personality] | unique | .[]' "$json"); do
	expect="$expect $p=$("$here/kernel-tests.sh" --expected-backend "$p")"
done

# NAME RELEASE PERSONALITY BACKEND PASSED FAILED SKIPPED NOTE, one a cell.
jq -r '. as $r | $ARGS.positional[] as $n | $r.kernels[] | select(.name == $n) as $k |
	$r.cells[] | select(.kernel == $n) |
	[.kernel, (.release // "?"), .personality, (.backend // "-"), .status,
	 (.tap.passed // 0), (.tap.failed // 0), (.tap.skipped // 0),
	 ((.note // "-") | gsub("[ \t]"; "_")), $k.status] | @tsv' "$json" --args "$@" |
	awk -F '\t' -v expect="$expect" -v res="$res" -v prefix="$prefix" '
BEGIN {
	n = split(expect, e, " ")
	for (i = 1; i <= n; i++) { split(e[i], kv, "="); want[kv[1]] = kv[2] }
}
{
	k = $1; pers = $3; b = $4; st = $5; p = $6; f = $7; s = $8; note = $9
	note = (note == "-") ? "" : note
	if (!(k in seen)) { seen[k] = 1; order[++nk] = k; done[k] = ($10 == "done") }
	ran = (st == "passed" || st == "skipped" || b != "-")
	if (pers != "probe" && ran) {
		if (b == want[pers]) { p++; tap[k] = tap[k] "ok - " pers " selects " b "\n" }
		else {
			f++; tap[k] = tap[k] "not ok - " pers " selects " b " # expected " want[pers] "\n"
			note = note (note != "" ? ";_" : "") "backend_" b ",_expected_" want[pers]
		}
	}
	if (st != "passed" && st != "skipped" && $7 == 0) {
		f++
		note = note (note != "" ? ";_" : "") st
	}
	tap[k] = tap[k] (st == "passed" || st == "skipped" ? "ok" : "not ok") " - " pers ": " st \
		" (" p " passed, " f " failed, " s " skipped)\n"
	P[k] += p; F[k] += f; S[k] += s
	printf "%s %s %s %s %d %d %d %s\n", k, $2, pers, b, p, f, s, (note == "" ? "-" : note)
}
END {
	for (i = 1; i <= nk; i++) {
		k = order[i]
		tap[k] = tap[k] (done[k] ? "ok" : "not ok") " - " k " ran to the end\n"
		P[k] += done[k]; F[k] += !done[k]
		nt = split(tap[k], lines, "\n") - 1
		printf "TAP version 13\n1..%d\n", nt > (res "/" prefix k ".tap")
		for (j = 1; j <= nt; j++) {
			sub(/^(ok|not ok) /, "&" j " ", lines[j])
			print lines[j] > (res "/" prefix k ".tap")
		}
		printf "%d %d %d\n", P[k], F[k], S[k] > (res "/" prefix k ".count")
	}
}' > "$out/rows"

printf '%-10s %-28s %-15s %-11s %7s %7s %7s  %s\n' kernel release personality backend \
	passed failed skipped note > "$out/table.txt"
while read -r k rel p b np nf ns note; do
	[ "$note" = - ] && note= || note=$(echo "$note" | tr _ ' ')
	printf '%-10s %-28s %-15s %-11s %7d %7d %7d  %s\n' "$k" "$rel" "$p" "$b" "$np" "$nf" "$ns" "$note"
done < "$out/rows" >> "$out/table.txt"
# The grid for documents: a row per personality, a column per kernel, each
# cell "backend passed/failed/skipped".
awk '
{
	if (!($1 in seen)) { seen[$1] = 1; k[++nk] = $1; rel[$1] = $2 }
	if (!($3 in pseen)) { pseen[$3] = 1; p[++np] = $3 }
	cell[$1, $3] = ($4 == "-" ? "" : $4 " ") $5 "/" $6 "/" $7
}
END {
	printf "| personality |"
	for (i = 1; i <= nk; i++) printf " %s %s |", k[i], rel[k[i]]
	printf "\n|---|"
	for (i = 1; i <= nk; i++) printf "---|"
	printf "\n"
	for (j = 1; j <= np; j++) {
		printf "| %s |", p[j]
		for (i = 1; i <= nk; i++) printf " %s |", ((k[i], p[j]) in cell ? cell[k[i], p[j]] : "-")
		printf "\n"
	}
}' "$out/rows" > "$out/table.md"
cat "$out/table.txt"
echo
tf=0
for k in "$@"; do
	read -r p f s < "$res/$prefix$k.count"
	secs=$(jq -r --arg k "$k" '.kernels[] | select(.name == $k) | .seconds' "$json")
	printf '%-10s %5d passed %3d failed %4d skipped  %4ss\n' "$k" "$p" "$f" "$s" "$secs"
	tf=$((tf + f))
done
[ "$tf" -eq 0 ]
