#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The test `make kernel-matrix` (and the distro-QA image) hands to
# `pidshim matrix`: runs every static selftest binary named in DIR/LIST
# under the personality the cell already applied, and prints their TAP one
# after the other (pidshim matrix adds the plans up).  A binary that exits
# non-zero without a failed result of its own (a crash after its last
# result, a harness error) gets a "not ok" line here, and one that runs
# past KM_TEST_TIMEOUT is killed and gets one too, so no failure goes
# uncounted.  It also holds the one copy of the backend each personality
# must select (pidshim(7) PERSONALITIES), written down apart from the CLI's
# table so that a wrong table in the CLI cannot hide a wrong choice.
#
#   kernel-tests.sh DIR                        (in a cell of pidshim matrix)
#   kernel-tests.sh --expected-backend NAME    the backend NAME must select
#
# Environment: PIDSHIM_MATRIX_CELL and PIDSHIM_MATRIX_ACCEL (from pidshim
# matrix), KM_TEST_TIMEOUT (seconds one binary may run, default 300),
# PIDSHIM_TEST_QUICK (passed on), KM_TEST_SLOW / KM_HOST_SLOW (the
# selftests' PIDSHIM_TEST_SLOW in guests and on the host: default 10 under
# TCG, where the guest clock runs on while the host deschedules the vCPU,
# 1 under KVM, 2 on the host, where the guests slow it down).
set -u

expected_backend() {
	case $1 in
	4.19 | 5.1 | 5.2 | docker-eperm | android-sigsys) echo signalfd ;;
	5.3) echo pidfd-poll ;;
	5.4 | 5.10 | native) echo pidfd ;;
	*) echo unknown ;;
	esac
}

if [ "${1-}" = --expected-backend ]; then
	expected_backend "${2:?usage: kernel-tests.sh --expected-backend NAME}"
	exit 0
fi
dir=$(cd "${1:?usage: kernel-tests.sh DIR}" && pwd) || exit 1
tmo=${KM_TEST_TIMEOUT:-300}
case ${PIDSHIM_MATRIX_ACCEL:-host} in
tcg) slow=${KM_TEST_SLOW:-10} ;;
kvm) slow=${KM_TEST_SLOW:-1} ;;
*) slow=${KM_HOST_SLOW:-2} ;;
esac
# The selftests check the library's choice against it too.
PIDSHIM_EXPECT_BACKEND=$(expected_backend "${PIDSHIM_MATRIX_CELL:-native}")
PIDSHIM_TEST_SLOW=$slow
# Where the selftests find their spawned child (see selftests/run-suite.sh).
PIDSHIM_SELFTEST_DIR=$dir
PIDSHIM_TEST_HELPER=$dir/helper
PATH=$dir:$PATH
export PIDSHIM_EXPECT_BACKEND PIDSHIM_TEST_SLOW PIDSHIM_SELFTEST_DIR PIDSHIM_TEST_HELPER PATH
out=$(mktemp "${TMPDIR:-/tmp}/km-out.XXXXXX") || exit 1
err=$(mktemp "${TMPDIR:-/tmp}/km-err.XXXXXX") || exit 1
trap 'rm -f "$out" "$err"' EXIT

rc_all=0
# shellcheck disable=SC2013 # one name a line, no blanks in names
for t in $(sed -e 's/#.*//' "$dir/LIST" | awk 'NF { print $1 }'); do
	echo "# ---- $t"
	start=$(date +%s)
	timeout -s KILL "$tmo" "$dir/$t" > "$out" 2> "$err" < /dev/null
	rc=$?
	cat "$out"
	echo ""
	sed -e 's/^/# stderr: /' "$err"
	# Failures the output does not show already: none reported, every
	# planned result present, and yet a non-zero exit (4 is kselftest's
	# "skipped").
	silent=$(awk '
		/^1\.\.[0-9]+/ { planned += substr($1, 4) }
		/^(not )?ok( |$)/ { results++ }
		/^not ok( |$)/ && toupper($0) !~ /# *(SKIP|TODO)/ { failed++ }
		END { print (failed == 0 && results >= planned) ? "yes" : "no" }' "$out")
	if [ "$rc" = 137 ]; then
		echo "not ok - $t killed after ${tmo}s ($(($(date +%s) - start))s)"
	elif [ "$rc" != 0 ] && [ "$rc" != 4 ] && [ "$silent" = yes ]; then
		echo "not ok - $t exited with status $rc without a failed result"
	fi
	[ "$rc" = 0 ] || [ "$rc" = 4 ] || rc_all=1
done
exit "$rc_all"
