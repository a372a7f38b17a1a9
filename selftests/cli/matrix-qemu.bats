#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `pidshim matrix` booting real kernels under qemu, as a user of the tool
# would: a small static C test written here, outside the repository tree,
# runs on two Debian kernels and the host; made to fail where pidfds are
# missing, its row and the exit code say so; made to hang, the guest is
# bounded and reported; an arm64 test boots an arm64 kernel.  Each test
# boots one or two TCG guests (a few seconds each; the kernels come from
# the cache `make kernel-matrix` shares).  Run once by `make check-cli`
# (suite cli-matrix), not per backend.

load helper

setup_file() {
	dir=$BATS_FILE_TMPDIR
	cat > "$dir/pidfd-test.c" <<-'C'
		/* A user's test: TAP, with a pidfd check it may insist on. */
		#include <stdio.h>
		#include <stdlib.h>
		#include <string.h>
		#include <sys/syscall.h>
		#include <unistd.h>

		int main(int argc, char **argv)
		{
			const char *mode = argc > 1 ? argv[1] : "";
			const char *cell = getenv("PIDSHIM_MATRIX_CELL");
			long fd;

			if (!strcmp(mode, "hang")) {
				printf("hanging on purpose\n");
				fflush(stdout);
				for (;;)
					pause();
			}
			fd = syscall(434 /* pidfd_open */, getpid(), 0);
			printf("TAP version 13\n1..2\n");
			printf("ok 1 - runs in cell %s\n", cell ? cell : "?");
			if (!strcmp(mode, "need-pidfd"))
				printf("%s 2 - pidfd_open works\n", fd >= 0 ? "ok" : "not ok");
			else
				printf("ok 2 - pidfd_open %s # SKIP not required\n",
				       fd >= 0 ? "works" : "fails");
			return !strcmp(mode, "need-pidfd") && fd < 0;
		}
	C
	cc -static -O2 -o "$dir/pidfd-test" "$dir/pidfd-test.c"
}

setup() {
	command -v qemu-system-x86_64 > /dev/null || skip "qemu-system-x86_64 is not installed"
	cd "$BATS_TEST_TMPDIR"
	cp "$BATS_FILE_TMPDIR/pidfd-test" .
}

@test "matrix: a user's static test runs on bullseye, sid and the host, natively and as 4.19 and 5.3" {
	run -0 --separate-stderr "$PIDSHIM" matrix --json -k bullseye -k sid -k host \
		-p 4.19 -p 5.3 -o logs -- ./pidfd-test
	assert_json
	assert_equal "$(jqo '[.cells[] | .kernel + ":" + .personality + "=" + .status] | join(" ")')" \
		"bullseye:native=passed bullseye:4.19=passed bullseye:5.3=passed sid:native=passed sid:4.19=passed sid:5.3=passed host:native=passed host:4.19=passed host:5.3=passed"
	run jq -e '
		(.kernels | map(.status) | unique) == ["done"] and
		(.kernels[0].release | startswith("5.10.")) and
		([.kernels[0,1].accel] | all(. == "tcg" or . == "kvm")) and
		([.cells[] | .tap == {"passed": 1, "failed": 0, "skipped": 1, "planned": 2}] | all) and
		([.cells[] | select(.personality == "4.19") | .backend] | unique) == ["signalfd"] and
		([.cells[] | select(.personality == "5.3") | .backend] | unique) == ["pidfd-poll"] and
		([.cells[] | select(.personality == "native") | .backend] | unique) == ["pidfd"]' <<< "$output"
	assert_success
	# Per-cell logs from the console, with the guest's own view of its cell.
	grep -q '^ok 1 - runs in cell 4.19$' logs/sid/4.19.log
	grep -q '^ok 2 - pidfd_open fails # SKIP' logs/bullseye/4.19.log
	grep -q '^ok 2 - pidfd_open works # SKIP' logs/bullseye/native.log
	grep -q '@@PM done' logs/sid/console.log
}

@test "matrix: a test failing where pidfds are missing fails that row and the exit code" {
	run -1 --separate-stderr "$PIDSHIM" matrix -k bullseye -p 4.19 -p 5.4 -o logs -- ./pidfd-test need-pidfd
	assert_line --regexp '^bullseye +5\.10\.[^ ]+ +native +pidfd +passed +0 +2 +0 +0 '
	assert_line --regexp '^bullseye +5\.10\.[^ ]+ +4\.19 +signalfd +failed +1 +1 +1 +0 '
	assert_line --regexp '^bullseye +5\.10\.[^ ]+ +5\.4 +pidfd +passed +0 +2 +0 +0 '
	assert_line --partial "3 cells: 2 passed or skipped, 1 failed"
	grep -q '^not ok 2 - pidfd_open works$' logs/bullseye/4.19.log
}

@test "matrix --arch aarch64: an arm64 test on bookworm's cloud-arm64 kernel, natively and as 4.19 and 5.3" {
	command -v qemu-system-aarch64 > /dev/null || skip "qemu-system-aarch64 is not installed (qemu-system-arm)"
	command -v aarch64-linux-gnu-gcc > /dev/null ||
		skip "aarch64-linux-gnu-gcc is not installed (gcc-aarch64-linux-gnu)"
	# What an amd64 host lacks for arm64 guests: the static aarch64
	# pidshim and an arm64 busybox, in a libexec of their own.
	run -0 "$BATS_TEST_DIRNAME/../../ci/guest-libexec.sh" aarch64 "$PIDSHIM_BUILD" "$PWD/lx"
	aarch64-linux-gnu-gcc -static -O2 -o pidfd-test-arm64 "$BATS_FILE_TMPDIR/pidfd-test.c"
	run -0 --separate-stderr env PIDSHIM_LIBEXECDIR="$PWD/lx" "$PIDSHIM" matrix --json \
		--arch aarch64 -k bookworm -p 4.19 -p 5.3 -o logs -- ./pidfd-test-arm64
	assert_json
	assert_equal "$(jqo '[.cells[] | .personality + "=" + .status + "," + .backend] | join(" ")')" \
		"native=passed,pidfd 4.19=passed,signalfd 5.3=passed,pidfd-poll"
	run jq -e '.arch == "aarch64" and .kernels[0].accel == "tcg" and
		(.kernels[0].release | endswith("-cloud-arm64")) and
		([.cells[] | .tap == {"passed": 1, "failed": 0, "skipped": 1, "planned": 2}] | all)' <<< "$output"
	assert_success
	grep -q '^ok 2 - pidfd_open fails # SKIP' logs/bookworm/4.19.log
	grep -q '^ok 2 - pidfd_open works # SKIP' logs/bookworm/5.3.log
}

@test "matrix: hung guests are bounded by --timeout and reported, one after the other" {
	start=$(now_ms)
	# --jobs 1: bullseye boots after bookworm's 12 s, its own boot bound
	# counting from its own start.
	run -1 --separate-stderr "$PIDSHIM" matrix --json -k bookworm -k bullseye -p 5.3 --jobs 1 \
		--timeout 12s --boot-timeout 9s -o logs -- ./pidfd-test hang
	# Two 12 s bounds, plus the time to kill qemu and read its log: a
	# guest --timeout did not bound would never end.  Room for a loaded
	# TCG host (30.2 s seen in a full .ci/run); the statuses below tell a
	# boot bound counted from the wrong start (bullseye would not be
	# "hung" but an error).
	assert_within "$start" 40000
	assert_equal "$(jqo '[.cells[] | .kernel + ":" + .personality + "=" + .status] | join(" ")')" \
		"bookworm:native=hung bookworm:5.3=not-run bullseye:native=hung bullseye:5.3=not-run"
	assert_equal "$(jqo '[.kernels[].status] | join(" ")')" "hung hung"
	[[ $(jqo '.cells[0].note') == "guest killed after "* ]]
	grep -q '^hanging on purpose' logs/bookworm/native.log
	grep -q '^hanging on purpose' logs/bullseye/native.log
	[[ $stderr == *"killed at the time-out"* ]] || fail "stderr: $stderr"
}

@test "matrix: a kernel that does not boot is an error row, quickly" {
	head -c 4096 /dev/urandom > not-a-kernel
	start=$(now_ms)
	run -1 --separate-stderr "$PIDSHIM" matrix --json -k broken=./not-a-kernel --boot-timeout 30s -o logs -- ./pidfd-test
	assert_within "$start" 30000
	assert_equal "$(jqo '.cells[0].status')" error
	assert_equal "$(jqo '.kernels[0].status')" error
	[[ $(jqo '.kernels[0].note') == "did not reach /init"* ]]
}
