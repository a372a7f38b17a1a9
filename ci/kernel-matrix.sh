#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The kernel matrix: the static selftests under every kernel personality on
# real Debian kernels booted with qemu, and on the host kernel, as one
# table kernel x personality -> backend selected, passed, failed, skipped.
# It is a user of `pidshim matrix`, like any project testing its own
# program on many kernels: the test is ci/kernel-tests.sh with the static
# selftests beside it, --probe adds the `pidshim probe --tap` row, and
# ci/kernel-table.sh turns the JSON report into the table, the README grid
# and the counts.  A hung or crashed guest counts as failed; its console
# log and one log per cell stay in $BUILD/kernel-matrix/<kernel>/.
#
# Environment (all optional):
#   BUILD              build dir (default build): $BUILD/pidshim with its
#                      $BUILD/libexec/pidshim, the static selftests in
#                      $BUILD/static/selftests (LIST, helper, binaries)
#   KERNEL_SUITES      Debian suites to test (default: bullseye bookworm
#                      trixie sid; empty: none)
#   KERNELS            more kernel images: "PATH" or "NAME=PATH", blank-separated
#   KM_HOST            1 (default): add the host kernel; 0: don't
#   KM_PERSONALITIES   personalities (default: all)
#   KM_JOBS            guests booted at once (default 2)
#   KM_BOOT_TIMEOUT    seconds one kernel may take, boot included (default 600)
#   KM_TEST_TIMEOUT    seconds one test binary may run (default 150)
#   KM_ACCEL           auto (default: KVM when it works), kvm, tcg
#   KM_MEM             guest memory in MiB (default 512)
#   PIDSHIM_TEST_QUICK passed to the tests (default 1: TCG is slow)
#   KM_TEST_SLOW, KM_HOST_SLOW  see ci/kernel-tests.sh
# Results: $BUILD/results/kernel-<name>.{count,tap}; exit 1 if any failed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-build}
suites=${KERNEL_SUITES-bullseye bookworm trixie sid}
out=$BUILD/kernel-matrix
res=$BUILD/results
t_start=$(date +%s)

[ -x "$BUILD/pidshim" ] || { echo "kernel-matrix: $BUILD/pidshim missing (make)" >&2; exit 1; }
[ -s "$BUILD/static/selftests/LIST" ] ||
	{ echo "kernel-matrix: selftests missing (make selftests-static)" >&2; exit 1; }
mkdir -p "$out" "$res"
rm -f "$res"/kernel-*.count "$res"/kernel-*.tap

set --
columns=
for s in $suites; do set -- "$@" --kernel "$s"; columns="$columns $s"; done
for k in ${KERNELS:-}; do set -- "$@" --kernel "$k"; done
if [ "${KM_HOST:-1}" = 1 ]; then set -- "$@" --kernel host; fi
for p in ${KM_PERSONALITIES:-all}; do set -- "$@" --personality "$p"; done
for v in PIDSHIM_TEST_QUICK=${PIDSHIM_TEST_QUICK:-1} KM_TEST_TIMEOUT=${KM_TEST_TIMEOUT:-150} \
	${KM_TEST_SLOW:+KM_TEST_SLOW=$KM_TEST_SLOW} ${KM_HOST_SLOW:+KM_HOST_SLOW=$KM_HOST_SLOW}; do
	set -- "$@" --env "$v"
done

# Debug info only slows an emulated guest down: hand over stripped copies.
rm -rf "$out/selftests"
cp -R "$BUILD/static/selftests" "$out/selftests"
strip --strip-debug "$out/selftests"/* 2>/dev/null || true

echo "kernel-matrix: pidshim matrix $*"
rc=0
"$BUILD/pidshim" matrix --json --probe "$@" --jobs "${KM_JOBS:-2}" \
	--timeout "${KM_BOOT_TIMEOUT:-600}" --accel "${KM_ACCEL:-auto}" --memory "${KM_MEM:-512}" \
	--log-dir "$out" --file "$out/selftests" \
	-- "$here/kernel-tests.sh" selftests > "$out/report.json" || rc=$?
if [ "$rc" -gt 1 ] || ! jq -e .cells "$out/report.json" > /dev/null 2>&1; then
	echo "kernel-matrix: pidshim matrix could not run (exit $rc)" >&2
	exit 1
fi

# Columns: the suites, the other images, the host, in the order given.
names=$(jq -r '.kernels[].name' "$out/report.json" | tr '\n' ' ')
order=
for n in $columns; do order="$order $n"; done
for n in $names; do
	case " $order " in *" $n "*) ;; *) [ "$n" = host ] || order="$order $n" ;; esac
done
case " $names " in *" host "*) order="$order host" ;; esac
echo
# shellcheck disable=SC2086 # names have no blanks
"$here/kernel-table.sh" "$out/report.json" "$out" "$res" kernel- $order || true
tp=0 tf=0 ts=0
for n in $order; do
	read -r p f s < "$res/kernel-$n.count"
	tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
done
echo "kernel-matrix: total $(($(date +%s) - t_start))s; logs, probes and tables in $out"
echo "matrix: $tp passed, $tf failed, $ts skipped"
[ "$tf" -eq 0 ]
