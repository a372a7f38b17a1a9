#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `pidshim wait`: watching processes that are not pidshim's children.  On
# a pidfd backend each exit is printed as it happens (with its status
# where the kernel keeps it, PIDFD_INFO_EXIT), --any stops at the first,
# --timeout exits 124 and leaves the processes alone.  On the signalfd
# backend (forced, or a kernel without pidfds) the same commands must fail
# with exit 1 and an error naming the backend: these tests assert
# whichever behaviour the backend in use promises, they never skip.
# The watched processes live at least 1 s so that pidshim (slow to start
# under sanitizers or on a loaded machine) sees them alive.

load helper

teardown() {
	kill_bg
}

# Start "$@" in the background (not holding bats' fd 3), PID in $bg.
start_bg() {
	"$@" 3>&- &
	bg=$!
	# No "Killed" job notice from bash when teardown kills it.
	disown "$bg"
	BG_PIDS="${BG_PIDS-} $bg"
}

# The refusal the signalfd backend gives for non-children.
assert_signalfd_refusal() {
	assert_equal "$status" 1
	assert_equal "${#stderr_lines[@]}" 1
	[[ $stderr == *"signalfd backend"* ]] || fail "error does not name the backend: $stderr"
	[[ $stderr == *"not a child"* ]] || fail "error does not say why: $stderr"
}

@test "wait: reports a non-child's exit (status where the kernel keeps it)" {
	start_bg sh -c 'sleep 1; exit 7'
	run --separate-stderr "$PIDSHIM" wait "$bg"
	if ! can_watch_nonchildren; then
		assert_signalfd_refusal
		return
	fi
	assert_exit 0
	if has_info_exit; then
		assert_output "$bg exited with status 7"
	else
		assert_output "$bg exited"
	fi
}

@test "wait: a non-child killed by a signal" {
	start_bg sleep 30
	target=$bg
	start_bg sh -c "sleep 1; kill -KILL $target"
	run --separate-stderr "$PIDSHIM" wait "$target"
	if ! can_watch_nonchildren; then
		assert_signalfd_refusal
		return
	fi
	assert_exit 0
	if has_info_exit; then
		assert_output "$target killed by signal 9 (SIGKILL)"
	else
		assert_output "$target exited"
	fi
}

@test "wait: several PIDs are printed in the order they exit" {
	start_bg sh -c 'sleep 2; exit 1'
	slow=$bg
	start_bg sh -c 'sleep 1; exit 2'
	fast=$bg
	run --separate-stderr "$PIDSHIM" wait "$slow" "$fast"
	if ! can_watch_nonchildren; then
		assert_signalfd_refusal
		return
	fi
	assert_exit 0
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --regexp "^$fast exited"
	assert_line --index 1 --regexp "^$slow exited"
}

@test "wait --any: returns after the first exit and leaves the others running" {
	start_bg sleep 30
	slow=$bg
	start_bg sh -c 'sleep 1; exit 3'
	fast=$bg
	start=$(now_ms)
	run --separate-stderr "$PIDSHIM" wait --any "$slow" "$fast"
	if ! can_watch_nonchildren; then
		assert_signalfd_refusal
		return
	fi
	assert_exit 0
	assert_equal "${#lines[@]}" 1
	assert_line --index 0 --regexp "^$fast exited"
	[ $(($(now_ms) - start)) -lt 10000 ]
	kill -0 "$slow"
}

@test "wait --timeout: exit 124, names who still runs, kills nobody" {
	start_bg sleep 30
	start=$(now_ms)
	run --separate-stderr "$PIDSHIM" wait --timeout 0.3 "$bg"
	if ! can_watch_nonchildren; then
		assert_signalfd_refusal
		return
	fi
	assert_equal "$status" 124
	elapsed=$(($(now_ms) - start))
	[ "$elapsed" -ge 250 ] || fail "gave up after $elapsed ms"
	[[ $stderr == *"timed out"*"$bg"* ]] || fail "stderr: $stderr"
	assert_equal "$output" ""
	kill -0 "$bg"
}

@test "wait --timeout: a process that exits in time is not a timeout" {
	start_bg sh -c 'sleep 1'
	run --separate-stderr "$PIDSHIM" wait --timeout 10s "$bg"
	if ! can_watch_nonchildren; then
		assert_signalfd_refusal
		return
	fi
	assert_exit 0
	assert_line --index 0 --regexp "^$bg exited"
}

@test "wait: a zombie whose parent never reaps it is reported at once" {
	# The parent execs a long sleep that never calls wait: its child
	# stays a zombie, whose pidfd is readable although nobody reaps it.
	# (The child lives a little first: the shell reaps jobs that end
	# before its exec.)
	pidfile="$BATS_TEST_TMPDIR/zombie"
	start_bg sh -c 'sleep 0.3 & echo $! > "$1"; exec sleep 30' sh "$pidfile"
	for i in $(seq 50); do [ -s "$pidfile" ] && break; sleep 0.1; done
	zombie=$(cat "$pidfile")
	for i in $(seq 50); do
		[ "$(awk '{print $3}' "/proc/$zombie/stat" 2> /dev/null)" = Z ] && break
		sleep 0.1
	done
	start=$(now_ms)
	run --separate-stderr "$PIDSHIM" wait --timeout 10 "$zombie"
	if ! can_watch_nonchildren; then
		assert_signalfd_refusal
		return
	fi
	assert_exit 0
	assert_output "$zombie exited"
	[ $(($(now_ms) - start)) -lt 5000 ]
}

@test "wait --json: one valid JSON object per exit" {
	start_bg sh -c 'sleep 1; exit 5'
	a=$bg
	start_bg sh -c 'sleep 1.5; exit 6'
	b=$bg
	run --separate-stderr "$PIDSHIM" wait --json "$a" "$b"
	if ! can_watch_nonchildren; then
		assert_signalfd_refusal
		return
	fi
	assert_exit 0
	assert_equal "${#lines[@]}" 2
	for line in "${lines[@]}"; do
		assert_json "$line"
	done
	assert_equal "$(jq -r .pid <<< "${lines[0]}")" "$a"
	assert_equal "$(jq -r .pid <<< "${lines[1]}")" "$b"
	if has_info_exit; then
		assert_equal "$(jq -c .exit <<< "${lines[0]}")" '{"code":5,"core_dumped":false}'
	else
		assert_equal "$(jq -c .exit <<< "${lines[0]}")" null
	fi
}

@test "wait: duplicate PIDs are watched once" {
	start_bg sh -c 'sleep 1'
	run --separate-stderr "$PIDSHIM" wait "$bg" "$bg" -- "$bg"
	if ! can_watch_nonchildren; then
		assert_signalfd_refusal
		return
	fi
	assert_exit 0
	assert_equal "${#lines[@]}" 1
}

@test "wait on the signalfd backend: exit 1 and an error naming the backend" {
	start_bg sleep 30
	run --separate-stderr env PIDSHIM_BACKEND=signalfd "$PIDSHIM" wait "$bg"
	assert_signalfd_refusal
	assert_equal "$output" ""
	kill -0 "$bg"
}

@test "wait under the 4.19 personality: the automatic signalfd backend refuses clearly" {
	start_bg sleep 30
	run --separate-stderr "$PIDSHIM" emulate 4.19 -- "$PIDSHIM" wait "$bg"
	if [ -n "${PIDSHIM_BACKEND-}" ] && [ "$PIDSHIM_BACKEND" != signalfd ]; then
		# A forced pidfd backend cannot run there at all.
		assert_equal "$status" 1
		return
	fi
	assert_signalfd_refusal
}

@test "wait under the 5.3 personality (pidfd-poll) watches non-children" {
	start_bg sh -c 'sleep 1; exit 1'
	run --separate-stderr "$PIDSHIM" emulate 5.3 -- "$PIDSHIM" wait "$bg"
	if [ "${PIDSHIM_BACKEND-}" = signalfd ]; then
		assert_signalfd_refusal
		return
	fi
	assert_exit 0
	assert_line --index 0 --regexp "^$bg exited"
}

@test "wait: a PID that does not exist exits 1 with ESRCH" {
	pid=$(unused_pid)
	run --separate-stderr "$PIDSHIM" wait "$pid"
	assert_equal "$status" 1
	assert_equal "$output" ""
	assert_equal "${#stderr_lines[@]}" 1
	[[ $stderr == *"$pid"*"no such process"*"ESRCH"* ]] || fail "stderr: $stderr"
	# Also when it comes after a valid one: nothing is waited for.
	start_bg sleep 30
	run --separate-stderr "$PIDSHIM" wait "$bg" "$pid"
	assert_equal "$status" 1
	[[ $stderr == *ESRCH* ]]
}

@test "wait: bad PIDs exit 2 naming the problem" {
	run --separate-stderr "$PIDSHIM" wait 0
	assert_usage_error "pid 0"
	run --separate-stderr "$PIDSHIM" wait -1
	assert_usage_error "negative"
	run --separate-stderr "$PIDSHIM" wait -- -1
	assert_usage_error "negative"
	run --separate-stderr "$PIDSHIM" wait abc
	assert_usage_error "not a number"
	run --separate-stderr "$PIDSHIM" wait 12x
	assert_usage_error "'12x'"
	run --separate-stderr "$PIDSHIM" wait 99999999999999999999
	assert_usage_error "too large"
	run --separate-stderr "$PIDSHIM" wait 4194305
	assert_usage_error "too large"
	run --separate-stderr "$PIDSHIM" wait ''
	assert_usage_error "bad pid ''"
	run --separate-stderr "$PIDSHIM" wait ' 1'
	assert_usage_error "bad pid ' 1'"
	run --separate-stderr "$PIDSHIM" wait +1
	assert_usage_error "'+1'"
	run --separate-stderr "$PIDSHIM" wait 0x10
	assert_usage_error "'0x10'"
}

@test "wait: no PID, unknown option, bad or missing timeout exit 2" {
	run --separate-stderr "$PIDSHIM" wait
	assert_usage_error "no pid"
	run --separate-stderr "$PIDSHIM" wait --any
	assert_usage_error "no pid"
	run --separate-stderr "$PIDSHIM" wait --all 1
	assert_usage_error "unknown option '--all'"
	run --separate-stderr "$PIDSHIM" wait --timeout soon 1
	assert_usage_error "bad duration 'soon'"
	run --separate-stderr "$PIDSHIM" wait --timeout -5 1
	assert_usage_error "negative"
	run --separate-stderr "$PIDSHIM" wait 1 --timeout
	assert_usage_error "'--timeout' needs a value"
}
