/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * backend-pidfd.c - the two pidfd backends.
 *
 * "pidfd" (Linux >= 5.4): the handle's fd is a pidfd; waitid(P_PIDFD) reaps
 * through it, so no PID is ever used after the pidfd exists.  "pidfd-poll"
 * (Linux 5.3, where waitid does not know P_PIDFD yet) uses the pidfd for
 * readiness and signals and waitid(P_PID) to reap, after the pidfd says
 * the process was not reaped by other code (pidfd_send_signal(fd, 0) gives
 * ESRCH once it was).  Remove pidfd-poll once Linux 5.4 is the baseline.
 *
 * The pidfd turns readable only when the process has exited, never at a
 * ptrace stop, so the library looks with waitid() only then: a stop of a
 * child this program traces is never taken (waitid would report it to
 * every thread of the tracer's process, WEXITED or not).  Waits sleep in
 * poll() on the pidfd: a cancellation point.
 *
 * Signals always go through pidfd_send_signal, which the kernel refuses
 * with ESRCH once the process is reaped: no PID-reuse race, whatever
 * other threads do.
 */
#include <string.h>

#include "internal.h"

static int waitid_of(struct pidshim *h, siginfo_t *si, int options, struct rusage *ru)
{
	if (h->ops->p_pidfd)
		return sys_waitid(P_PIDFD, h->pidfd, si, options, ru);
	return sys_waitid(P_PID, h->pid, si, options, ru);
}

/* Is the process our child?  Its parent says so (not its waitability: a
 * process this program traces is waitable too). */
static int is_child(struct pidshim *h)
{
	siginfo_t si;
	pid_t ppid;
	int r;

	r = ident_parent(h->pid, h->pidfd, &ppid);
	if (r == 0)
		return ppid == self_pid();
	if (r != -ENOENT)
		return r;
	/* Neither PIDFD_GET_INFO nor a /proc of our own: waitability. */
	memset(&si, 0, sizeof(si));
	r = waitid_of(h, &si, WEXITED | WNOHANG | WNOWAIT, NULL);
	if (r < 0 && r != -ECHILD)
		return r;
	return r == 0;
}

static int pfd_attach(struct pidshim *h)
{
	bool spawned = h->child;
	int fd, r;

	if (h->pidfd < 0) {
		fd = sys_pidfd_open(h->pid, 0);
		/* EINVAL (before 6.9) and ENOENT: the id of a thread that
		 * leads no thread group, not a process. */
		if (fd == -EINVAL || fd == -ENOENT)
			return -ESRCH;
		if (fd < 0)
			return fd;
		fd = fd_move_above_stdio(fd);
		if (fd < 0)
			return fd;
		h->pidfd = fd;
	}
	h->fd = h->pidfd;
	if (!spawned) {
		r = is_child(h);
		if (r < 0)
			return r;
		h->child = r;
		if (h->owned && !h->child)
			return -ECHILD;
		if (h->owned && svc_other_owner(h))
			return -EBUSY;
	}
	if (h->owned)
		svc_register_owner(h);
	return 0;
}

/* The kernel publishes a non-child's exit when its parent reaps it. */
#define NONCHILD_PATIENCE_MS 100

static int fill_from_info(struct pidshim *h, const struct pidshim_pidfd_info *info,
			  struct pidshim_exit *e)
{
	int st = info->exit_code;

	memset(e, 0, sizeof(*e));
	e->info.si_signo = SIGCHLD;
	e->info.si_pid = h->pid;
	e->info.si_uid = info->ruid;
	if (WIFEXITED(st)) {
		e->info.si_code = CLD_EXITED;
		e->info.si_status = WEXITSTATUS(st);
	} else if (WIFSIGNALED(st)) {
		e->info.si_code = WCOREDUMP(st) ? CLD_DUMPED : CLD_KILLED;
		e->info.si_status = WTERMSIG(st);
	} else {
		return -ECHILD;
	}
	return 0;
}

/*
 * A non-child ended: its status where the kernel reports it (Linux >=
 * 6.15), else -ECHILD.  A blocking wait gives the real parent a moment to
 * reap (patience_ms); a kernel without PIDFD_GET_INFO answers at once.
 */
static int nonchild_exit(struct pidshim *h, struct pidshim_exit *e, int patience_ms,
			 int cancel_state)
{
	struct pidshim_pidfd_info info;
	int64_t until = now_ms() + patience_ms;

	for (;;) {
		memset(&info, 0, sizeof(info));
		info.mask = PIDFD_INFO_EXIT;
		if (ioctl(h->pidfd, PIDSHIM_PIDFD_GET_INFO, &info) < 0)
			return -ECHILD; /* ENOTTY/EINVAL: before 6.13 */
		if (info.mask & PIDFD_INFO_EXIT)
			return fill_from_info(h, &info, e);
		if (now_ms() >= until)
			return -ECHILD;
		cancellable_sleep_ms(2, cancel_state);
	}
}

/* The process has exited (its pidfd is readable): reap it, unless a
 * tracer still holds it (-EAGAIN) or other code reaped it (-ECHILD). */
static int reap_ended(struct pidshim *h, struct pidshim_exit *e)
{
	int r;

	/* Another handle owns it: the status is that one's. */
	if (!h->owned && svc_other_owner(h))
		return -ECHILD;
	/* pidfd-poll: reaped by other code, the PID may name a stranger. */
	if (!h->ops->p_pidfd && sys_pidfd_send_signal(h->pidfd, 0) == -ESRCH)
		return -ECHILD;
	memset(e, 0, sizeof(*e));
	r = waitid_of(h, &e->info, WEXITED | WNOHANG, &e->rusage);
	if (r < 0)
		return r;
	/* Readable but nothing to reap: a tracer holds the zombie. */
	return si_is_exit(&e->info) ? 0 : -EAGAIN;
}

static int ended(struct pidshim *h, struct pidshim_exit *e, int patience_ms,
		 int cancel_state)
{
	if (!h->child)
		return nonchild_exit(h, e, patience_ms, cancel_state);
	return reap_ended(h, e);
}

static int pfd_try_reap(struct pidshim *h, struct pidshim_exit *e)
{
	int r;

	if (atomic_load(&h->state) == H_GONE)
		return -ECHILD;
	do /* even a 0 timeout gives EINTR when a signal is pending */
		r = poll_one(h->fd, 0);
	while (r == -EINTR);
	if (r < 0)
		return r;
	return r ? ended(h, e, 0, PTHREAD_CANCEL_DISABLE) : -EAGAIN;
}

static int pfd_wait(struct pidshim *h, int timeout_ms, struct pidshim_exit *e,
		    int cancel_state)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int backoff = 1, r, left;
	bool held = false;

	if (atomic_load(&h->state) == H_GONE)
		return -ECHILD;
	for (;;) {
		left = deadline_remaining(deadline, timeout_ms);
		if (!held) {
			r = cancellable_poll(h->fd, left, cancel_state);
			if (r < 0 && r != -EINTR)
				return r;
			if (r <= 0) {
				if (r == 0 && timeout_ms >= 0 &&
				    deadline_remaining(deadline, timeout_ms) == 0)
					return -ETIMEDOUT;
				continue;
			}
		}
		r = ended(h, e,
			  left < 0 || left > NONCHILD_PATIENCE_MS ? NONCHILD_PATIENCE_MS
								  : left,
			  cancel_state);
		if (r != -EAGAIN)
			return r;
		/* The fd is readable but a tracer holds the zombie; poll would
		 * return at once, so back off instead. */
		held = true;
		left = deadline_remaining(deadline, timeout_ms);
		if (left == 0)
			return -ETIMEDOUT;
		cancellable_sleep_ms(left < 0 || left > backoff ? backoff : left,
				     cancel_state);
		backoff = backoff < 64 ? backoff * 2 : 100;
	}
}

static int pfd_send_signal(struct pidshim *h, int sig)
{
	if (atomic_load(&h->state) == H_GONE)
		return -ESRCH;
	return sys_pidfd_send_signal(h->pidfd, sig);
}

static void pfd_close(struct pidshim *h)
{
	struct pidshim_exit e;

	/* A child we own and nobody waited for: reap it now if it is done,
	 * else the reaper thread reaps it through its pidfd later.  Either
	 * way the fd count drops once the child is reaped. */
	if (h->owned && h->child && atomic_load(&h->state) == H_RUNNING &&
	    pfd_try_reap(h, &e) == -EAGAIN) {
		svc_adopt_pidfd_orphan(h);
		return;
	}
	if (h->owned)
		svc_unregister_owner(h);
	handle_free(h);
}

/* The two backends share every operation; only how they reap differs. */
#define PFD_OPS(reaps_through_pidfd)                                    \
	{                                                               \
		.p_pidfd = (reaps_through_pidfd), .attach = pfd_attach, \
		.try_reap = pfd_try_reap, .wait = pfd_wait,             \
		.send_signal = pfd_send_signal, .close = pfd_close,     \
	}

HIDDEN const struct backend_ops pidshim_pidfd_ops = PFD_OPS(true);
HIDDEN const struct backend_ops pidshim_pidfd_poll_ops = PFD_OPS(false);
