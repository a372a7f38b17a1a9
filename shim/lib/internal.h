/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * internal.h - what the library's files share: the handle structure, the
 * backend operations, raw syscall wrappers returning -errno, and the SIGCHLD
 * service used by the signalfd backend and for reaping abandoned children.
 *
 * Kernel constants are defined here when the libc headers lack them, so the
 * library builds with glibc >= 2.28 and musl alike.
 */
#ifndef PIDSHIM_INTERNAL_H
#define PIDSHIM_INTERNAL_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pidshim.h"

/*
 * Internal linkage for what the files share.  In the shared library the
 * names are hidden; libpidshim.a is linked into one object whose hidden
 * names are made local (see Makefile); in the one-file amalgamation they
 * are static.  No name outside pidshim_ ever reaches a program.
 */
#ifdef PIDSHIM_AMALGAMATION
#define HIDDEN static
#define HIDDEN_DATA static
#else
#define HIDDEN __attribute__((visibility("hidden")))
#define HIDDEN_DATA HIDDEN extern
#endif

#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424 /* Linux 5.1, same number on every arch */
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434 /* Linux 5.3 */
#endif
#ifndef P_PIDFD
#define P_PIDFD 3 /* Linux 5.4 */
#endif

/* Largest valid signal number (the kernel's _NSIG). */
#define PIDSHIM_SIGMAX 64

/* Raw syscalls, -errno on failure, like musl's __syscall. */
static inline int sys_pidfd_open(pid_t pid, unsigned int flags)
{
	long r = syscall(__NR_pidfd_open, pid, flags);
	return r < 0 ? -errno : (int)r;
}

static inline int sys_pidfd_send_signal(int fd, int sig)
{
	return syscall(__NR_pidfd_send_signal, fd, sig, NULL, 0) < 0 ? -errno : 0;
}

/* The 5-argument waitid, so the kernel fills rusage (glibc's has 4). */
static inline int sys_waitid(int idtype, long id, siginfo_t *si, int options,
			     struct rusage *ru)
{
	return syscall(SYS_waitid, idtype, id, si, options, ru) < 0 ? -errno : 0;
}

/* Life of a handle's process, as the user sees it. */
enum h_state {
	H_RUNNING = 0, /* not known to have exited */
	H_ZOMBIE,      /* signalfd backend, not owned: ended, not reaped yet */
	H_EXITED,      /* signalfd backend: reaped by the service, status kept */
	H_GONE,	       /* reaped by somebody else or auto-reaped: -ECHILD */
	H_DONE,	       /* wait/try_wait returned its final result */
};

struct backend_ops;

struct pidshim {
	pid_t pid;
	int fd;	     /* pidfd, or eventfd on the signalfd backend */
	bool owned;  /* spawned (or PIDSHIM_OPEN_OWN): reap it if closed early */
	bool child;  /* a child of this process (only children can be reaped) */
	bool orphan; /* closed by the user while running; the service reaps it */
	bool tracked; /* in the service's table (under svc lock) */
	int procfd;  /* signalfd backend: /proc/PID, names the process, or -1 */
	const struct backend_ops *ops;
	_Atomic int state; /* enum h_state */

	/* Service table (signalfd backend, orphans): under svc lock. */
	struct pidshim *hnext;
	unsigned int waiters; /* threads blocked in waitid(P_PID) on it */
	/* The status the service reaped, valid in H_EXITED: room for it
	 * follows the handle where the backend keeps one (keeps_exit),
	 * else NULL (272 of the bytes a handle would otherwise take). */
	struct pidshim_exit *exit;

	/* Set membership: under the set's lock. */
	struct pidshim_set *set;
	uint32_t set_idx;
	uint32_t set_gen;
	bool set_armed; /* registered in the set's epoll */
	uint64_t set_seq;
};

struct backend_ops {
	/* The service reaps for this backend and keeps the status. */
	bool keeps_exit;
	/* Optional, before spawning: get what may fail with EMFILE/ENOMEM
	 * now, so that a started child rarely has to be killed. */
	int (*prepare)(struct pidshim *h);
	/* Make h->fd and whatever tracking the backend needs for h->pid. */
	int (*attach)(struct pidshim *h);
	/* Reap if exited: 0 and *e filled, -EAGAIN, -ECHILD. */
	int (*try_reap)(struct pidshim *h, struct pidshim_exit *e);
	/* Block up to timeout_ms (< 0: forever): 0, -ETIMEDOUT, -ECHILD. */
	int (*wait)(struct pidshim *h, int timeout_ms, struct pidshim_exit *e);
	int (*send_signal)(struct pidshim *h, int sig);
	/* Release h (may hand an owned running child to the service). */
	void (*close)(struct pidshim *h);
};

HIDDEN_DATA const struct backend_ops pidshim_pidfd_ops;
HIDDEN_DATA const struct backend_ops pidshim_pidfd_poll_ops;
HIDDEN_DATA const struct backend_ops pidshim_signalfd_ops;

/* handle.c */
HIDDEN int handle_new(const struct backend_ops *ops, pid_t pid, bool owned,
			  struct pidshim **ret);
HIDDEN void handle_free(struct pidshim *h);
HIDDEN int handle_backend_ops(const struct backend_ops **ops);
HIDDEN void handle_finish(struct pidshim *h);

/* set.c: a handle reached H_DONE; stop reporting it. */
HIDDEN void set_disarm(struct pidshim *h);

/* service.c: the SIGCHLD service thread and its pid table. */
HIDDEN int svc_prepare(void);
HIDDEN void svc_track(struct pidshim *h);
HIDDEN void svc_untrack_locked(struct pidshim *h);
HIDDEN int svc_check_locked(struct pidshim *h, bool reap);
HIDDEN void svc_forget_locked(struct pidshim *h);
HIDDEN void svc_lock(void);
HIDDEN void svc_unlock(void);
HIDDEN void svc_adopt_orphan(struct pidshim *h);
HIDDEN bool svc_wait_begin(struct pidshim *h);
HIDDEN void svc_wait_end(struct pidshim *h);
HIDDEN void svc_orphan_locked(struct pidshim *h);

/* probe.c: keep the probe lock consistent across fork(). */
HIDDEN void probe_atfork_prepare(void);
HIDDEN void probe_atfork_parent(void);
HIDDEN void probe_atfork_child(void);

/* util */
HIDDEN int fd_move_above_stdio(int fd);
HIDDEN int64_t now_ms(void);
HIDDEN int poll_one(int fd, int timeout_ms);
HIDDEN int deadline_remaining(int64_t deadline, int timeout_ms);

#endif
