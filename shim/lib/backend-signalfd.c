/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * backend-signalfd.c - the fallback for kernels without pidfds (before
 * 5.3) and for containers whose seccomp profile blocks them.
 *
 * The name is the contract's; the mechanism is the child-exit service
 * (service.c), which needs no signal at all.  The handle's fd is an
 * eventfd that the service writes once the process has ended (reaped into
 * the handle, ended for a handle that does not own it, or gone), so it
 * becomes readable with no call from the user and never wakes spuriously.
 * The handle also holds an fd on /proc/PID that names the process (see
 * ident.c): before the library reaps, reports or signals by PID, that fd
 * proves the PID is still the handle's process.
 *
 * A blocking wait under the thread mechanism sleeps in waitid(P_ALL,
 * WNOWAIT) itself, so that the exit wakes it directly (svc_wait_direct in
 * service.c).  Every other wait sleeps in poll() on the handle's fd and
 * looks for itself every 250 ms: when SIGCHLD is ignored (the kernel
 * auto-reaps) or other code reaps the child first, it still ends within a
 * second with -ECHILD.  No wait ever sleeps in waitid(P_PID) on the
 * child: the kernel resolves that PID when the call starts, and if other
 * code reaped the child and this program's next child took the PID in
 * the moment between the library's look and the call, the wait would
 * sleep on that stranger (seen under valgrind by
 * hostile.spawn_racing_a_reaper_that_reuses_the_pid_...).
 *
 * Remove once every supported kernel has pidfd_open (5.3) and no container
 * runtime blocks it.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "internal.h"

#define SLICE_MS 250

static int sfd_prepare(struct pidshim *h)
{
	int r = svc_prepare();

	return r < 0 ? r : svc_new_handle_fd(h);
}

/*
 * pidshim_open without pidfds: only a process that leads its thread group
 * and is our child (its parent says so, not its waitability: a process
 * this program traces is waitable too) can be watched.
 */
static int check_opened(struct pidshim *h)
{
	siginfo_t si;
	pid_t ppid;
	int r;

	r = ident_is_group_leader(h->pid);
	if (r <= 0)
		return r == 0 ? -ESRCH : r;
	r = ident_parent(h->pid, -1, &ppid);
	if (r == 0)
		return ppid == self_pid() ? 0 : -ECHILD;
	if (r != -ENOENT)
		return r;
	/* No /proc of our own: waitability is all there is. */
	memset(&si, 0, sizeof(si));
	return sys_waitid(P_PID, h->pid, &si, WEXITED | WNOHANG | WNOWAIT, NULL);
}

static int sfd_attach(struct pidshim *h)
{
	bool spawned = h->child, gone = false;
	int r;

	if (!spawned) {
		r = check_opened(h);
		if (r < 0)
			return r;
		h->child = true;
	}
	if (h->fd < 0) {
		r = sfd_prepare(h);
		if (r < 0)
			return r;
	}
	if (h->procfd < 0) {
		r = ident_open_procfd(h->pid);
		if (r >= 0)
			h->procfd = r;
		else if (r == -ESRCH && spawned)
			gone = true;   /* it ran, and other code reaped it */
		else if (r != -ENOENT) /* ENOENT: no /proc of ours, see ident.c */
			return r;
	}
	if (gone) {
		svc_mark_gone(h);
		return 0;
	}
	return svc_track(h);
}

static int look_and_claim(struct pidshim *h, struct pidshim_exit *e, bool answers)
{
	int r;

	svc_lock();
	svc_look_locked(h, answers);
	r = svc_claim_locked(h, e);
	svc_unlock();
	return r;
}

static int sfd_try_reap(struct pidshim *h, struct pidshim_exit *e)
{
	return look_and_claim(h, e, true);
}

static int sfd_wait(struct pidshim *h, int timeout_ms, struct pidshim_exit *e,
		    int cancel_state)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	/* A blocking wait answers only once the process is settled: its
	 * first look need not prove the PID (look_locked); every look after
	 * a slice does, so a process other code reaped while the PID names
	 * another running child ends the wait within one. */
	bool answers = timeout_ms >= 0;

	if (timeout_ms < 0) {
		int r = svc_wait_direct(h, e, cancel_state);

		if (r != -EAGAIN)
			return r;
	}
	for (;; answers = true) {
		int r = look_and_claim(h, e, answers);

		if (r != -EAGAIN)
			return r;
		int left = deadline_remaining(deadline, timeout_ms);
		if (left == 0)
			return -ETIMEDOUT;
		svc_fd_shown(h); /* a set member's fd must hear SIGCHLD now */
		/* The eventfd turns readable only once the process ended; the
		 * slices let a look above catch what no one reports (other
		 * code reaped it, SIGCHLD ignored). */
		r = cancellable_poll(h->fd, left < 0 || left > SLICE_MS ? SLICE_MS : left,
				     cancel_state);
		if (r < 0 && r != -EINTR)
			return r;
		/* Readable yet not ended (SIGCHLD mechanism: a SIGCHLD for
		 * another process): the look above took that signal, so the
		 * next poll sleeps. */
	}
}

static int sfd_send_signal(struct pidshim *h, int sig)
{
	int st, r;

	svc_lock();
	/* Look first: a PID the kernel may have freed (other code reaped it,
	 * or SIGCHLD is ignored) is never passed to kill(). */
	if (atomic_load(&h->state) == H_RUNNING)
		svc_look_locked(h, true);
	st = atomic_load(&h->state);
	if ((st == H_RUNNING || st == H_ZOMBIE) && svc_still_named_locked(h))
		r = kill(h->pid, sig) < 0 ? -errno : 0;
	else
		r = st == H_EXITED ? 0 : -ESRCH; /* EXITED: a zombie to the user */
	svc_unlock();
	return r;
}

static void sfd_close(struct pidshim *h)
{
	svc_lock();
	if (h->owned && atomic_load(&h->state) == H_RUNNING && h->tracked &&
	    svc_look_locked(h, true) == 0) {
		/* Still running: the service reaps and frees it later.  The
		 * /proc fd stays: it still has to name the process. */
		close(h->fd);
		h->fd = -1;
		svc_orphan_locked(h);
		svc_unlock();
		return;
	}
	svc_untrack_locked(h);
	svc_unlock();
	handle_free(h);
}

HIDDEN const struct backend_ops pidshim_signalfd_ops = {
	.keeps_exit = true,
	.prepare = sfd_prepare,
	.attach = sfd_attach,
	.try_reap = sfd_try_reap,
	.wait = sfd_wait,
	.send_signal = sfd_send_signal,
	.close = sfd_close,
};
