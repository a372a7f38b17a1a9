#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Where the kernel fetcher and the minimal Debian base get their packages:
# ci/debian-mirror.sh reads the archive from the machine's own apt sources
# (deb822 .sources and one-line sources.list), skipping disabled entries,
# security archives and other vendors' repositories, and with none asks
# for PIDSHIM_DEBIAN_MIRROR instead of reaching for a default host.  The
# apt trees here are fake (PIDSHIM_SYSCONFDIR); no network is used.  And
# the repository itself names no package registry's host.

load helper

setup() {
	top=$BATS_TEST_DIRNAME/../..
	etc=$BATS_TEST_TMPDIR/etc
	mkdir -p "$etc/apt/sources.list.d"
	echo 'VERSION_CODENAME=bookworm' > "$etc/os-release"
	export PIDSHIM_SYSCONFDIR=$etc
	unset PIDSHIM_DEBIAN_MIRROR
}

@test "mirror: deb822 .sources, skipping other vendors, disabled and security entries" {
	cat > "$etc/apt/sources.list.d/a-vendor.sources" <<-EOF
		Types: deb
		URIs: https://vendor.example/node_20.x
		Suites: nodistro
		Components: main
	EOF
	cat > "$etc/apt/sources.list.d/debian.sources" <<-EOF
		# Disabled: must not be picked.
		Types: deb
		URIs: http://old.example/debian
		Suites: bookworm
		Components: main
		Enabled: no

		Types: deb
		URIs: http://sec.example/debian-security
		Suites: bookworm-security
		Components: main

		Types: deb-src deb
		URIs: http://mirror.example/debian/
		Suites: bookworm bookworm-updates
		Components: main contrib
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	run -0 "$top/ci/debian-mirror.sh"
	assert_output "http://mirror.example/debian"
}

@test "mirror: one-line sources.list with options, comments and deb-src" {
	cat > "$etc/apt/sources.list" <<-EOF
		# deb http://commented.example/debian bookworm main
		deb-src http://src.example/debian bookworm main
		deb http://sec.example/debian-security bookworm-security main
		deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://one.example/debian bookworm main non-free
	EOF
	run -0 "$top/ci/debian-mirror.sh"
	assert_output "http://one.example/debian"
}

@test "mirror: a suite name, not the codename, and a .list file also count" {
	echo 'deb http://list.example/debian stable main' > "$etc/apt/sources.list.d/x.list"
	run -0 "$top/ci/debian-mirror.sh"
	assert_output "http://list.example/debian"
}

@test "mirror: none configured: a clear message asking for PIDSHIM_DEBIAN_MIRROR" {
	echo 'deb https://vendor.example/apt stable-vendor main' > "$etc/apt/sources.list"
	run -1 --separate-stderr "$top/ci/debian-mirror.sh"
	assert_equal "$output" ""
	[[ $stderr == *"PIDSHIM_DEBIAN_MIRROR"* ]] || fail "stderr: $stderr"
	[[ $stderr == *"$etc/apt/sources.list"* ]] || fail "stderr: $stderr"
	# And what fetches kernels stops there, before any download.
	run --separate-stderr env XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache" "$top/ci/kernel-fetch.sh" bookworm
	assert_failure
	[[ $stderr == *"PIDSHIM_DEBIAN_MIRROR"* ]] || fail "stderr: $stderr"
	[ ! -e "$BATS_TEST_TMPDIR/cache/pidshim/kernels/amd64/apt" ]
}

@test "mirror: PIDSHIM_DEBIAN_MIRROR wins over the apt sources" {
	echo 'deb http://one.example/debian bookworm main' > "$etc/apt/sources.list"
	run -0 env PIDSHIM_DEBIAN_MIRROR=http://chosen.example/debian/ "$top/ci/debian-mirror.sh"
	assert_output "http://chosen.example/debian"
}

@test "the repository names no package registry's host" {
	git -C "$top" rev-parse --git-dir > /dev/null 2>&1 || skip "not a git checkout: nothing to search"
	# Written so that this file does not match its own patterns.
	run git -C "$top" grep -nIE \
		'(deb|security|ftp[.][a-z]+|snapshot|archive)[.](debian|ubuntu)[.](org|com)|(registry-1[.])?docker[.]io|quay[.]io|ghcr[.]io|registry[.]npmjs[.]org|pypi[.]org|pythonhosted[.]org|crates[.]io|proxy[.]golang[.]org'
	assert_equal "$output" ""
}
