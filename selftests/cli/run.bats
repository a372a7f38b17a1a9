#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `pidshim run`: the exit code contract of timeout(1) and env(1) (the
# child's code, 128+N for a signal, 124 on timeout, 137 when KILL was
# needed, 125/126/127), the timeout races (a fast child under a timeout,
# a child that ignores SIGTERM with --kill-after), signal forwarding, the
# --json report (parsed with jq) with rusage, and every bad input.

load helper

teardown() {
	kill_bg
}

@test "run: exit code is the child's own" {
	for code in 0 1 42 255; do
		run "$PIDSHIM" run -- sh -c "exit $code"
		assert_equal "$status" "$code"
	done
}

@test "run: 128+N when signal N kills the child" {
	run "$PIDSHIM" run -- sh -c 'kill -TERM $$'
	assert_equal "$status" 143
	run "$PIDSHIM" run -- sh -c 'kill -KILL $$'
	assert_equal "$status" 137
	run "$PIDSHIM" run -- sh -c 'kill -USR1 $$'
	assert_equal "$status" 138
}

@test "run: output, stdin and environment pass through" {
	run -0 "$PIDSHIM" run -- echo hello world
	assert_output "hello world"
	run -0 bash -c 'echo piped | "$PIDSHIM" run -- cat'
	assert_output "piped"
	run -0 env PIDSHIM_TEST_VAR=xyz "$PIDSHIM" run -- sh -c 'echo $PIDSHIM_TEST_VAR'
	assert_output "xyz"
}

@test "run: PATH is searched; 127 when not found" {
	run -127 --separate-stderr "$PIDSHIM" run -- pidshim-no-such-command-xyz
	[[ $stderr == *pidshim-no-such-command-xyz* ]]
	run -127 "$PIDSHIM" run -- /nonexistent/dir/cmd
}

@test "run: 126 when the command cannot be executed" {
	f="$BATS_TEST_TMPDIR/not-executable"
	printf 'echo hi\n' > "$f"
	chmod 0644 "$f"
	run --separate-stderr "$PIDSHIM" run -- "$f"
	assert_equal "$status" 126
	[[ $stderr == *not-executable* ]]
	run "$PIDSHIM" run -- "$BATS_TEST_TMPDIR"
	assert_equal "$status" 126
}

@test "run: 125 when pidshim itself fails (forced backend the kernel cannot serve)" {
	# Under the 4.19 personality there are no pidfds: forcing the pidfd
	# backend makes every spawn fail with ENOSYS, which is ours, not CMD's.
	marker="$BATS_TEST_TMPDIR/ran"
	run --separate-stderr "$PIDSHIM" emulate 4.19 -- env PIDSHIM_BACKEND=pidfd "$PIDSHIM" run -- touch "$marker"
	assert_equal "$status" 125
	assert_equal "$output" ""
	[[ $stderr == *"PIDSHIM_BACKEND=pidfd cannot run"* ]] || fail "stderr: $stderr"
	[ ! -e "$marker" ]
}

@test "run: 125 for an unknown PIDSHIM_BACKEND, naming it" {
	run --separate-stderr env PIDSHIM_BACKEND=bogus "$PIDSHIM" run -- true
	assert_equal "$status" 125
	[[ $stderr == *"PIDSHIM_BACKEND=bogus"* ]] || fail "stderr: $stderr"
}

@test "run: 125 when pidshim runs out of file descriptors" {
	# Four fds (after closing what bats keeps open): enough to load the
	# binary, too few for pidshim's own.
	run --separate-stderr bash -c '
		for fd in /proc/$$/fd/*; do
			n=${fd##*/}
			[ "$n" -gt 2 ] && eval "exec $n>&-" 2> /dev/null
		done
		ulimit -n 4
		exec "$PIDSHIM" run -- true'
	assert_equal "$status" 125
	[[ -n $stderr ]]
}

@test "run --timeout: a fast child is not a timeout" {
	start=$(now_ms)
	n=20
	[ "${PIDSHIM_TEST_QUICK-}" = 1 ] && n=2
	for i in $(seq "$n"); do
		run "$PIDSHIM" run --timeout 5 -- sh -c 'exit 3'
		assert_equal "$status" 3
	done
	run -0 "$PIDSHIM" run --timeout 10s -- true
	# Twenty quick children must not wait for their timeouts.
	[ $(($(now_ms) - start)) -lt 20000 ]
}

@test "run --timeout: 124 when SIGTERM ends the child" {
	start=$(now_ms)
	run "$PIDSHIM" run --timeout 0.3 -- sleep 30
	assert_equal "$status" 124
	elapsed=$(($(now_ms) - start))
	[ "$elapsed" -ge 250 ] || fail "returned after $elapsed ms, before the timeout"
	[ "$elapsed" -lt 10000 ] || fail "took $elapsed ms"
}

@test "run --timeout: 124 also when the child exits cleanly on SIGTERM" {
	run "$PIDSHIM" run --timeout 200ms -- sh -c 'trap "exit 0" TERM; while :; do sleep 0.05; done'
	assert_equal "$status" 124
}

@test "run --timeout: a stopped child gets CONT after the signal, as with timeout(1)" {
	start=$(now_ms)
	# Without the CONT, TERM stays pending and only the KILL ends it (137).
	run "$PIDSHIM" run --timeout 0.3 --kill-after 5 -- sh -c 'kill -STOP $$; exit 0'
	assert_equal "$status" 124
	[ $(($(now_ms) - start)) -lt 10000 ]
}

@test "run --kill-after: a child ignoring SIGTERM is killed, exit 137" {
	start=$(now_ms)
	run "$PIDSHIM" run --json --timeout 0.2 --kill-after 0.3 -- sh -c 'trap "" TERM; exec sleep 30'
	assert_equal "$status" 137
	elapsed=$(($(now_ms) - start))
	[ "$elapsed" -ge 450 ] || fail "KILL came after $elapsed ms, before timeout + kill-after"
	[ "$elapsed" -lt 10000 ] || fail "took $elapsed ms"
	assert_json
	assert_equal "$(jqo .timed_out)" true
	assert_equal "$(jqo .signal_sent)" TERM
	assert_equal "$(jqo .kill_sent)" true
	assert_equal "$(jqo .exit.signal)" 9
	assert_equal "$(jqo .exit_code)" 137
}

@test "run --timeout without --kill-after waits for a child that ignores SIGTERM" {
	start=$(now_ms)
	run "$PIDSHIM" run --timeout 0.1 -- sh -c 'trap "" TERM; exec sleep 1'
	assert_equal "$status" 124
	elapsed=$(($(now_ms) - start))
	[ "$elapsed" -ge 900 ] || fail "returned after $elapsed ms while the child still ran"
}

@test "run --kill-after: a child that obeys SIGTERM is not killed" {
	run "$PIDSHIM" run --json --timeout 0.1 --kill-after 5 -- sleep 30
	assert_equal "$status" 124
	assert_json
	assert_equal "$(jqo .kill_sent)" false
	assert_equal "$(jqo .exit.signal_name)" TERM
}

@test "run --signal: names with or without SIG, any case, and numbers" {
	for s in KILL SIGKILL kill sigkill 9; do
		run "$PIDSHIM" run --json --signal "$s" --timeout 0.1 -- sleep 30
		assert_equal "$s: $status" "$s: 137"
		assert_equal "$(jqo .signal_sent)" KILL
	done
	run "$PIDSHIM" run --json -s INT -t 0.1 -- sleep 30
	assert_equal "$status" 124
	assert_equal "$(jqo .exit.signal)" 2
	run "$PIDSHIM" run --json --signal=RTMIN+1 --timeout=0.1 -- sleep 30
	assert_equal "$status" 124
	assert_equal "$(jqo .signal_sent)" RTMIN+1
}

@test "run: durations 10, 1.5s, 200ms, 2m, 1h, 1d, .5 are accepted" {
	for d in 10 1.5s 200ms 2m 1h 1d .5 0.25m 0; do
		run "$PIDSHIM" run --timeout "$d" -- true
		assert_equal "$d: $status" "$d: 0"
	done
}

@test "run --json: exit code, rusage and backend, parsed by jq" {
	run -0 "$PIDSHIM" run --json -- sh -c 'exit 0'
	assert_json
	run jq -e '(.pid | type == "number") and .pid > 0 and
		(.exit == {"code": 0, "core_dumped": false}) and .timed_out == false and
		.signal_sent == null and .kill_sent == false and .exit_code == 0 and
		(.rusage.user_sec | type == "number") and (.rusage.system_sec | type == "number") and
		(.rusage.max_rss_kb | type == "number") and .rusage.max_rss_kb > 0 and
		(.elapsed_sec | type == "number") and
		(.backend | IN("pidfd", "pidfd-poll", "signalfd")) and
		(.command == ["sh", "-c", "exit 0"])' <<< "$output"
	assert_success
	if [ -n "${PIDSHIM_BACKEND-}" ]; then
		run "$PIDSHIM" run --json -- true
		assert_equal "$(jqo .backend)" "$PIDSHIM_BACKEND"
	fi
}

@test "run --json: a signal death reports signal, name and no code" {
	run "$PIDSHIM" run --json -- sh -c 'kill -USR2 $$'
	assert_equal "$status" 140
	assert_json
	assert_equal "$(jqo '.exit | keys | join(",")')" "core_dumped,signal,signal_name"
	assert_equal "$(jqo .exit.signal)" 12
	assert_equal "$(jqo .exit.signal_name)" USR2
	assert_equal "$(jqo .exit_code)" 140
}

@test "run --json: a core dump sets core_dumped" {
	pattern=$(cat /proc/sys/kernel/core_pattern)
	# sh, not bash: bash -c ignores SIGQUIT.
	run "$PIDSHIM" run --json -- sh -c 'ulimit -c unlimited 2> /dev/null; cd "$1" && kill -QUIT $$' sh "$BATS_TEST_TMPDIR"
	assert_equal "$status" 131
	assert_json
	assert_equal "$(jqo .exit.signal_name)" QUIT
	# The kernel sets the core bit only when a core was really written
	# (or piped to a handler); both outcomes are the kernel's to choose.
	if [[ $pattern != "|"* ]] && ls "$BATS_TEST_TMPDIR"/core* > /dev/null 2>&1; then
		assert_equal "$(jqo .exit.core_dumped)" true
	fi
}

@test "run --json: CPU time and max RSS are measured" {
	# 40 MB string and a few million additions (perl-base is essential).
	run -0 "$PIDSHIM" run --json -- perl -e '$x = "a" x 40000000; $y = 0; $y += $_ for 1 .. 3000000'
	assert_json
	json=$output
	run jq -e '.rusage.user_sec + .rusage.system_sec >= 0.05' <<< "$json"
	assert_success
	run jq -e '.rusage.max_rss_kb >= 39000' <<< "$json"
	assert_success
	# And a trivial child is far below that: the figures are the child's.
	run -0 "$PIDSHIM" run --json -- true
	run jq -e '.rusage.max_rss_kb < 39000' <<< "$output"
	assert_success
}

@test "run --json: arguments with quotes, newlines and non-UTF-8 bytes stay valid JSON" {
	arg=$'a "quoted" \\ back\nslash\ttab \xc3\xa9'
	run -0 "$PIDSHIM" run --json -- true "$arg" $'\xff\xfe'
	assert_json
	assert_equal "$(jqo '.command[1]')" "$arg"
	assert_equal "$(jqo '.command[2]')" $'\xef\xbf\xbd\xef\xbf\xbd'
}

# SigBlk, SigIgn and SigCgt of a `cat /proc/self/status` output, with the
# ignored set cut to signals 1-31: glibc's posix_spawn leaves its two
# internal signals (32, 33) ignored in every child, and the contract asks
# for exactly what plain posix_spawn gives.
sig_summary() {
	local blk ign cgt
	blk=$(awk '/^SigBlk:/ {print $2}' <<< "$1")
	ign=$(awk '/^SigIgn:/ {print $2}' <<< "$1")
	cgt=$(awk '/^SigCgt:/ {print $2}' <<< "$1")
	printf 'blk=%s ign=%x cgt=%s\n' "$blk" $((0x$ign & 0x7fffffff)) "$cgt"
}

@test "run: the child gets the signal mask and dispositions pidshim got" {
	# Compared with the same command started directly: pidshim must not
	# leak a blocked SIGCHLD, its handlers or ignored signals into CMD.
	# (cat installs no handlers of its own; grep does, for SIGSEGV.)
	want=$(sig_summary "$(cat /proc/self/status)")
	run -0 "$PIDSHIM" run -- cat /proc/self/status
	assert_equal "$(sig_summary "$output")" "$want"
	assert_line "SigCgt:	0000000000000000"
	# And an ignored signal pidshim inherited stays ignored (nohup).
	want=$(trap '' HUP; sig_summary "$(cat /proc/self/status)")
	run -0 bash -c 'trap "" HUP; exec "$PIDSHIM" run -- cat /proc/self/status'
	assert_equal "$(sig_summary "$output")" "$want"
	[[ $want == *"ign=1 "* ]]
}

@test "run: SIGTERM sent to pidshim is forwarded to the child" {
	out="$BATS_TEST_TMPDIR/out"
	"$PIDSHIM" run -- sleep 30 > "$out" 2>&1 3>&- &
	p=$!
	BG_PIDS=$p
	# Let it spawn, then signal pidshim only, never the child.
	sleep 0.3
	kill -TERM "$p"
	rc=0
	wait "$p" || rc=$?
	assert_equal "$rc" 143
}

@test "run: SIGHUP forwarded, with --kill-after applied to forwarded signals" {
	"$PIDSHIM" run --kill-after 0.2 -- sh -c 'trap "" HUP; exec sleep 30' 3>&- &
	p=$!
	BG_PIDS=$p
	sleep 0.3
	kill -HUP "$p"
	rc=0
	wait "$p" || rc=$?
	assert_equal "$rc" 137
}

@test "run under the 5.3 personality (pidfd-poll): timeouts and statuses" {
	run "$PIDSHIM" emulate 5.3 -- "$PIDSHIM" run --json --timeout 0.2 -- sleep 30
	assert_equal "$status" 124
	assert_json
	assert_equal "$(jqo .backend)" "${PIDSHIM_BACKEND:-pidfd-poll}"
	run "$PIDSHIM" emulate 5.3 -- "$PIDSHIM" run -- sh -c 'exit 9'
	assert_equal "$status" 9
}

@test "run under the 4.19 personality (signalfd): timeouts and statuses" {
	run "$PIDSHIM" emulate 4.19 -- "$PIDSHIM" run --json --timeout 0.2 --kill-after 0.2 -- sh -c 'trap "" TERM; exec sleep 30'
	assert_equal "$status" 137
	assert_json
	assert_equal "$(jqo .backend)" signalfd
	run "$PIDSHIM" emulate 4.19 -- "$PIDSHIM" run -- sh -c 'exit 9'
	assert_equal "$status" 9
}

@test "run: missing '--' is a usage error and runs nothing" {
	marker="$BATS_TEST_TMPDIR/ran"
	run --separate-stderr "$PIDSHIM" run touch "$marker"
	assert_usage_error "missing '--'"
	[ ! -e "$marker" ]
	run --separate-stderr "$PIDSHIM" run --timeout 1 touch "$marker"
	assert_usage_error "'touch'"
	[ ! -e "$marker" ]
}

@test "run: no command, or nothing after '--'" {
	run --separate-stderr "$PIDSHIM" run
	assert_usage_error "missing '--'"
	run --separate-stderr "$PIDSHIM" run --
	assert_usage_error "no command"
	run --separate-stderr "$PIDSHIM" run --timeout 1 --
	assert_usage_error "no command"
}

@test "run: an option without its value" {
	run --separate-stderr "$PIDSHIM" run --timeout
	assert_usage_error "'--timeout' needs a value"
	run --separate-stderr "$PIDSHIM" run --signal
	assert_usage_error "'--signal' needs a value"
	run --separate-stderr "$PIDSHIM" run --kill-after
	assert_usage_error "'--kill-after' needs a value"
}

@test "run: bad durations exit 2 naming the duration" {
	for d in abc -1 -0.5 1x 1.2.3 '' ' 5' '5 ' 1e3 0x10 inf nan . s 5ss 5mss \
		99999999999999999999 9223372036854775808ms 106751991167301d +5 5,5; do
		marker="$BATS_TEST_TMPDIR/ran"
		run --separate-stderr "$PIDSHIM" run --timeout "$d" -- touch "$marker"
		assert_usage_error "bad duration '$d'"
		[ ! -e "$marker" ]
		run --separate-stderr "$PIDSHIM" run --timeout 1 --kill-after "$d" -- true
		assert_usage_error "bad duration '$d'"
	done
	run --separate-stderr "$PIDSHIM" run --timeout -1 -- true
	assert_usage_error "negative"
	run --separate-stderr "$PIDSHIM" run --timeout 99999999999999999999 -- true
	assert_usage_error "too large"
	run --separate-stderr "$PIDSHIM" run --timeout 5y -- true
	assert_usage_error "unit"
}

@test "run: bad signals exit 2 naming the signal" {
	for s in FOO SIGFOO 0 65 999999999999 -9 '' SIG RTMIN+99 RTMAX+1 'TERM ' 9x; do
		run --separate-stderr "$PIDSHIM" run --timeout 1 --signal "$s" -- true
		assert_usage_error "bad signal '$s'"
	done
}

# The whole tree on a timeout (the grandchildren, the descendants that
# left CMD's process group, the double-forked daemons): each returns within
# timeout + kill-after + 0.5 s with its output captured by $(...), which a
# grandchild still holding the pipe would block, and leaves nothing running.
# The time-outs leave the shell scripts time to start their children even
# on a loaded machine.

@test "run --timeout: a TERM-ignoring shell and its grandchild are both stopped" {
	tok=$(unique_token)
	start=$(now_ms)
	out=$("$PIDSHIM" run --timeout 0.5 --kill-after 0.3 -- sh -c 'trap "" TERM; sleep "5.$1"' "sh-$tok" "$tok") || rc=$?
	assert_within "$start" 800
	assert_equal "${rc-0}" 137
	assert_none_alive "$tok"
}

@test "run --timeout: the signal reaches a grandchild in CMD's group, the shell ignoring it finishes" {
	tok=$(unique_token)
	start=$(now_ms)
	out=$("$PIDSHIM" run --timeout 0.5 --kill-after 5 -- sh -c 'sleep "5.$1" & trap "" TERM; wait $!; echo "grandchild ended"' "sh-$tok" "$tok") || rc=$?
	assert_within "$start" 500
	assert_equal "${rc-0}" 124
	assert_equal "$out" "grandchild ended"
	assert_none_alive "$tok"
}

@test "run --timeout: a setsid grandchild gets the signal, then KILL" {
	tok=$(unique_token)
	term="$BATS_TEST_TMPDIR/term"
	start=$(now_ms)
	# The first grandchild notes the TERM and ends; the second ignores it.
	out=$("$PIDSHIM" run --json --timeout 0.5 --kill-after 0.3 -- sh -c '
		setsid sh -c "trap \"echo got-term > $2; exit 0\" TERM; while :; do sleep 0.05; done" "a-$1" &
		setsid sh -c "trap \"\" TERM; sleep 5.$1" "b-$1" &
		trap "" TERM; wait' "sh-$tok" "$tok" "$term") || rc=$?
	assert_within "$start" 800
	assert_equal "${rc-0}" 137
	assert_equal "$(cat "$term")" got-term
	assert_json "$out"
	output=$out
	assert_equal "$(jqo .kill_sent)" true
	assert_equal "$(jqo .descendants.left_running)" 0
	assert_none_alive "$tok"
}

@test "run --timeout: a double-forked daemon holding the output is killed and reaped" {
	tok=$(unique_token)
	start=$(now_ms)
	out=$("$PIDSHIM" run --json --timeout 0.5 --kill-after 0.3 -- sh -c '
		(setsid sh -c "trap \"\" TERM; while :; do sleep 0.1; done" "daemon-$1" &)
		sleep "5.$1"' "sh-$tok" "$tok") || rc=$?
	assert_within "$start" 800
	assert_equal "${rc-0}" 124
	assert_json "$out"
	output=$out
	assert_equal "$(jqo .kill_sent)" true
	assert_equal "$(jqo .descendants.process_group)" true
	run jq -e '.descendants.reaped >= 1' <<< "$out"
	assert_success
	assert_none_alive "$tok"
}

@test "run --timeout: only CMD's descendants are signalled, not pidshim's own process group" {
	run bash -c 'trap "echo parent-hit" TERM; "$PIDSHIM" run --timeout 0.2 -- sleep 30; echo "rc=$?"'
	assert_success
	assert_output "rc=124"
}

@test "run --foreground: only CMD is signalled, as with timeout(1)" {
	tok=$(unique_token)
	run "$PIDSHIM" run --json --foreground --timeout 1 -- sh -c 'sleep "30.$1" > /dev/null 2>&1 & wait' "sh-$tok" "$tok"
	assert_equal "$status" 124
	assert_equal "$(jqo .descendants.process_group)" false
	left=$(alive_with "$tok")
	[ -n "$left" ] || fail "the grandchild was signalled under --foreground"
	kill $left 2> /dev/null || true
}

@test "run --json: the rusage of descendants pidshim reaped is reported" {
	done_file="$BATS_TEST_TMPDIR/done"
	# An orphan (double fork) burns CPU, then CMD ends: pidshim, its
	# subreaper, reaped it.
	run -0 "$PIDSHIM" run --json -- sh -c '
		( (perl -e "1 while (times)[0] < 0.25"; touch "$1") & )
		while [ ! -e "$1" ]; do sleep 0.05; done; sleep 0.5' sh "$done_file"
	assert_json
	run jq -e '.descendants.reaped >= 1 and
		.descendants.rusage.user_sec + .descendants.rusage.system_sec >= 0.2 and
		.rusage.user_sec < 0.2 and .descendants.left_running == 0' <<< "$output"
	assert_success
}
