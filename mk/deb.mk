# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Debian packaging (debian/): what a distribution builds and tests.
#   make deb        ci/deb-build.sh: source package and the binary packages
#                   libpidshim0, libpidshim-dev, pidshim, pidshim-tests from
#                   a clean copy of the tree, into $(BUILD)/deb/
#   make check-deb  ci/check-deb.sh: make deb, then lintian (no error, no
#                   warning), hardening-check on every ELF file, blhc on
#                   the build log, the symbols file against the version
#                   script, each package's contents, and the autopkgtests
#                   of debian/tests against the built packages (null runner
#                   in a throwaway overlay of /usr, /etc and /var); suites
#                   "deb" and "deb-installed-tests"
# Neither is in ALL_TARGETS: dpkg-dev, debhelper, lintian and friends are
# check dependencies (ci/deps/deb.list).

.PHONY: deb check-deb

deb:
	ci/deb-build.sh $(BUILD)

check-deb:
	ci/check-deb.sh $(BUILD)

CHECK_TARGETS += check-deb
