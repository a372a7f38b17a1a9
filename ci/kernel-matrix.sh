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
# The arm64 column is a second `pidshim matrix --arch aarch64` run after
# the amd64 one (its guest needs other binaries): Debian's cloud-arm64
# kernel of the suite KM_ARM64 (fetched and cached by kernel-fetch.sh),
# qemu-system-aarch64 -M virt under TCG, busybox-static:arm64 and the
# aarch64 static selftests, personality checks and pidshim
# (ci/guest-libexec.sh, built in $BUILD/abi/aarch64).  Both reports are
# merged into one before the table.
#
# Environment (all optional):
#   BUILD              build dir (default build): $BUILD/pidshim with its
#                      $BUILD/libexec/pidshim, the static selftests in
#                      $BUILD/static/selftests (LIST, helper, binaries)
#   KERNEL_SUITES      Debian suites to test (default: bullseye bookworm
#                      trixie sid; empty: none)
#   KERNELS            more kernel images: "PATH" or "NAME=PATH", blank-separated
#   KM_HOST            1 (default): add the host kernel; 0: don't
#   KM_ARM64           the Debian suite of the arm64 column (default
#                      bookworm; empty: no arm64 column)
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
rm -f "$out"/report*.json
# The counts of the columns this run makes (not of others: the arm64
# column can run as a make kernel-matrix of its own beside the rest).
arm64=${KM_ARM64-bookworm}
host=
[ "${KM_HOST:-1}" = 1 ] && host=host
for n in $suites ${arm64:+arm64} $host; do
	rm -f "$res/kernel-$n.count" "$res/kernel-$n.tap"
done
for k in ${KERNELS:-}; do
	case $k in *=*) n=${k%%=*} ;; *) n=$(basename "$k"); n=${n#vmlinuz-} ;; esac
	rm -f "$res/kernel-$n.count" "$res/kernel-$n.tap"
done

common=
for p in ${KM_PERSONALITIES:-all}; do common="$common --personality $p"; done
for v in PIDSHIM_TEST_QUICK=${PIDSHIM_TEST_QUICK:-1} KM_TEST_TIMEOUT=${KM_TEST_TIMEOUT:-150} \
	${KM_TEST_SLOW:+KM_TEST_SLOW=$KM_TEST_SLOW} ${KM_HOST_SLOW:+KM_HOST_SLOW=$KM_HOST_SLOW}; do
	common="$common --env $v"
done

# matrix ARCH SELFTESTS REPORT KERNEL-ARGS...: one `pidshim matrix` run
# of the selftests in SELFTESTS (stripped copies go into the guest: debug
# info only slows an emulated guest down); 1 when it could not run.
matrix() {
	arch=$1 tests=$2 report=$3
	shift 3
	rm -rf "$out/selftests"
	cp -R "$tests" "$out/selftests"
	case $arch in
	x86_64) strip --strip-debug "$out/selftests"/* 2>/dev/null || true ;;
	aarch64)
		aarch64-linux-gnu-strip --strip-debug "$out/selftests"/* \
			"$out/selftests"/personality/* 2>/dev/null || true
		# Another architecture's column also runs the personality
		# checks (each filter rule answers as the kernel it stands
		# for, SIGSYS, forced backends): `make check-personalities`
		# runs them for the host's architecture only, and qemu-user
		# has no seccomp to run them under.
		sed 's|^|personality/|' "$tests/personality/LIST" >> "$out/selftests/LIST" ;;
	esac
	# shellcheck disable=SC2086 # options without blanks
	set -- --arch "$arch" "$@" $common
	echo "kernel-matrix: pidshim matrix $*"
	rc=0
	"$BUILD/pidshim" matrix --json --probe "$@" --jobs "${KM_JOBS:-2}" \
		--timeout "${KM_BOOT_TIMEOUT:-600}" --accel "${KM_ACCEL:-auto}" \
		--memory "${KM_MEM:-512}" --log-dir "$out" --file "$out/selftests" \
		-- "$here/kernel-tests.sh" selftests > "$report" || rc=$?
	if [ "$rc" -gt 1 ] || ! jq -e .cells "$report" > /dev/null 2>&1; then
		echo "kernel-matrix: pidshim matrix --arch $arch could not run (exit $rc)" >&2
		return 1
	fi
}

# A column that could not even start: one failure, with the reason.
lost_column() {
	echo "kernel-matrix: $1: $2" >&2
	printf 'TAP version 13\n1..1\nnot ok 1 - %s: %s\n' "$1" "$2" > "$res/kernel-$1.tap"
	echo "0 1 0" > "$res/kernel-$1.count"
	lost="$lost $1"
}

set --
columns=
for s in $suites; do set -- "$@" --kernel "$s"; columns="$columns $s"; done
for k in ${KERNELS:-}; do set -- "$@" --kernel "$k"; done
if [ -n "$host" ]; then set -- "$@" --kernel host; fi
reports=
lost=
if [ $# -gt 0 ]; then
	matrix x86_64 "$BUILD/static/selftests" "$out/report-x86_64.json" "$@" || exit 1
	reports="$out/report-x86_64.json"
fi

if [ -n "$arm64" ]; then
	t_arm64=$(date +%s)
	# The guest's libexec: the scripts, the aarch64 pidshim and busybox.
	if ! lx=$("$here/guest-libexec.sh" aarch64 "$BUILD" "$out/libexec-aarch64"); then
		lost_column arm64 "no aarch64 static build or arm64 busybox (ci/guest-libexec.sh)"
	elif ! kimg=$(PIDSHIM_KERNEL_ARCH=arm64 "$here/kernel-fetch.sh" "$arm64" 2> "$out/fetch-arm64.log"); then
		lost_column arm64 "no $arm64 cloud-arm64 kernel (log: $out/fetch-arm64.log)"
	else
		PIDSHIM_LIBEXECDIR=$lx
		export PIDSHIM_LIBEXECDIR
		if matrix aarch64 "$BUILD/abi/aarch64/static/selftests" "$out/report-aarch64.json" \
			--kernel "arm64=$kimg"; then
			reports="$reports $out/report-aarch64.json"
		else
			lost_column arm64 "pidshim matrix --arch aarch64 could not run"
		fi
		unset PIDSHIM_LIBEXECDIR
	fi
	echo "kernel-matrix: arm64 column ($arm64) took $(($(date +%s) - t_arm64))s"
fi
[ -n "$reports" ] || [ -n "$lost" ] || { echo "kernel-matrix: no kernel to test" >&2; exit 1; }
# One report for the table: the runs' kernels and cells side by side.
# shellcheck disable=SC2086 # paths without blanks
jq -n '[inputs] | {arch: (map(.arch) | join(" ")), test: (.[0].test // []),
	kernels: (map(.kernels) | add // []), cells: (map(.cells) | add // [])}' \
	$reports < /dev/null > "$out/report.json"

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
[ -z "$order" ] || "$here/kernel-table.sh" "$out/report.json" "$out" "$res" kernel- $order || true
tp=0 tf=0 ts=0
for n in $order $lost; do
	read -r p f s < "$res/kernel-$n.count"
	tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
done
echo "kernel-matrix: total $(($(date +%s) - t_start))s; logs, probes and tables in $out"
echo "matrix: $tp passed, $tf failed, $ts skipped"
[ "$tf" -eq 0 ]
