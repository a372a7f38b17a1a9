# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shared setup of the `pidshim` bats tests: loads bats-support and
# bats-assert (Debian's packages, /usr/lib/bats), finds the binary
# ($PIDSHIM, set by `make check-cli`; else build/pidshim), and offers the
# helpers the suites share: JSON checks through jq (a real parser), the
# backend in use, and assertions for the usage-error contract (exit 2, one
# line on stderr naming the problem, nothing on stdout).

bats_require_minimum_version 1.5.0

BATS_LIB_DIR=${BATS_LIB_DIR:-/usr/lib/bats}
load "$BATS_LIB_DIR/bats-support/load"
load "$BATS_LIB_DIR/bats-assert/load"

PIDSHIM=${PIDSHIM:-$BATS_TEST_DIRNAME/../../build/pidshim}
export PIDSHIM

if [ ! -x "$PIDSHIM" ]; then
	echo "pidshim binary not found at $PIDSHIM (run 'make cli' or set PIDSHIM)" >&2
	exit 1
fi

# The backend the library picks in this environment ("pidfd", ...).
current_backend() {
	"$PIDSHIM" probe --json | jq -r '.backend.name'
}

# True when `pidshim wait` can watch non-children here.
can_watch_nonchildren() {
	case $(current_backend) in
	pidfd | pidfd-poll) return 0 ;;
	*) return 1 ;;
	esac
}

# True when the kernel reports a non-child's exit status (Linux 6.15).
has_info_exit() {
	[ "$("$PIDSHIM" probe --json |
		jq -r '.features[] | select(.name == "pidfd_info_exit") | .found')" = true ]
}

# Parse $output (or $1) as exactly one JSON value; fail otherwise.
assert_json() {
	local text=${1-$output}
	if ! printf '%s' "$text" | jq -e . > /dev/null; then
		fail "not valid JSON: $text"
	fi
	# jq accepts a stream of values: insist on exactly one.
	[ "$(printf '%s' "$text" | jq -s 'length')" = 1 ] || fail "more than one JSON value: $text"
}

# jq expression over $output.
jqo() {
	printf '%s' "$output" | jq -r "$@"
}

# After `run --separate-stderr`: the usage-error contract.  $1 is a text
# the message must contain (the offending argument or the problem).
assert_usage_error() {
	assert_equal "$status" 2
	assert_equal "$output" ""
	assert_equal "${#stderr_lines[@]}" 1
	[[ $stderr == pidshim* ]] || fail "message does not start with 'pidshim': $stderr"
	[[ $stderr == *"$1"* ]] || fail "message does not name '$1': $stderr"
}

# Milliseconds since the epoch, for elapsed-time bounds.
now_ms() {
	date +%s%3N
}

# A PID that cannot exist: pids are allocated below pid_max.
unused_pid() {
	local max
	max=$(cat /proc/sys/kernel/pid_max)
	if [ "$max" -le 4194304 ]; then
		echo "$max"
	else
		echo 4194304
	fi
}

# Kill and forget background helpers a test started (listed in $BG_PIDS).
kill_bg() {
	local p
	for p in ${BG_PIDS-}; do
		kill -KILL "$p" 2> /dev/null || true
	done
	BG_PIDS=
}

# Like assert_equal "$status" N, but shows stderr too (after
# `run --separate-stderr`), which bats-assert's assert_success does not.
assert_exit() {
	if [ "$status" != "$1" ]; then
		fail "$(printf 'exit status %s, expected %s\nstdout: %s\nstderr: %s' \
			"$status" "$1" "$output" "${stderr-}")"
	fi
}

# A token unique to this test, for command lines that must be found again.
unique_token() {
	echo "$$${RANDOM}${RANDOM}"
}

# PIDs of live (not zombie) processes whose command line holds $1.  Bash
# builtins only: a fork per process would make the walk slower than the
# lifetime of what it looks for.
alive_with() {
	local f pid stat parts
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		{ mapfile -d '' -t parts < "$f"; } 2> /dev/null || continue
		[[ "${parts[*]}" == *"$1"* ]] || continue
		{ read -r stat < "/proc/$pid/stat"; } 2> /dev/null || continue
		stat=${stat##*) }
		[ "${stat%% *}" = Z ] || echo "$pid"
	done
}

# Fail (after killing them) if processes holding token $1 still run.
assert_none_alive() {
	local left p
	left=$(alive_with "$1")
	[ -z "$left" ] && return 0
	for p in $left; do
		echo "left running: $p $(tr '\0' ' ' < "/proc/$p/cmdline" 2> /dev/null)" >&2
		kill -KILL "$p" 2> /dev/null || true
	done
	fail "processes left running: $left"
}

# Elapsed ms since $1 must stay below $2 ms (+ 500 ms slack, times
# PIDSHIM_TEST_SLOW where a slow machine widens the bounds).
assert_within() {
	local elapsed=$(($(now_ms) - $1)) bound=$(($2 + 500 * ${PIDSHIM_TEST_SLOW:-1}))
	[ "$elapsed" -lt "$bound" ] || fail "took $elapsed ms, bound $bound ms"
}
