#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Distro QA on the running kernel: the default command of the Docker image.
# Runs exactly one column of the kernel matrix, the "host" kernel of
# `pidshim matrix` (ci/kernel-tests.sh, counted by ci/kernel-table.sh):
# `pidshim probe --tap` (does the kernel have the pidfd features its
# version claims?), then the static selftests under every personality;
# ends with "N passed, N failed, N skipped".
# Run the image on the kernel under test; add `--security-opt
# seccomp=unconfined` to test the kernel rather than the container
# runtime's seccomp profile (an old Docker profile answers EPERM to
# pidfd_open, which pidshim rightly treats as "no pidfd": native then
# selects signalfd and the native row fails).
#
#   ci/kernel-qa.sh [PERSONALITY...]     (from the top of a built tree)
#
# Environment: BUILD (default build), PIDSHIM_TEST_QUICK (default 0).
# Results: $BUILD/qa/results/kernel-host.{count,tap}, logs in $BUILD/qa/host/.
set -u

here=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-build}
tests=$BUILD/static/selftests
cli=$BUILD/pidshim
out=$BUILD/qa
res=$out/results
export PIDSHIM_TEST_QUICK="${PIDSHIM_TEST_QUICK:-0}"
rm -rf "$out"
mkdir -p "$res"

if [ ! -x "$cli" ] || [ ! -s "$tests/LIST" ]; then
	echo "kernel-qa: $cli or $tests/LIST missing (make, make selftests-static)" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
pers=${*:-all}
set --
for p in $pers; do set -- "$@" --personality "$p"; done

echo "kernel-qa: kernel $(uname -r), $(grep -m1 '^Seccomp:' /proc/self/status 2>/dev/null | tr -s '\t' ' ')"
"$cli" matrix --json --probe --kernel host "$@" --log-dir "$out" --file "$tests" \
	--env "PIDSHIM_TEST_QUICK=$PIDSHIM_TEST_QUICK" -- "$here/kernel-tests.sh" selftests \
	> "$out/report.json"
echo
"$here/kernel-table.sh" "$out/report.json" "$out" "$res" kernel- || true
tp=0 tf=0 ts=0
for c in "$res"/*.count; do
	read -r p f s < "$c"
	tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
done
[ -e "$c" ] || tf=1
echo "kernel-qa: TAP, logs and the probe JSON in $out"
echo "$tp passed, $tf failed, $ts skipped"
[ "$tf" -eq 0 ]
