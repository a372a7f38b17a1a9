# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Every ABI a distribution builds, in `make check`: i386 (gcc -m32, compat
# syscalls of a 64-bit kernel), x86-64 musl (musl-gcc), aarch64 and s390x
# (Debian's cross compilers, big-endian s390x, run under qemu-user).  Each
# ABI is built in $(BUILD)/abi/NAME with its own compiler (the library,
# static archive, selftests, and the CLI where Debian has a libseccomp for
# it) and its selftests run; see ci/check-abi.sh for how and what a skip
# there means.
#   make check-abi          every ABI in ABIS    -> results abi-NAME (one each)
#   make check-abi-NAME     one ABI
# A cross build outside the tests needs nothing from here: CC is enough,
# see the Makefile's toolchain variables and the README (Platforms).

ABIS ?= i386 musl aarch64 s390x

.PHONY: check-abi $(addprefix check-abi-,$(ABIS))

check-abi:
	@rc=0; for a in $(ABIS); do \
		MAKE="$(MAKE)" ci/check-abi.sh $$a $(BUILD) $(BUILD)/results || rc=1; \
	done; exit $$rc

$(addprefix check-abi-,$(ABIS)): check-abi-%:
	@MAKE="$(MAKE)" ci/check-abi.sh $* $(BUILD) $(BUILD)/results

CHECK_TARGETS += check-abi
