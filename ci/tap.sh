# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the ci/check-*.sh scripts: TAP lines and the per-suite count
# file of the results protocol (see Makefile), in one place.
#   . ci/tap.sh; tap_init SUITE BUILD
#   ok "what held"; no "what failed"; show LOGFILE; finish
tap_init() {
	tap_suite=$1
	case $2 in /*) tap_res=$2/results ;; *) tap_res=$(pwd)/$2/results ;; esac
	mkdir -p "$tap_res"
	pass=0 fail=0 skip=0
}
ok() { echo "ok - $1"; pass=$((pass + 1)); }
no() { echo "not ok - $1"; fail=$((fail + 1)); }
show() { tail -20 "$1" | sed 's/^/    /'; }
# Writes RESULTS/SUITE.count and exits: 0 when nothing failed.
finish() {
	echo "$pass $fail $skip" > "$tap_res/$tap_suite.count"
	echo "$tap_suite: pass $pass, fail $fail, skip $skip"
	[ "$fail" -eq 0 ]
	exit
}
