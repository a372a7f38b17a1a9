#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# /init of the kernel-matrix initramfs (busybox sh as PID 1).  Mounts the
# pseudo file systems the tests need, runs ci/kernel-suite.sh with its
# output on the serial console, and powers the guest off so qemu exits.
# The suite runs in a child of PID 1: busybox ash waits with waitpid(-1),
# so orphans the tests leave behind are reaped as init would reap them.
# Settings come from /km.conf, written by ci/kernel-matrix.sh.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs dev /dev 2>/dev/null
# The initramfs has no /dev/console node: talk to the serial port directly.
exec </dev/ttyS0 >/dev/ttyS0 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mkdir -p /dev/pts /dev/shm /tmp
mount -t devpts devpts /dev/pts
mount -t tmpfs shm /dev/shm
mount -t tmpfs tmp /tmp
# Core dumps go to a file nobody reads, never to a pipe helper that the
# initramfs does not have (a test checks WCOREDUMP).
echo core > /proc/sys/kernel/core_pattern
# shellcheck disable=SC3045 # busybox ash has ulimit -c and -n
ulimit -c unlimited
# shellcheck disable=SC3045
ulimit -n 4096
ip link set lo up 2>/dev/null
hostname kernel-matrix

. /km.conf
export PIDSHIM_TEST_QUICK PIDSHIM_TEST_SLOW KM_TEST_TIMEOUT TMPDIR=/tmp HOME=/tmp
cd /tmp || :
# shellcheck disable=SC2086
/bin/sh /kernel-suite.sh /tests /pidshim $KM_PERSONALITIES &
wait $!
sync
poweroff -f
echo o > /proc/sysrq-trigger
sleep 5
