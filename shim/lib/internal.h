/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * internal.h - what the library's files share: the handle structure, the
 * backend operations, raw syscall wrappers returning -errno, and the entry
 * points of the child-exit service (service.c), the identity checks
 * (ident.c) and the spawn engines (spawn.c, clone-spawn.c).
 * The kernel's constants are in kabi.h, shared with the CLI.
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
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kabi.h"
#include "pidshim.h"

/*
 * Internal linkage for what the files share.  In the shared library the
 * names are hidden; libpidshim.a is linked into one object whose hidden
 * names are made local (see Makefile); in the one-file amalgamation they
 * are static.  No name outside pidshim_ ever reaches a program.
 */
#ifdef PIDSHIM_AMALGAMATION
#define HIDDEN	    static
#define HIDDEN_DATA static
#else
#define HIDDEN	    __attribute__((visibility("hidden")))
#define HIDDEN_DATA HIDDEN extern
#endif

/* Largest valid signal number (the kernel's _NSIG). */
#define PIDSHIM_SIGMAX 64

/* ThreadSanitizer intercepts the libc calls of a child made with
 * CLONE_VM and takes it, sharing the parent's memory, for a thread it
 * never saw start: no such child under it (clone-spawn.c, service.c). */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

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

/*
 * A waitid result is an exit only with these codes: for a tracee, the
 * kernel also reports ptrace stops to its tracer's process (every thread
 * of it) even when only WEXITED is asked for, and a stop must never be
 * taken, consumed or acted on as an exit.
 */
static inline bool si_is_exit(const siginfo_t *si)
{
	return si->si_pid != 0 &&
	       (si->si_code == CLD_EXITED || si->si_code == CLD_KILLED ||
		si->si_code == CLD_DUMPED);
}

/* Life of a handle's process, as the user sees it. */
enum h_state {
	H_RUNNING = 0, /* not known to have ended */
	H_ZOMBIE,      /* ended, not reaped: the handle may reap it */
	H_EXITED,      /* reaped by the library, status kept for the handle */
	H_GONE,	       /* reaped by other code, auto-reaped, the owner's to
			  report, or the PID no longer names it: -ECHILD */
	H_DONE,	       /* wait/try_wait returned its final result */
};

struct backend_ops;

/* A list of handles linked through their qprev/qnext (svc lock). */
struct hqueue {
	struct pidshim *first, *last;
};

/* What the service knows of a set (set.c embeds it): under svc lock. */
struct set_direct {
	unsigned int sleepers; /* threads asleep in its direct wait */
	/* Its listed members (see svc_set_member) whose process ended:
	 * q[0] those never reported since, in the order they ended, q[1]
	 * those reported, the least recently first.  readyfd, an eventfd in
	 * the set's epoll made with the first listed member (set.c), is
	 * readable exactly while one of them is not empty (readable). */
	struct hqueue q[2];
	int readyfd;
	bool readable;
};

struct pidshim {
	pid_t pid;
	pid_t creator;	  /* the process that made the handle (see fork_inert) */
	int fd;		  /* what pidshim_fd returns: the pidfd, or an eventfd */
	int pidfd;	  /* pidfd backends: == fd; else -1 */
	int procfd;	  /* fallback: /proc/PID (O_PATH), names the process, or -1 */
	bool owned;	  /* spawned (or PIDSHIM_OPEN_OWN): reap it if closed early */
	bool child;	  /* a child of this process (only children can be reaped) */
	bool orphan;	  /* closed by the user while running; the service reaps it */
	bool tracked;	  /* in the service's pid table (under svc lock) */
	bool armed;	  /* pidfd orphan: registered in the reaper's epoll */
	bool fd_epoll;	  /* fallback, SIGCHLD mechanism: fd is an epoll (sigchld.c) */
	bool fd_unhooked; /* ... without its signalfd: not polled on its own (svc lock) */
	bool listed;	  /* its set learns of its end from the service, not from its
			     fd (written under both locks, read under either) */
	unsigned char queued;	       /* in its set's q[queued - 1], or 0 (svc lock) */
	struct pidshim *qprev, *qnext; /* ... its neighbours there */
	_Atomic bool fd_shown;	       /* pidshim_fd gave it, or a wait polls it */
	unsigned int direct; /* fallback: threads asleep in its direct wait (svc lock) */
	struct set_direct *dset; /* fallback: its set's, while a member (svc lock) */
	unsigned int shard;	 /* ... and the shard of its signalfd */
	const struct backend_ops *ops;
	_Atomic int state; /* enum h_state */

	/* Service table: under svc lock. */
	struct pidshim *hnext;
	/* The status the library reaped, valid in H_EXITED: room for it
	 * follows the handle where the backend keeps one (keeps_exit),
	 * else NULL. */
	struct pidshim_exit *exit;

	/* Set membership: under the set's lock. */
	struct pidshim_set *set;
	uint32_t set_idx;
	uint32_t set_gen;
	bool set_armed; /* may be reported: in the set's epoll, or listed */
	uint64_t set_seq;
};

struct backend_ops {
	/* The library reaps for this backend and keeps the status. */
	bool keeps_exit;
	/* waitid(P_PIDFD) reaps through the pidfd (else P_PID after a
	 * check that the pidfd's process was not reaped by other code). */
	bool p_pidfd;
	/* Before spawning: get what may fail with EMFILE/ENOMEM/EAGAIN now,
	 * so that a started child rarely has to be killed. */
	int (*prepare)(struct pidshim *h);
	/* Make h->fd and whatever tracking the backend needs for h->pid;
	 * h->pidfd / h->procfd may already be set by the spawn engine. */
	int (*attach)(struct pidshim *h);
	/* Reap if exited: 0 and *e filled, -EAGAIN, -ECHILD. */
	int (*try_reap)(struct pidshim *h, struct pidshim_exit *e);
	/* Block up to timeout_ms (< 0: forever): 0, -ETIMEDOUT, -ECHILD.
	 * A cancellation point where cancel_state (the caller's, see
	 * cancel_off) allows it. */
	int (*wait)(struct pidshim *h, int timeout_ms, struct pidshim_exit *e,
		    int cancel_state);
	int (*send_signal)(struct pidshim *h, int sig);
	/* Release h (may hand an owned running child to the service). */
	void (*close)(struct pidshim *h);
};

HIDDEN_DATA const struct backend_ops pidshim_pidfd_ops;
HIDDEN_DATA const struct backend_ops pidshim_pidfd_poll_ops;
HIDDEN_DATA const struct backend_ops pidshim_signalfd_ops;

/* handle.c */
/* flags: PIDSHIM_OPEN_OWN for a process the handle owns (spawned ones). */
HIDDEN int handle_new(const struct backend_ops *ops, pid_t pid, unsigned int flags,
		      struct pidshim **ret);
HIDDEN void handle_free(struct pidshim *h);
HIDDEN int handle_backend_ops(const struct backend_ops **ops);
HIDDEN bool fork_inert(pid_t creator);
HIDDEN pid_t self_pid(void);

/*
 * Cancellation: only pidshim_wait, pidshim_wait_timeout and
 * pidshim_set_wait are cancellation points, and only while they sleep.
 * Every public function runs with cancellation disabled (a pending
 * request is acted on by the caller's next cancellation point), so a
 * cancel can never stop the library between two steps that belong
 * together (a lock and its unlock, a reap and the status it yields).
 */
HIDDEN int cancel_off(void);
HIDDEN void cancel_restore(int old);
HIDDEN int cancellable_poll(int fd, int timeout_ms, int cancel_state);
HIDDEN int cancellable_sleep_ms(int ms, int cancel_state);

/* set.c: a handle reached H_DONE; stop reporting it.  In a fork()ed
 * child, forget a handle's set membership without touching the epoll. */
HIDDEN void set_disarm(struct pidshim *h);
HIDDEN void set_forget_inert(struct pidshim *h);

/* ident.c: who a PID names, without pidfds. */
HIDDEN int ident_open_procfd(pid_t pid);
HIDDEN bool ident_alive(int procfd);
HIDDEN int ident_parent(pid_t pid, int pidfd, pid_t *ppid);
HIDDEN int ident_is_group_leader(pid_t pid);
HIDDEN void ident_reap_exiting(pid_t pid, int pidfd, int procfd);

/* sigchld.c: the fallback's SIGCHLD mechanism. */
HIDDEN int sigchld_decide(void);
HIDDEN bool sigchld_promise_kept(void);
HIDDEN bool sigchld_ignored(void);
HIDDEN int sigchld_handle_fd(unsigned int *shard);
HIDDEN void sigchld_mark_ready(int handle_fd, unsigned int shard);
HIDDEN void sigchld_unhook(int handle_fd, unsigned int shard);
HIDDEN int sigchld_hook(int handle_fd, unsigned int shard);
HIDDEN int sigchld_set_fd(void);
HIDDEN void sigchld_release(unsigned int shard);
HIDDEN void sigchld_forget(void);
HIDDEN int sigchld_drain(void (*named)(pid_t pid));
HIDDEN void sigchld_owe(void);

/* service.c: the pid table and the library's background thread. */
HIDDEN int svc_prepare(void);
HIDDEN int svc_new_handle_fd(struct pidshim *h);
HIDDEN void svc_pump(struct set_direct *d);
HIDDEN void svc_lock(void);
HIDDEN void svc_unlock(void);
HIDDEN int svc_track(struct pidshim *h);
HIDDEN void svc_untrack_locked(struct pidshim *h);
HIDDEN int svc_look_locked(struct pidshim *h, bool answers);
HIDDEN int svc_wait_direct(struct pidshim *h, struct pidshim_exit *e, int cancel_state);
HIDDEN int svc_claim_locked(struct pidshim *h, struct pidshim_exit *e);
HIDDEN bool svc_still_named_locked(struct pidshim *h);
HIDDEN void svc_mark_gone(struct pidshim *h);
HIDDEN bool svc_sigchld_mechanism(void);
HIDDEN void svc_set_member(struct pidshim *h, struct set_direct *d, bool listed);
HIDDEN struct pidshim *svc_set_next(struct set_direct *d, uint64_t before_seq);
HIDDEN bool svc_thread_mechanism(void);
HIDDEN int svc_set_sleep(struct set_direct *d, int epfd, int cancel_state);
HIDDEN void svc_set_wake(struct set_direct *d);
HIDDEN void svc_fd_shown(struct pidshim *h);
HIDDEN void svc_orphan_locked(struct pidshim *h);
HIDDEN void svc_adopt_pidfd_orphan(struct pidshim *h);
HIDDEN void svc_register_owner(struct pidshim *h);
HIDDEN void svc_unregister_owner(struct pidshim *h);
HIDDEN bool svc_other_owner(const struct pidshim *h);

/* probe.c: keep the probe lock consistent across fork(). */
HIDDEN void probe_atfork_prepare(void);
HIDDEN void probe_atfork_parent(void);
HIDDEN void probe_atfork_child(void);

/* spawn engines: 0 and *pid (plus *pidfd or *procfd where asked for,
 * else left -1), or -errno with no child left behind. */
struct spawn_req {
	bool search; /* posix_spawnp */
	const char *path;
	const posix_spawn_file_actions_t *actions;
	const posix_spawnattr_t *attr;
	char *const *argv;
	char *const *envp;
};
/* What clone_spawn hands back beside the pid. */
enum clone_spawn_want {
	CLONE_SPAWN_PIDFD = 1u << 0,  /* *pidfd, through CLONE_PIDFD */
	CLONE_SPAWN_PROCFD = 1u << 1, /* *procfd, the child's /proc/PID */
};
HIDDEN int clone_spawn(const struct spawn_req *rq, unsigned int want, pid_t *pid,
		       int *pidfd, int *procfd);
HIDDEN bool clone_spawn_can(const struct spawn_req *rq);

/*
 * The one error filter at the public boundary, as libseccomp's
 * _rc_filter(): a public function returns only the codes pidshim.h lists
 * for it, given here as positive errno values.  Any other negative value
 * (a raw poll or epoll_wait error, EBADF after the program closed one of
 * the library's fds) becomes -EFAULT, which the header reserves for that.
 */
HIDDEN int rc_filter(int r, const int *allowed);
#define RC_FILTER(r, ...) rc_filter((r), (const int[]){ __VA_ARGS__, 0 })
/* The codes every wait function may give (pidshim_wait in pidshim.h). */
#define RC_WAIT ECHILD, EINVAL

/* util */
HIDDEN int fd_move_above_stdio(int fd);
HIDDEN int fd_new(int fd);
HIDDEN int64_t now_ms(void);
HIDDEN int poll_one(int fd, int timeout_ms);
HIDDEN int deadline_remaining(int64_t deadline, int timeout_ms);

#endif
