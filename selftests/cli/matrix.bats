#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `pidshim matrix` without booting anything: the host column (the same
# cell runner the guests use, run natively), the verdicts it reads back
# (exit status, TAP counts, results a plan promised but never came, the
# cell time-out), the JSON report, the per-cell logs, what an installed
# copy needs, and every refusal before a boot (bad usage exits 2, a setup
# that cannot work exits 125, both with one line).  The qemu guests are
# tested in matrix-qemu.bats.

load helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	cat > t.sh <<-'SH'
		#!/bin/sh
		# A TAP test whose behaviour the first argument picks.
		echo "TAP version 13"
		case ${1-} in
		fail) echo "1..2"; echo "ok 1 - first"; echo "not ok 2 - second" ;;
		short) echo "1..3"; echo "ok 1 - only one of three" ;;
		notap) echo "plain output"; exit "${2:-0}" ;;
		hang) echo "1..1"; sleep 30 ;;
		env) echo "1..1"; echo "ok 1 - $PIDSHIM_MATRIX_KERNEL $PIDSHIM_MATRIX_CELL $PIDSHIM_MATRIX_ACCEL $MY_VAR $(cat extra.txt)" ;;
		*) echo "1..2"; echo "ok 1 - first"; echo "ok 2 - second # SKIP not here"; echo "to stderr" >&2 ;;
		esac
	SH
	chmod +x t.sh
}

@test "matrix --kernel host: one row per personality, TAP counted, exit 0" {
	run -0 --separate-stderr "$PIDSHIM" matrix --kernel host -p 4.19 -p 5.3 -o logs -- ./t.sh
	assert_line --regexp '^host +[^ ]+ +native +(pidfd|pidfd-poll|signalfd) +passed +0 +1 +0 +1 '
	assert_line --regexp '^host +[^ ]+ +4\.19 +signalfd +passed +0 +1 +0 +1 '
	assert_line --regexp "^host +[^ ]+ +5\\.3 +${PIDSHIM_BACKEND:-pidfd-poll} +passed "
	assert_line --partial "3 cells: 3 passed or skipped, 0 failed"
	# Per-cell logs, stderr kept as TAP comments, the probe as JSON.
	for c in native 4.19 5.3; do
		grep -q '^ok 1 - first' "logs/host/$c.log"
		grep -q '^# stderr: to stderr' "logs/host/$c.log"
	done
	jq -e .backend.name logs/host/probe.json > /dev/null
}

@test "matrix: a failed TAP result fails the row and the exit code" {
	run -1 --separate-stderr "$PIDSHIM" matrix --kernel host -p 4.19 -o logs -- ./t.sh fail
	assert_line --regexp '^host +[^ ]+ +native +[a-z-]+ +failed +0 +1 +1 +0 '
	assert_line --regexp '^host +[^ ]+ +4\.19 +signalfd +failed +0 +1 +1 +0 '
	assert_line --partial "2 cells: 0 passed or skipped, 2 failed"
}

@test "matrix: results the plan promised but never came count as failed" {
	run -1 --separate-stderr "$PIDSHIM" matrix --json --kernel host -o logs -- ./t.sh short
	assert_json
	assert_equal "$(jqo '.cells[0] | [.status, .tap.passed, .tap.failed, .tap.planned] | join(" ")')" "failed 1 2 3"
	assert_equal "$(jqo '.cells[0].note')" "2 results missing"
}

@test "matrix: without TAP, the exit status decides" {
	run -0 --separate-stderr "$PIDSHIM" matrix --json --kernel host -o logs -- ./t.sh notap 0
	assert_equal "$(jqo '.cells[0] | [.status, .exit_code, .tap] | map(tostring) | join(" ")')" "passed 0 null"
	run -1 --separate-stderr "$PIDSHIM" matrix --json --kernel host -o logs -- ./t.sh notap 3
	assert_equal "$(jqo '.cells[0] | [.status, .exit_code, .note] | map(tostring) | join(" ")')" "failed 3 exit status 3"
}

@test "matrix --cell-timeout: a test that runs too long is killed, with its tree, and says so" {
	start=$(now_ms)
	run -1 --separate-stderr "$PIDSHIM" matrix --json --kernel host --cell-timeout 1s -o logs -- ./t.sh hang
	assert_within "$start" 7000
	assert_equal "$(jqo '.cells[0].status')" timeout
	assert_equal "$(jqo '.cells[0].exit_code')" 124
}

@test "matrix --timeout: a host run that hangs is bounded and reported as hung" {
	start=$(now_ms)
	run -1 --separate-stderr "$PIDSHIM" matrix --json --kernel host --timeout 2s -p 5.3 -o logs -- ./t.sh hang
	assert_within "$start" 8000
	assert_equal "$(jqo '[.cells[].status] | join(" ")')" "hung not-run"
	assert_equal "$(jqo '.kernels[0].status')" hung
}

@test "matrix --json: the report's shape, --env and --file reach the test" {
	echo from-file > extra.txt
	run -0 --separate-stderr "$PIDSHIM" matrix --json --kernel host --env MY_VAR=my-value --file extra.txt -o logs -- ./t.sh env
	assert_json
	run jq -e --arg pwd "$PWD" '
		.arch == "x86_64" and .test == ["./t.sh", "env"] and .passed == 1 and .failed == 0 and
		.exit_code == 0 and .log_dir == ($pwd + "/logs") and
		(.kernels[0] | .name == "host" and .source == "host" and .status == "done" and
		 .accel == "host" and (.release | type == "string")) and
		(.cells[0] | .kernel == "host" and .personality == "native" and .status == "passed" and
		 .exit_code == 0 and .tap == {"passed": 1, "failed": 0, "skipped": 0, "planned": 1} and
		 (.log | endswith("/logs/host/native.log")))' <<< "$output"
	assert_success
	grep -q '^ok 1 - host native host my-value from-file$' logs/host/native.log
}

@test "matrix --probe adds a probe row per kernel; -p all runs every personality" {
	run -0 --separate-stderr "$PIDSHIM" matrix --json --probe --kernel host -p all -o logs -- ./t.sh
	want=$("$PIDSHIM" emulate --names | sort | tr '\n' ' ')
	assert_equal "$(jqo '[.cells[].personality] | .[0]')" probe
	assert_equal "$(jqo '[.cells[].personality | select(. != "probe")] | sort | join(" ")') " "$want"
	run jq -e '.cells[0].tap.passed >= 12 and .cells[0].tap.failed == 0' <<< "$output"
	assert_success
}

@test "matrix: an installed copy finds its guest files (make install DESTDIR)" {
	top=$BATS_TEST_DIRNAME/../..
	make -s -C "$top" BUILD="$PIDSHIM_BUILD" install-cli DESTDIR="$BATS_TEST_TMPDIR/inst" PREFIX=/usr > /dev/null
	for f in guest-init.sh matrix-run.sh kernel-fetch.sh debian-mirror.sh x86_64/pidshim; do
		[ -x "inst/usr/libexec/pidshim/$f" ] || fail "make install left out $f"
	done
	run -0 env -u PIDSHIM_LIBEXECDIR inst/usr/bin/pidshim matrix --kernel host -o logs -- ./t.sh
	assert_line --partial "1 cells: 1 passed or skipped, 0 failed"
	# Without them, a clear refusal instead of a broken guest.
	mkdir empty
	run --separate-stderr env PIDSHIM_LIBEXECDIR="$PWD/empty" inst/usr/bin/pidshim matrix --kernel host -o logs -- ./t.sh
	assert_equal "$status" 125
	[[ $stderr == *"PIDSHIM_LIBEXECDIR=$PWD/empty"* ]] || fail "stderr: $stderr"
}

@test "matrix: bad usage exits 2 with one line naming the problem" {
	run --separate-stderr "$PIDSHIM" matrix -- ./t.sh
	assert_usage_error "no kernel"
	run --separate-stderr "$PIDSHIM" matrix --kernel host ./t.sh
	assert_usage_error "missing '--' before TEST './t.sh'"
	run --separate-stderr "$PIDSHIM" matrix --kernel host
	assert_usage_error "missing '--'"
	run --separate-stderr "$PIDSHIM" matrix --kernel host -p 3.2 -- ./t.sh
	assert_usage_error "unknown personality '3.2'"
	run --separate-stderr "$PIDSHIM" matrix --kernel host --arch pdp11 -- ./t.sh
	assert_usage_error "unknown architecture 'pdp11'"
	if [ "$(uname -m)" != aarch64 ]; then
		run --separate-stderr "$PIDSHIM" matrix --kernel host --arch aarch64 -- ./t.sh
		assert_usage_error "the host kernel cannot run aarch64 tests here"
	fi
	run --separate-stderr "$PIDSHIM" matrix --kernel host --jobs 0 -- ./t.sh
	assert_usage_error "bad value '0' for --jobs"
	run --separate-stderr "$PIDSHIM" matrix --kernel host --accel fast -- ./t.sh
	assert_usage_error "--accel is auto, kvm or tcg"
	run --separate-stderr "$PIDSHIM" matrix --kernel host --env NOEQUALS -- ./t.sh
	assert_usage_error "NAME=VALUE"
	run --separate-stderr "$PIDSHIM" matrix --kernel host --timeout soon -- ./t.sh
	assert_usage_error "bad duration 'soon'"
	run --separate-stderr "$PIDSHIM" matrix --kernel 'a b=/x' -- ./t.sh
	assert_usage_error "bad kernel name 'a b'"
	run --separate-stderr "$PIDSHIM" matrix --kernel host --kernel host -- ./t.sh
	assert_usage_error "kernel 'host' given twice"
	run --separate-stderr "$PIDSHIM" matrix --kernel host --frob -- ./t.sh
	assert_usage_error "unknown option '--frob'"
	run --separate-stderr "$PIDSHIM" matrix --kernel
	assert_usage_error "'--kernel' needs a value"
}

@test "matrix: what cannot work is refused before any boot (exit 125)" {
	# A dynamically linked program cannot run in an initramfs without libc.
	run --separate-stderr "$PIDSHIM" matrix --kernel bullseye -o logs -- /bin/true
	assert_equal "$status" 125
	[[ $stderr == *"dynamically linked"* ]] || fail "stderr: $stderr"
	printf '#!/usr/bin/env python3\n' > py
	run --separate-stderr "$PIDSHIM" matrix --kernel bullseye -o logs -- ./py
	assert_equal "$status" 125
	[[ $stderr == *"interpreter"* ]] || fail "stderr: $stderr"
	run --separate-stderr "$PIDSHIM" matrix --kernel host -o logs --file /nonexistent/x -- ./t.sh
	assert_equal "$status" 125
	[[ $stderr == *"/nonexistent/x"* ]] || fail "stderr: $stderr"
	mkdir d && cp t.sh d/
	run --separate-stderr "$PIDSHIM" matrix --kernel host -o logs --file d/t.sh -- ./t.sh
	assert_equal "$status" 125
	[[ $stderr == *"both be /pm/t.sh"* ]] || fail "stderr: $stderr"
	run --separate-stderr "$PIDSHIM" matrix --kernel mine=/nonexistent/vmlinuz -o logs -- ./t.sh
	assert_equal "$status" 125
	[[ $stderr == *"/nonexistent/vmlinuz"* ]] || fail "stderr: $stderr"
	# An x86-64 test for an arm64 guest; no arm64 busybox in the libexec.
	cc -static -x c -o x86 - <<< 'int main(void) { return 0; }'
	run --separate-stderr "$PIDSHIM" matrix --arch aarch64 --kernel mine=./t.sh -o logs -- ./x86
	assert_equal "$status" 125
	[[ $stderr == *"cannot run in an aarch64 guest: built for another machine"* ]] ||
		fail "stderr: $stderr"
	mkdir lx && cp "$PIDSHIM_BUILD"/libexec/pidshim/*.sh lx/
	run --separate-stderr env PIDSHIM_LIBEXECDIR="$PWD/lx" "$PIDSHIM" matrix --arch aarch64 \
		--kernel mine=./t.sh -o logs -- ./t.sh
	assert_equal "$status" 125
	if command -v qemu-system-aarch64 > /dev/null; then
		[[ $stderr == *"no static busybox for aarch64 guests: put one at $PWD/lx/aarch64/busybox (Debian: busybox-static:arm64"* ]] ||
			fail "stderr: $stderr"
	else
		[[ $stderr == *"qemu-system-aarch64 is not installed (Debian: apt-get install qemu-system-arm)"* ]] ||
			fail "stderr: $stderr"
	fi
}

@test "pidshim-matrix(1) renders cleanly and documents every option" {
	page="$BATS_TEST_DIRNAME/../../man/man1/pidshim-matrix.1"
	run -0 --separate-stderr groff -man -t -Tutf8 -ww -z "$page"
	assert_equal "$stderr" ""
	run -0 bash -c 'groff -man -t -Tutf8 -P-cbou -rLL=1000n "$1" | tr -s " "' sh "$page"
	for opt in $("$PIDSHIM" matrix --help | grep -oE -- '--[a-z-]+' | sort -u); do
		assert_output --partial -- "$opt"
	done
	for word in qemu-system-x86 qemu-system-arm busybox-static busybox-static:arm64 PIDSHIM_LIBEXECDIR PIDSHIM_DEBIAN_MIRROR \
		PIDSHIM_MATRIX_CELL PIDSHIM_MATRIX_KERNEL PIDSHIM_MATRIX_ACCEL guest-init.sh \
		hung not-run timeout crashed; do
		assert_output --partial "$word"
	done
}
