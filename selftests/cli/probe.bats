#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `pidshim probe`: the JSON object is valid and complete, the three output
# formats agree with each other and with the exit code, the facts it
# reports match /proc and uname, and under the seccomp personalities of
# `pidshim emulate` it sees exactly what each filter hides (ENOSYS, EPERM,
# EINVAL, a SIGSYS trap that must not kill it) and calls the kernel
# inconsistent with the likely cause.

load helper

FEATURES="pidfd_send_signal clone_pidfd pidfd_open pidfd_poll clone3 waitid_pidfd \
pidfd_getfd pidfd_nonblock process_mrelease pidfd_thread pidfd_get_info pidfd_info_exit"

@test "probe --json: one valid JSON object with the documented keys" {
	run --separate-stderr "$PIDSHIM" probe --json
	assert [ "$status" -le 1 ]
	assert_json
	run jq -e 'has("pidshim_version") and has("kernel") and has("seccomp") and
		has("personality") and has("features") and has("backend") and
		has("problems") and has("consistent")' <<< "$output"
	assert_success
}

@test "probe --json: every feature, oldest first, with version and result" {
	run "$PIDSHIM" probe --json
	assert_json
	assert_equal "$(jqo '[.features[].name] | join(" ")')" "$(echo $FEATURES)"
	json=$output
	run jq -e '.features | all(
		(.since | test("^[0-9]+\\.[0-9]+$")) and (.found | type == "boolean") and
		(.sigsys | type == "boolean") and (.expected | type == "boolean") and
		(.consistent | type == "boolean") and
		(if .found then .errno == null else (.errno == null or (.errno | test("^E[A-Z0-9]+$"))) end) and
		(.consistent == (.found or (.expected | not))) and
		((.cause == null) == .consistent))' <<< "$json"
	assert_success
	# Sorted by the version that introduced them.
	run jq -e '[.features[].since | split(".") | map(tonumber)] | . == sort' <<< "$json"
	assert_success
}

@test "probe --json: kernel release, seccomp mode and backend match the system" {
	run "$PIDSHIM" probe --json
	assert_json
	assert_equal "$(jqo .kernel.release)" "$(uname -r)"
	assert_equal "$(jqo .kernel.machine)" "$(uname -m)"
	# The probe inherits our seccomp state, so it must see the same mode.
	want=$(awk '/^Seccomp:/ {print $2}' /proc/self/status)
	assert_equal "$(jqo .seccomp.mode)" "$want"
	case $want in
	0) assert_equal "$(jqo .seccomp.mode_name)" disabled ;;
	2) assert_equal "$(jqo .seccomp.mode_name)" filter ;;
	esac
	if [ -n "${PIDSHIM_BACKEND-}" ]; then
		assert_equal "$(jqo .backend.name)" "$PIDSHIM_BACKEND"
		assert_equal "$(jqo .backend.forced)" "$PIDSHIM_BACKEND"
	else
		assert_equal "$(jqo .backend.forced)" null
		# The library's choice follows from the features found.
		assert_equal "$(jqo .backend.name)" "$(jqo .backend.expected)"
	fi
	[ -n "$(jqo .backend.reason)" ]
}

@test "probe: exit code is 1 exactly when problems are reported" {
	run "$PIDSHIM" probe --json
	assert_json
	problems=$(jqo .problems)
	want=$(printf '%s' "$output" | jq '([.features[] | select(.consistent | not)] | length) + (if .backend.consistent then 0 else 1 end)')
	assert_equal "$problems" "$want"
	if [ "$problems" = 0 ]; then
		assert_equal "$status" 0
		assert_equal "$(jqo .consistent)" true
	else
		assert_equal "$status" 1
		assert_equal "$(jqo .consistent)" false
	fi
}

@test "probe --tap: valid TAP, one line per check, agrees with --json" {
	run "$PIDSHIM" probe --json
	json=$output
	json_status=$status
	run "$PIDSHIM" probe --tap
	assert_equal "$status" "$json_status"
	assert_line --index 0 "TAP version 13"
	assert_line --index 1 "1..13"
	n=$(grep -cE '^(not )?ok [0-9]+ - ' <<< "$output")
	assert_equal "$n" 13
	# Numbered 1..13 in order.
	assert_equal "$(grep -oE '^(not )?ok [0-9]+' <<< "$output" | awk '{print $NF}' | paste -sd' ')" \
		"$(seq -s' ' 1 13)"
	assert_equal "$(grep -c '^not ok' <<< "$output" || true)" "$(jq .problems <<< "$json")"
	# Every `not ok` names a likely cause.
	while read -r line; do
		[[ $line == *"likely cause"* || $line == *backend* ]] || fail "no cause: $line"
	done < <(grep '^not ok' <<< "$output" || true)
}

@test "probe (human): a table of all features and the same exit code" {
	run "$PIDSHIM" probe --json
	json_status=$status
	run "$PIDSHIM" probe
	assert_equal "$status" "$json_status"
	assert_line --regexp "^kernel +$(uname -r | sed 's/[.+]/\\&/g') "
	assert_line --regexp '^seccomp '
	assert_line --regexp '^backend '
	for label in 'pidfd_open()' 'waitid(P_PIDFD)' 'clone(CLONE_PIDFD)' PIDFD_INFO_EXIT; do
		assert_line --partial "$label"
	done
}

@test "probe: bad usage exits 2 with one line" {
	run --separate-stderr "$PIDSHIM" probe --json --tap
	assert_usage_error "exclude each other"
	run --separate-stderr "$PIDSHIM" probe extra
	assert_usage_error "'extra'"
	run --separate-stderr "$PIDSHIM" probe --jsn
	assert_usage_error "unknown option '--jsn'"
}

@test "probe: a forced backend that is not a backend name is a problem, not a crash" {
	run env PIDSHIM_BACKEND=bogus "$PIDSHIM" probe --json
	assert_failure 1
	assert_json
	assert_equal "$(jqo .backend.name)" null
	assert_equal "$(jqo .backend.error)" EINVAL
	assert_equal "$(jqo .backend.consistent)" false
	[[ $(jqo .backend.reason) == *bogus* ]]
}

@test "probe under the 4.19 personality: pidfd syscalls ENOSYS, clone flag EINVAL" {
	run "$PIDSHIM" emulate 4.19 -- "$PIDSHIM" probe --json
	assert_json
	assert_equal "$(jqo .personality)" 4.19
	assert_equal "$(jqo .seccomp.mode)" 2
	for f in pidfd_send_signal pidfd_open clone3; do
		assert_equal "$(jqo ".features[] | select(.name == \"$f\") | [.found, .errno] | @tsv")" \
			"$(printf 'false\tENOSYS')"
	done
	assert_equal "$(jqo '.features[] | select(.name == "clone_pidfd") | .errno')" EINVAL
	assert_equal "$(jqo '.backend.name')" "${PIDSHIM_BACKEND:-signalfd}"
	# The kernel claims >= 5.3 but pidfd_open is gone: inconsistent, and
	# the cause names the personality's filter.
	if [ "$(jqo '.features[] | select(.name == "pidfd_open") | .expected')" = true ]; then
		assert_failure 1
		[[ $(jqo '.features[] | select(.name == "pidfd_open") | .cause') == *"emulate 4.19"* ]]
	fi
}

@test "probe under the 5.3 personality: pidfd_open works, waitid(P_PIDFD) EINVAL, pidfd-poll" {
	run "$PIDSHIM" emulate 5.3 -- "$PIDSHIM" probe --json
	assert_json
	assert_equal "$(jqo '.features[] | select(.name == "pidfd_open") | .found')" true
	assert_equal "$(jqo '.features[] | select(.name == "pidfd_poll") | .found')" true
	assert_equal "$(jqo '.features[] | select(.name == "waitid_pidfd") | .errno')" EINVAL
	assert_equal "$(jqo '.features[] | select(.name == "pidfd_nonblock") | .errno')" EINVAL
	assert_equal "$(jqo '.backend.name')" "${PIDSHIM_BACKEND:-pidfd-poll}"
}

@test "probe under docker-eperm: EPERM seen, clone(CLONE_PIDFD) still found" {
	run "$PIDSHIM" emulate docker-eperm -- "$PIDSHIM" probe --json
	assert_json
	assert_equal "$(jqo '.features[] | select(.name == "pidfd_open") | .errno')" EPERM
	assert_equal "$(jqo '.features[] | select(.name == "clone3") | .errno')" ENOSYS
	# pidfds from clone(CLONE_PIDFD) still work, so waitid(P_PIDFD) is
	# tested with one and found: one blocked syscall hides nothing else.
	assert_equal "$(jqo '.features[] | select(.name == "clone_pidfd") | .found')" true
	assert_equal "$(jqo '.features[] | select(.name == "waitid_pidfd") | .found')" true
	assert_equal "$(jqo '.backend.name')" "${PIDSHIM_BACKEND:-signalfd}"
}

@test "probe under android-sigsys: SIGSYS traps are reported, never fatal" {
	run "$PIDSHIM" emulate android-sigsys -- "$PIDSHIM" probe --json
	# 159 would be death by SIGSYS.
	assert [ "$status" -le 1 ]
	assert_json
	assert_equal "$(jqo '.features[] | select(.name == "pidfd_open") | [.found, .sigsys] | @tsv')" \
		"$(printf 'false\ttrue')"
	assert_equal "$(jqo '.features[] | select(.name == "pidfd_send_signal") | .sigsys')" true
	assert_equal "$(jqo '.backend.name')" "${PIDSHIM_BACKEND:-signalfd}"
	run "$PIDSHIM" emulate android-sigsys -- "$PIDSHIM" probe --tap
	assert [ "$status" -le 1 ]
	if [ "$status" = 1 ]; then
		assert_line --regexp '^not ok [0-9]+ - pidfd_open\(\) .*SIGSYS'
	fi
}

@test "probe: the backend matches what each personality must select" {
	for p in $("$PIDSHIM" emulate --names); do
		want=${PIDSHIM_BACKEND:-$("$PIDSHIM" emulate --expected-backend "$p")}
		run "$PIDSHIM" emulate "$p" -- "$PIDSHIM" probe --json
		assert_json
		assert_equal "$p: $(jqo .backend.name)" "$p: $want"
		assert_equal "$p: $(jqo .backend.consistent)" "$p: true"
	done
}
