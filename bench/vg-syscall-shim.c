/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vg-syscall-shim.c - LD_PRELOAD'ed into the pidshim benchmark only when
 * B5 runs it under a valgrind that does not implement pidfd_send_signal
 * (syscall 424: Debian trixie's valgrind 3.24 has pidfd_open but answers
 * 424 with ENOSYS).  The library's probe requires pidfd_send_signal, so
 * without this the pidfd backends could not be measured under callgrind
 * at all.  It replaces libc's syscall(3): 424 is answered with the
 * equivalent kill(2) of the pid the pidfd names (from /proc/self/fdinfo),
 * every other number is passed straight to the kernel, exactly as libc's
 * syscall(3) does.  The instructions B5 counts inside libpidshim are the
 * same as without it; on pidfd-poll, whose wait asks pidfd_send_signal(0)
 * whether the child was reaped by other code, the counts outside the
 * library (own+callees, process) include this fdinfo read.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#ifndef __x86_64__
#error "the raw syscall below is written for x86_64"
#endif

long syscall(long nr, ...);

static long raw_syscall6(long nr, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

static long pidfd_send_signal_by_kill(int pidfd, int sig)
{
	char path[64], line[128];
	long pid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	f = fopen(path, "re");
	if (!f) {
		errno = EBADF;
		return -1;
	}
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Pid:", 4))
			pid = strtol(line + 4, NULL, 10);
	fclose(f);
	if (pid <= 0) {
		errno = pid == -1 ? EBADF
				  : ESRCH; /* not a pidfd; or reaped (-1 "Pid:") */
		return -1;
	}
	return kill((pid_t)pid, sig);
}

long syscall(long nr, ...)
{
	long a, b, c, d, e, f;
	va_list ap;

	va_start(ap, nr);
	a = va_arg(ap, long);
	b = va_arg(ap, long);
	c = va_arg(ap, long);
	d = va_arg(ap, long);
	e = va_arg(ap, long);
	f = va_arg(ap, long);
	va_end(ap);
	if (nr == 424 && c == 0 && d == 0)
		return pidfd_send_signal_by_kill((int)a, (int)b);
	return raw_syscall6(nr, a, b, c, d, e, f);
}
