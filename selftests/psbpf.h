/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * psbpf.h - seccomp filters for selftests that make the kernel refuse a
 * call: the architecture check every filter starts with, where arguments
 * sit in struct seccomp_data, and the installation.  Native builds only
 * define PS_AUDIT_ARCH; tests that need a filter are built under it.
 */
#ifndef PSBPF_H
#define PSBPF_H

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>

#include "pstest.h"

#if defined(__x86_64__)
#define PS_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define PS_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define PS_AUDIT_ARCH AUDIT_ARCH_I386
#elif defined(__s390x__)
#define PS_AUDIT_ARCH AUDIT_ARCH_S390X
#endif

#ifdef PS_AUDIT_ARCH
/* Every filter's start: allow other ABIs' calls, then load the number. */
#define PS_BPF_OUR_ARCH_THEN_NR                                                  \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)), \
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PS_AUDIT_ARCH, 1, 0),        \
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),                    \
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))

/* The low 32 bits of argument n. */
#define PS_ARG_LO(n)                              \
	(offsetof(struct seccomp_data, args[n]) + \
	 (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 4 : 0))

/* Installs the filter for the calling thread (and the threads it makes
 * from now on): 0, or -errno (-EINVAL, -ENOSYS: no seccomp filters here,
 * as under valgrind and qemu-user). */
static inline int ps_install_filter(struct sock_filter *f, unsigned short len)
{
	struct sock_fprog prog = { .len = len, .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		return -errno;
	return 0;
}
#endif /* PS_AUDIT_ARCH */

#endif /* PSBPF_H */
