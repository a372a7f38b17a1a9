# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Real kernels: `make kernel-matrix` boots Debian kernels under qemu and runs
# the static selftests under every personality on each (and on the host
# kernel) through `pidshim matrix`; `make docker-test` builds and runs the
# distro-QA container image; `make readme-minimal` runs the README's quick
# start in a minimal Debian 12 chroot.  None is in CHECK_TARGETS: they are
# slow and .ci/run calls them after `make check`; each writes its counts
# into $(BUILD)/results so the final summary adds them up.
#
#   make kernel-matrix                          bullseye bookworm trixie sid + host
#                                               + arm64 (bookworm's cloud-arm64)
#   make kernel-matrix KERNEL_SUITES=bullseye KM_HOST=0 KM_ARM64=
#                                               one kernel (CI job matrix)
#   make kernel-matrix KERNEL_SUITES= KM_HOST=0  the arm64 column alone
#   make kernel-matrix KM_ARM64=                 without the arm64 column
#   make kernel-matrix KERNELS="mine=/boot/vmlinuz-6.6.0 /tmp/bzImage"
#   make kernel-fetch                           only download into the cache
# More knobs (KM_JOBS, KM_ACCEL, KM_BOOT_TIMEOUT, ...): see ci/kernel-matrix.sh.

KERNEL_SUITES ?= bullseye bookworm trixie sid
KERNELS ?=
KM_HOST ?= 1
# The Debian suite of the arm64 column (its cloud-arm64 kernel under
# qemu-system-aarch64 TCG, with the aarch64 static build of
# ci/abi-static.sh); empty: no arm64 column.
KM_ARM64 ?= bookworm

.PHONY: kernel-matrix kernel-fetch docker-test readme-minimal

kernel-matrix: check-deps
	@$(MAKE) --no-print-directory selftests-static cli cli-libexec
	BUILD=$(BUILD) KERNEL_SUITES="$(KERNEL_SUITES)" KERNELS="$(KERNELS)" \
		KM_HOST=$(KM_HOST) KM_ARM64="$(KM_ARM64)" ci/kernel-matrix.sh

kernel-fetch:
	@for s in $(KERNEL_SUITES); do ci/kernel-fetch.sh $$s || exit 1; done
	@for s in $(KM_ARM64); do PIDSHIM_KERNEL_ARCH=arm64 ci/kernel-fetch.sh $$s || exit 1; done

docker-test: check-deps
	BUILD=$(BUILD) ci/docker-test.sh

# The README's quick start in a minimal Debian 12 chroot, in the README's
# order; PIDSHIM_README_QUICK=0 for the full make check inside.
readme-minimal: check-deps
	BUILD=$(BUILD) ci/readme-minimal.sh
