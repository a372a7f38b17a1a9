#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# /init of the initramfs `pidshim matrix` boots (busybox sh as PID 1;
# installed in pidshim's libexec directory).  Mounts the pseudo file
# systems tests expect, says "@@PM hello" on the serial console (the host
# knows the guest booted), runs matrix-run.sh with its output on the
# console, and powers the guest off so qemu exits.  The runner is a child
# of PID 1: busybox ash waits with waitpid(-1), so orphans a test leaves
# behind are reaped as init would reap them.  The kernel command line
# brings pidshim.kernel=NAME, pidshim.accel=tcg|kvm and
# pidshim.console=DEVICE, passed on to the test's environment.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs dev /dev 2>/dev/null
mount -t proc proc /proc
kernel='?' accel='?' console=ttyS0
# shellcheck disable=SC2013 # words, not lines
for w in $(cat /proc/cmdline); do
	case $w in
	pidshim.kernel=*) kernel=${w#*=} ;;
	pidshim.accel=*) accel=${w#*=} ;;
	pidshim.console=*) console=${w#*=} ;;
	esac
done
# Talk to the serial port itself: /dev/console is not a controlling tty.
exec </dev/"$console" >/dev/"$console" 2>&1
echo "@@PM hello"
mount -t sysfs sys /sys
mkdir -p /dev/pts /dev/shm /tmp
mount -t devpts devpts /dev/pts
mount -t tmpfs shm /dev/shm
mount -t tmpfs tmp /tmp
# Core dumps go to a file nobody reads, never to a pipe helper that the
# initramfs does not have (tests may check WCOREDUMP).
echo core > /proc/sys/kernel/core_pattern
# shellcheck disable=SC3045 # busybox ash has ulimit -c and -n
ulimit -c unlimited
# shellcheck disable=SC3045
ulimit -n 4096
ip link set lo up 2>/dev/null
hostname pidshim-matrix

export PIDSHIM_MATRIX_KERNEL="$kernel" PIDSHIM_MATRIX_ACCEL="$accel" TMPDIR=/tmp HOME=/tmp
cd /tmp || :
/bin/sh /matrix-run.sh /pm.conf /pm /pidshim &
wait $!
sync
poweroff -f
echo o > /proc/sysrq-trigger
sleep 5
