#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `pidshim emulate` as a command: listing the personalities, running a
# command under one (its exit code passes through, 126/127 like env(1)),
# and every bad input.  What each personality's filter does is checked
# through `pidshim probe` in probe.bats and by selftests/personality/.

load helper

@test "emulate --names and --list show every personality of the contract" {
	run -0 "$PIDSHIM" emulate --names
	for p in 4.19 5.1 5.2 5.3 5.4 5.10 docker-eperm android-sigsys native; do
		assert_line "$p"
	done
	run -0 "$PIDSHIM" emulate --list
	for p in 4.19 docker-eperm android-sigsys; do
		assert_output --partial "$p"
	done
}

@test "emulate --expected-backend follows the contract table" {
	for pair in 4.19:signalfd 5.1:signalfd 5.2:signalfd 5.3:pidfd-poll 5.4:pidfd \
		5.10:pidfd docker-eperm:signalfd android-sigsys:signalfd native:pidfd; do
		run -0 "$PIDSHIM" emulate --expected-backend "${pair%%:*}"
		assert_output "${pair#*:}"
	done
}

@test "emulate: the command's exit code and environment pass through" {
	run "$PIDSHIM" emulate 5.3 -- sh -c 'echo "$PIDSHIM_PERSONALITY"; exit 6'
	assert_equal "$status" 6
	assert_output "5.3"
	# The filter is really there for the command.
	run -0 "$PIDSHIM" emulate 4.19 -- awk '/^Seccomp:/ {print $2}' /proc/self/status
	assert_output 2
	run -0 "$PIDSHIM" emulate native -- awk '/^Seccomp:/ {print $2}' /proc/self/status
	assert_output "$(awk '/^Seccomp:/ {print $2}' /proc/self/status)"
}

@test "emulate: 127 for a command not found, 126 for one that cannot run" {
	run -127 --separate-stderr "$PIDSHIM" emulate 4.19 -- pidshim-no-such-command-xyz
	[[ $stderr == *pidshim-no-such-command-xyz* ]]
	run -126 --separate-stderr "$PIDSHIM" emulate 4.19 -- "$BATS_TEST_TMPDIR"
}

@test "emulate: bad usage exits 2 with one line" {
	run --separate-stderr "$PIDSHIM" emulate
	assert_usage_error "missing personality"
	run --separate-stderr "$PIDSHIM" emulate 3.10 -- true
	assert_usage_error "'3.10'"
	run --separate-stderr "$PIDSHIM" emulate 4.19
	assert_usage_error "missing command"
	run --separate-stderr "$PIDSHIM" emulate 4.19 --
	assert_usage_error "missing command"
	run --separate-stderr "$PIDSHIM" emulate -- true
	assert_usage_error "missing personality"
	run --separate-stderr "$PIDSHIM" emulate --expected-backend nope
	assert_usage_error "'nope'"
}
