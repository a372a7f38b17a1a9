/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * backend-signalfd.c - the fallback for kernels without pidfds (before
 * 5.3) and for containers whose seccomp profile blocks them.
 *
 * The name is the contract's; the mechanism is the child-exit service
 * (service.c), which needs no signal at all.  The handle's fd is an
 * eventfd that the service writes once it has reaped the process into the
 * handle, so it becomes readable with no call from the user and never
 * wakes spuriously.  A wait with no timeout on a spawned child sleeps in
 * waitid(P_PID) on the child instead, one wake-up instead of two.  Other
 * waits also look for themselves every 250 ms: when
 * SIGCHLD is ignored (the kernel auto-reaps) or other code reaps the child
 * first, they still end within a second with -ECHILD instead of hanging.
 *
 * Remove once every supported kernel has pidfd_open (5.3) and no container
 * runtime blocks it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

#include "internal.h"

#define SLICE_MS 250

static int sfd_prepare(struct pidshim *h)
{
	int fd, r;

	r = svc_prepare();
	if (r < 0)
		return r;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	fd = fd_move_above_stdio(fd);
	if (fd < 0)
		return fd;
	h->fd = fd;
	return 0;
}

/*
 * With no pidfd the PID is the only name of the process, and other code
 * may reap the child and let the PID be reused.  An fd on /proc/PID
 * names the process itself, on every kernel: once it is reaped, lookups
 * through it fail with ESRCH even if a new process took the PID.  It is
 * only usable where /proc shows our own PID namespace (not after
 * unshare(CLONE_NEWPID) without a new /proc mount); without it the PID is
 * trusted, the one case the pidfd backends cover and this one cannot.
 */
static bool proc_is_ours(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strtol(buf, NULL, 10) == getpid();
}

static int open_procfd(pid_t pid)
{
	char path[32];
	int fd;

	if (!proc_is_ours())
		return -1;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -1 : fd_move_above_stdio(fd);
}

/* Under the service lock: is h's PID still h's process? */
static bool still_ours_locked(struct pidshim *h)
{
	struct stat st;

	if (h->procfd < 0 || fstatat(h->procfd, "stat", &st, 0) == 0 || errno != ESRCH)
		return true;
	svc_forget_locked(h);
	return false;
}

static int sfd_attach(struct pidshim *h)
{
	siginfo_t si;
	int r;

	if (!h->child) {
		/* Without pidfds only our own children can be watched. */
		if (kill(h->pid, 0) < 0 && errno == ESRCH)
			return -ESRCH;
		memset(&si, 0, sizeof(si));
		r = sys_waitid(P_PID, h->pid, &si, WEXITED | WNOHANG | WNOWAIT, NULL);
		if (r < 0)
			return r;
		h->child = true;
	}
	if (h->fd < 0) {
		r = sfd_prepare(h);
		if (r < 0)
			return r;
	}
	h->procfd = open_procfd(h->pid);
	svc_track(h);
	return 0;
}

static int sfd_try_reap(struct pidshim *h, struct pidshim_exit *e)
{
	int st, r;

	svc_lock();
	st = atomic_load(&h->state);
	if (st == H_RUNNING || st == H_ZOMBIE) {
		svc_check_locked(h, true);
		st = atomic_load(&h->state);
	}
	if (st == H_EXITED) {
		*e = *h->exit;
		r = 0;
	} else {
		r = st == H_RUNNING || st == H_ZOMBIE ? -EAGAIN : -ECHILD;
	}
	svc_unlock();
	return r;
}

/*
 * An owned child and no timeout: sleep in the kernel on the child itself
 * (see svc_wait_begin) and let the loop below collect what svc_wait_end
 * reaped.  WNOWAIT, so that the reap and its status go through the
 * service's table like every other.  waitid ends when the child ends,
 * when other code reaps it (ECHILD: it holds the struct pid it started
 * with, a reused PID does not fool it) and when SIGCHLD is ignored
 * (the kernel reaps at once, ECHILD).
 */
static void wait_in_kernel(struct pidshim *h)
{
	siginfo_t si;
	int r;

	if (!svc_wait_begin(h))
		return;
	do {
		memset(&si, 0, sizeof(si));
		r = sys_waitid(P_PID, h->pid, &si, WEXITED | WNOWAIT, NULL);
	} while (r == -EINTR);
	svc_wait_end(h);
}

static int sfd_wait(struct pidshim *h, int timeout_ms, struct pidshim_exit *e)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);

	if (timeout_ms < 0 && h->owned)
		wait_in_kernel(h);
	for (;;) {
		int r = sfd_try_reap(h, e);

		if (r != -EAGAIN)
			return r;
		int left = deadline_remaining(deadline, timeout_ms);
		if (left == 0)
			return -ETIMEDOUT;
		r = poll_one(h->fd, left < 0 || left > SLICE_MS ? SLICE_MS : left);
		if (r < 0 && r != -EINTR)
			return r;
		if (r == 0) {
			/* A quiet slice: make sure the PID was not reaped by
			 * other code and given to a process that now runs. */
			svc_lock();
			still_ours_locked(h);
			svc_unlock();
		}
	}
}

static int sfd_send_signal(struct pidshim *h, int sig)
{
	int st, r;

	svc_lock();
	/* Look first: a PID the kernel may have freed (other code reaped it,
	 * or SIGCHLD is ignored) is never passed to kill(). */
	if (atomic_load(&h->state) == H_RUNNING)
		svc_check_locked(h, h->owned);
	st = atomic_load(&h->state);
	if ((st == H_RUNNING || st == H_ZOMBIE) && still_ours_locked(h))
		r = kill(h->pid, sig) < 0 ? -errno : 0;
	else
		r = st == H_EXITED ? 0 : -ESRCH; /* EXITED: a zombie to the user */
	svc_unlock();
	return r;
}

static void sfd_close(struct pidshim *h)
{
	svc_lock();
	if (h->owned && atomic_load(&h->state) == H_RUNNING && svc_check_locked(h, true) == 0) {
		/* Still running: the service reaps and frees it later. */
		close(h->fd);
		h->fd = -1;
		if (h->procfd >= 0)
			close(h->procfd);
		h->procfd = -1;
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
