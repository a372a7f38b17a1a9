/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kabi.h - the pidfd kernel interface, in one place for the library, the
 * CLI and the personalities: syscall numbers, waitid's P_PIDFD, the clone
 * and pidfd_open flags, and PIDFD_GET_INFO with its struct.  Each is
 * defined only when the libc or kernel headers of the build machine are
 * older than the kernels pidshim runs on (glibc >= 2.28 and musl must
 * build the library).  Syscall numbers are the generic ones
 * (asm-generic/unistd.h), shared by every architecture since 4.19 except
 * alpha and the mips ABIs' offsets.  The selftests keep an independent copy
 * on purpose (selftests/pstest.h): an oracle must not share the code it
 * checks.
 */
#ifndef PIDSHIM_KABI_H
#define PIDSHIM_KABI_H

#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424 /* Linux 5.1 */
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434 /* Linux 5.3 */
#endif
#ifndef __NR_clone3
#define __NR_clone3 435 /* Linux 5.3 */
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438 /* Linux 5.6 */
#endif
#ifndef __NR_process_mrelease
#define __NR_process_mrelease 448 /* Linux 5.15 */
#endif

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal __NR_pidfd_send_signal
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open __NR_pidfd_open
#endif
#ifndef SYS_clone3
#define SYS_clone3 __NR_clone3
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd __NR_pidfd_getfd
#endif
#ifndef SYS_process_mrelease
#define SYS_process_mrelease __NR_process_mrelease
#endif

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000 /* Linux 5.2 */
#endif
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL /* Linux 5.5, clone3 only */
#endif
#ifndef P_PIDFD
#define P_PIDFD 3 /* waitid idtype, Linux 5.4 */
#endif

/* clone3's argument as Linux 5.3 defined it (CLONE_ARGS_SIZE_VER0). */
struct pidshim_clone_args {
	uint64_t flags;
	uint64_t pidfd;
	uint64_t child_tid;
	uint64_t parent_tid;
	uint64_t exit_signal;
	uint64_t stack;
	uint64_t stack_size;
	uint64_t tls;
};

/* pidfd_open() flags, each the open(2) flag it reuses. */
#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK /* Linux 5.10 */
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* Linux 6.9 */
#endif

/*
 * ioctl(PIDFD_GET_INFO) (Linux 6.13): a process's ids; with
 * PIDFD_INFO_EXIT (6.15) how a process that is not our child ended.  The
 * ioctl is extensible: the kernel matches its type and number and takes
 * the struct's size from the request (64 bytes in version 0, 6.13), so a
 * caller may pass an older, smaller size (PIDSHIM_PIDFD_GET_INFO_SIZED).
 */
struct pidshim_pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
	uint32_t coredump_mask; /* Linux 6.16 */
	uint32_t spare1;
};
#define PIDSHIM_PIDFD_INFO_SIZE_VER0	   64
#define PIDSHIM_PIDFD_GET_INFO_SIZED(size) _IOC(_IOC_READ | _IOC_WRITE, 0xFF, 11, (size))
#define PIDSHIM_PIDFD_GET_INFO \
	PIDSHIM_PIDFD_GET_INFO_SIZED(sizeof(struct pidshim_pidfd_info))
#ifndef PIDFD_INFO_PID
#define PIDFD_INFO_PID (1ULL << 0)
#endif
#ifndef PIDFD_INFO_EXIT
#define PIDFD_INFO_EXIT (1ULL << 3)
#endif

#endif
