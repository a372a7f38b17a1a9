#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The top level of `pidshim`: --version, --help for the command and for
# each subcommand, and the usage-error contract (exit 2, one line on
# stderr naming the problem) for unknown commands and options.

load helper

@test "--version prints the version of the header" {
	want=$(sed -n 's/^#define PIDSHIM_VERSION_STRING "\(.*\)"$/\1/p' \
		"$BATS_TEST_DIRNAME/../../shim/include/pidshim.h")
	run -0 "$PIDSHIM" --version
	assert_output "pidshim $want"
	run -0 "$PIDSHIM" -V
	assert_output "pidshim $want"
}

@test "--help lists every command and exits 0" {
	run -0 --separate-stderr "$PIDSHIM" --help
	assert_line --partial "Usage: pidshim COMMAND"
	for cmd in probe run wait emulate matrix; do
		assert_line --regexp "^  $cmd "
	done
	assert_equal "$stderr" ""
}

@test "each subcommand has --help and -h (exit 0, usage on stdout)" {
	for cmd in probe run wait emulate matrix; do
		run -0 --separate-stderr "$PIDSHIM" "$cmd" --help
		assert_line --index 0 --partial "Usage: pidshim $cmd"
		assert_equal "$stderr" ""
		run -0 "$PIDSHIM" "$cmd" -h
		assert_line --index 0 --partial "Usage: pidshim $cmd"
	done
}

@test "no command: usage on stderr, exit 2" {
	run -2 --separate-stderr "$PIDSHIM"
	assert_equal "$output" ""
	[[ $stderr == *"Usage: pidshim"* ]]
}

@test "unknown command: exit 2, one line naming it" {
	run --separate-stderr "$PIDSHIM" frobnicate
	assert_usage_error "unknown command 'frobnicate'"
}

@test "unknown top-level option: exit 2, one line naming it" {
	run --separate-stderr "$PIDSHIM" --frobnicate
	assert_usage_error "unknown option '--frobnicate'"
}

@test "unknown options of every subcommand: exit 2, one line naming them" {
	run --separate-stderr "$PIDSHIM" probe --frob
	assert_usage_error "'--frob'"
	run --separate-stderr "$PIDSHIM" run --frob -- true
	assert_usage_error "'--frob'"
	run --separate-stderr "$PIDSHIM" wait --frob 1
	assert_usage_error "'--frob'"
	run --separate-stderr "$PIDSHIM" emulate --frob
	assert_usage_error "'--frob'"
}

@test "the man page renders cleanly and documents every command and exit code" {
	page="$BATS_TEST_DIRNAME/../../man/man1/pidshim.1"
	[ -f "$page" ]
	# groff warnings (bad macros, unknown escapes, overfull tables) are
	# bugs in the page.
	run -0 --separate-stderr groff -man -t -Tutf8 -ww -z "$page"
	assert_equal "$stderr" ""
	# Very long lines and squeezed spaces, so phrases are not broken.
	run -0 bash -c 'groff -man -t -Tutf8 -P-cbou -rLL=1000n "$1" | tr -s " "' sh "$page"
	for word in "pidshim probe" "pidshim run" "pidshim wait" "pidshim emulate" "pidshim matrix" \
		124 125 126 127 137 "--kill-after" "--timeout" "--signal" "--any" "--foreground" left_running \
		"--json" "--tap" PIDFD_INFO_EXIT max_rss_kb user_sec core_dumped timed_out \
		PIDSHIM_BACKEND; do
		assert_output --partial "$word"
	done
	# Every feature of the probe's table is documented.
	run -0 "$PIDSHIM" probe --json
	for name in $(jqo '.features[].name'); do
		grep -q "^$name" "$page" || fail "feature $name is not in the man page"
	done
}
