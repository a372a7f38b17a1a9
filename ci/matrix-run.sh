#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The cells of `pidshim matrix` on one kernel: runs TEST natively and under
# each personality, each between "@@PM" marker lines that pidshim reads
# back from the console log (matrix_log.c).  The same script runs in the
# guests (busybox sh, started by guest-init.sh) and on the host (the "host"
# kernel), so every kernel is tested the same way.  It only reports: the
# verdicts are made by the reader, which also notices a cell that never
# ended.  Installed in pidshim's libexec directory.
#
#   matrix-run.sh CONF DIR PIDSHIM
#
# CONF (written by pidshim matrix) sets PM_CELLS, PM_CELL_TIMEOUT_MS, exports
# the --env variables and sets the positional parameters to TEST's argv;
# DIR holds TEST and the --file extras and is TEST's working directory;
# PIDSHIM is the pidshim binary to use (static in the guests).  TEST sees
# PIDSHIM_MATRIX_CELL (native, a personality, or probe) besides
# PIDSHIM_MATRIX_KERNEL and PIDSHIM_MATRIX_ACCEL from its caller.
set -u
conf=${1:?usage: matrix-run.sh CONF DIR PIDSHIM}
PM_DIR=${2:?usage: matrix-run.sh CONF DIR PIDSHIM}
pidshim=${3:?usage: matrix-run.sh CONF DIR PIDSHIM}
PM_CELLS=native PM_CELL_TIMEOUT_MS=0
# shellcheck disable=SC1090 # written at run time
. "$conf"
# stderr is kept apart and shown after the cell as TAP comments: mixed
# into a fully buffered stdout it could split a result line.
err=$(mktemp "${TMPDIR:-/tmp}/pm-stderr.XXXXXX") || exit 1
trap 'rm -f "$err"' EXIT

# The backend name in `pidshim probe --json`: "backend": {"name": "pidfd", ...}.
backend_of() {
	tr -d '\n' | sed -n 's/.*"backend"[[:space:]]*:[[:space:]]*{[^}]*"name"[[:space:]]*:[[:space:]]*"\([a-z-]*\)".*/\1/p'
}

# run_cell NAME CMD...: one cell, under --cell-timeout when there is one.
run_cell() {
	cell=$1
	shift
	start=$(date +%s)
	timed_out=
	if [ "$PM_CELL_TIMEOUT_MS" -gt 0 ]; then
		# `pidshim run` kills the whole tree of TEST at the time-out.
		PIDSHIM_MATRIX_CELL=$cell "$pidshim" run --timeout "${PM_CELL_TIMEOUT_MS}ms" \
			--kill-after 5 -- "$@" 2>"$err" </dev/null
		rc=$?
		# 124 or 137 after the whole time-out: pidshim run's, not TEST's own.
		if { [ "$rc" = 124 ] || [ "$rc" = 137 ]; } &&
			[ $(($(date +%s) - start)) -ge $((PM_CELL_TIMEOUT_MS / 1000)) ]; then
			timed_out=" timeout"
		fi
	else
		PIDSHIM_MATRIX_CELL=$cell "$@" 2>"$err" </dev/null
		rc=$?
	fi
	# A last line without newline must not swallow the marker.
	echo ""
	sed -e 's/^/# stderr: /' "$err"
	echo "@@PM cell-end $cell rc=$rc secs=$(($(date +%s) - start))$timed_out"
}

echo "@@PM uname $(uname -r)"
echo "@@PM probe-begin"
"$pidshim" probe --json 2>&1
echo "@@PM probe-end"
cd "$PM_DIR" || exit 1
PATH=$PM_DIR:$PATH
export PATH
for cell in $PM_CELLS; do
	echo "@@PM cell-begin $cell"
	case $cell in
	probe)
		run_cell probe "$pidshim" probe --tap
		;;
	native)
		echo "@@PM backend native $("$pidshim" probe --json 2>/dev/null | backend_of)"
		run_cell native "$@"
		;;
	*)
		echo "@@PM backend $cell $("$pidshim" emulate "$cell" -- "$pidshim" probe --json 2>/dev/null | backend_of)"
		run_cell "$cell" "$pidshim" emulate "$cell" -- "$@"
		;;
	esac
done
echo "@@PM done"
