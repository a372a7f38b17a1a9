#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs one check target for `make check` and records it in the results
# directory.  A target that fails must show up as a failure exactly once:
# if it left no new .count file, or only counts with no failure in them (a
# crash after writing them, a build error), it is listed in failed-targets
# and ci/summary.sh counts it as one failed test; if its counts already
# hold the failure, nothing more is added.
#   usage: ci/run-target.sh RESULTS_DIR TARGET [MAKE ARGS...]
set -u
res=$1 target=$2
shift 2
mkdir -p "$res"
before=$(ls "$res"/*.count 2>/dev/null | sort)
started=$(date +%s)
${MAKE:-make} --no-print-directory "$@" "$target"
rc=$?
echo "=== $target: exit $rc after $(( $(date +%s) - started ))s"
[ "$rc" -eq 0 ] && exit 0
after=$(ls "$res"/*.count 2>/dev/null | sort)
new=$(printf '%s\n' "$after" | comm -13 /dev/fd/3 - 3<<EOF2
$before
EOF2
)
failed=0
for f in $new; do
	read -r _ fl _ < "$f" || true
	failed=$((failed + ${fl:-0}))
done
[ "$failed" -gt 0 ] || echo "$target" >> "$res/failed-targets"
exit "$rc"
