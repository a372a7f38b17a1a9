# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Distro QA image for pidshim.  Building it installs the dependencies
# (ci/deps.sh), builds and installs pidshim, and runs `make check`: the
# build fails when a test fails.  Running it (default command
# ci/kernel-qa.sh) checks the kernel the container runs on: `pidshim probe
# --tap`, then the static selftests under every kernel personality, ending
# with "N passed, N failed, N skipped" and exit status 0 only when nothing
# failed.  So a distribution boots its candidate kernel and runs:
#
#   docker build -t pidshim-qa .
#   docker run --rm --security-opt seccomp=unconfined pidshim-qa
#
# Build arguments: PIDSHIM_TEST_QUICK=1 scales the heavy tests down ~10x,
# PIDSHIM_VALGRIND=0 leaves the valgrind suite out, PIDSHIM_CHECK_TARGETS
# names the only check targets to run (`make docker-test` in .ci/run sets
# them: the full suite runs on the host there).
FROM debian:bookworm

ARG PIDSHIM_TEST_QUICK=0
ARG PIDSHIM_VALGRIND=1
ARG PIDSHIM_CHECK_TARGETS=
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8

WORKDIR /src/pidshim

# The README's quick start, in its order, on this minimal Debian: first
# `ci/deps.sh build && make && ./build/pidshim probe` (`make docker-test`
# checks that these lines still hold the README's commands), then what
# `make check` installs.  The package lists alone first: that layer is
# reused until a list changes.  (.dockerignore leaves out the
# kernel-matrix list: qemu and podman are not needed inside the image.)
COPY ci/deps.sh ci/deps.sh
COPY ci/deps/ ci/deps/
RUN ci/deps.sh build

COPY . .
RUN make && ./build/pidshim probe
RUN ci/deps.sh check && rm -rf /var/lib/apt/lists/* \
	&& make install && ldconfig && make -j"$(nproc)" selftests-static cli-static
RUN PIDSHIM_TEST_QUICK=$PIDSHIM_TEST_QUICK PIDSHIM_VALGRIND=$PIDSHIM_VALGRIND \
	PIDSHIM_CHECK_TARGETS="$PIDSHIM_CHECK_TARGETS" ci/docker-check.sh

CMD ["ci/kernel-qa.sh"]
