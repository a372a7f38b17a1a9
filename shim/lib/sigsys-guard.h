/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sigsys-guard.h - a syscall that survives a SECCOMP_RET_TRAP filter, for
 * the library's probe and the CLI's feature probes alike.
 *
 * Such a filter (Android, some sandboxes) answers a blocked syscall with a
 * synchronous SIGSYS whose default action kills the process.  Between
 * sigsys_guard_begin() and sigsys_guard_end() a temporary handler turns
 * the trap of a guarded_syscall() into SYSCALL_TRAPPED; a SIGSYS that is
 * not ours goes to the handler we displaced, as if we were not there.  The
 * caller's handler and signal mask are put back at the end.  Begin/end are
 * not thread-safe against each other (callers hold a lock or run one
 * thread); the jump target is per thread.  Functions here are static:
 * the library and the CLI each get their own copy, from one source.
 */
#ifndef PIDSHIM_SIGSYS_GUARD_H
#define PIDSHIM_SIGSYS_GUARD_H

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* What guarded_syscall() returns when a filter trapped the call: below
 * every -errno value (the kernel's are above -4096). */
#define SYSCALL_TRAPPED (-4096L)

/* Set only while this thread runs a guarded syscall; read by the handler. */
static __thread sigjmp_buf *volatile sigsys_jmp
	__attribute__((tls_model("initial-exec")));
static struct sigaction sigsys_prev;

static void sigsys_guard_handler(int sig, siginfo_t *si, void *uc)
{
	sigjmp_buf *jb = sigsys_jmp;

	if (jb)
		siglongjmp(*jb, 1);
	/* Not ours: behave as the handler we displaced would have. */
	if (sigsys_prev.sa_flags & SA_SIGINFO) {
		sigsys_prev.sa_sigaction(sig, si, uc);
	} else if (sigsys_prev.sa_handler == SIG_DFL) {
		signal(sig, SIG_DFL);
		raise(sig);
	} else if (sigsys_prev.sa_handler != SIG_IGN) {
		sigsys_prev.sa_handler(sig);
	}
}

/* The trap must reach our handler: unblock SIGSYS in this thread. */
static inline void sigsys_guard_begin(sigset_t *oldmask)
{
	struct sigaction sa;
	sigset_t unblock;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_guard_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&unblock);
	sigaddset(&unblock, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &unblock, oldmask);
	sigaction(SIGSYS, &sa, &sigsys_prev);
}

static inline void sigsys_guard_end(const sigset_t *oldmask)
{
	sigaction(SIGSYS, &sigsys_prev, NULL);
	pthread_sigmask(SIG_SETMASK, oldmask, NULL);
}

/* One syscall: its result, -errno, or SYSCALL_TRAPPED. */
static inline long guarded_syscall(long nr, long a, long b, long c, long d, long e)
{
	sigjmp_buf jb;
	volatile long r;

	if (sigsetjmp(jb, 1)) {
		sigsys_jmp = NULL;
		return SYSCALL_TRAPPED;
	}
	sigsys_jmp = &jb;
	r = syscall(nr, a, b, c, d, e);
	if (r < 0)
		r = -errno;
	sigsys_jmp = NULL;
	return r;
}

#endif
