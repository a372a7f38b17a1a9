#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Distro QA on the running kernel: the default command of the Docker image.
# Runs exactly one column of the kernel matrix (ci/kernel-suite.sh, judged
# by ci/kernel-report.sh): `pidshim probe --tap` (does the kernel have the
# pidfd features its version claims?), then the static selftests under
# every personality; ends with "N passed, N failed, N skipped".
# Run the image on the kernel under test; add `--security-opt
# seccomp=unconfined` to test the kernel rather than the container
# runtime's seccomp profile (an old Docker profile answers EPERM to
# pidfd_open, which pidshim rightly treats as "no pidfd": native then
# selects signalfd and the native row fails).
#
#   ci/kernel-qa.sh [PERSONALITY...]     (from the top of a built tree)
#
# Environment: BUILD (default build), PIDSHIM_TEST_QUICK (default 0).
# Results: $BUILD/qa/results/kernel-container.{count,tap}.
set -u

here=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-build}
tests=$BUILD/static/selftests
cli=$BUILD/static/pidshim
out=$BUILD/qa
res=$out/results
export PIDSHIM_TEST_QUICK=${PIDSHIM_TEST_QUICK:-0}
rm -rf "$out"
mkdir -p "$res"

if [ ! -x "$cli" ] || [ ! -s "$tests/LIST" ]; then
	echo "kernel-qa: $cli or $tests/LIST missing (make cli-static selftests-static)" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
tests=$(cd "$tests" && pwd)
cli=$(cd "$(dirname "$cli")" && pwd)/pidshim
pers=${*:-$("$cli" emulate --names | tr '\n' ' ')}

echo "kernel-qa: kernel $(uname -r), $(grep -m1 '^Seccomp:' /proc/self/status 2>/dev/null | tr -s '\t' ' ')"
echo "kernel-qa: selftests under: $pers"
# shellcheck disable=SC2086
sh "$here/kernel-suite.sh" "$tests" "$cli" $pers > "$out/container.log" 2>&1
"$here/kernel-report.sh" container "$out/container.log" "$out" "$res" "$pers" > "$out/container.row"

printf '\n%-28s %-15s %-11s %7s %7s %7s  %s\n' release personality backend passed failed skipped note
while read -r _ rel p b np nf ns note; do
	[ "$note" = - ] && note= || note=$(echo "$note" | tr _ ' ')
	printf '%-28s %-15s %-11s %7d %7d %7d  %s\n' "$rel" "$p" "$b" "$np" "$nf" "$ns" "$note"
done < "$out/container.row"
echo
tp=0 tf=0 ts=0
for c in "$res"/*.count; do
	read -r p f s < "$c"
	echo "kernel-qa: $(basename "$c" .count): $p passed, $f failed, $s skipped"
	tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
done
echo "kernel-qa: TAP, logs and the probe JSON in $out"
echo "$tp passed, $tf failed, $ts skipped"
[ "$tf" -eq 0 ]
