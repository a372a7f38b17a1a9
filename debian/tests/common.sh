# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=sh
# Sourced by the autopkgtests here: TAP-like ok/not ok lines, the check
# that a program uses the libpidshim.so.0 of the installed libpidshim0 (not
# a copy from elsewhere), and the cross-compilation prefix autopkgtest
# sets for cross testing.
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
no() { echo "not ok - $1"; fail=$((fail + 1)); }
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}
# shellcheck disable=SC2034 # used by the sourcing scripts
cross=${DEB_HOST_GNU_TYPE:+$DEB_HOST_GNU_TYPE-}

# uses_installed_lib PROGRAM: its libpidshim.so.0 is the file libpidshim0 ships.
uses_installed_lib() {
	so=$(ldd "$1" | awk '$1 == "libpidshim.so.0" { print $3 }')
	[ -n "$so" ] || return 1
	real=$(readlink -f "$so")
	for f in $(dpkg -L libpidshim0); do
		[ "$(readlink -f "$f")" = "$real" ] && return 0
	done
	return 1
}
