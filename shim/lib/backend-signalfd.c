/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * backend-signalfd.c - the fallback for kernels without pidfds (before
 * 5.3) and for containers whose seccomp profile blocks them.
 *
 * The name is the contract's; the mechanism is the child-exit service
 * (service.c), which needs no signal at all.  The handle's fd is an
 * eventfd that the service writes once it has reaped the process into the
 * handle, so it becomes readable with no call from the user and never
 * wakes spuriously.  Waits also look for themselves every 250 ms: when
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
 * The process's start time (clock ticks since boot, field 22 of
 * /proc/PID/stat): with no pidfd, the only way to tell that a PID which
 * other code reaped now names a different process.  0 when /proc cannot
 * tell (not mounted, or another PID namespace's), -ESRCH when no process
 * has the PID.  Where /proc cannot tell, a child that other code reaps
 * and whose PID is reused before the handle notices is the one case the
 * pidfd backends cover and this one cannot.
 */
/* /proc shows this process's PID namespace (not an outer one, as after
 * unshare(CLONE_NEWPID) without a new /proc mount). */
static bool proc_is_ours(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strtol(buf, NULL, 10) == getpid();
}

static long long proc_start(pid_t pid)
{
	char path[32], buf[512], *p;
	long long start = 0;
	ssize_t n;
	int fd;

	if (!proc_is_ours())
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 && errno == ESRCH ? -ESRCH : 0;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
	if (!p)
		return 0;
	/* After ") " come field 3 (state) ... field 22 (starttime). */
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p && sscanf(p + 1, "%lld", &start) != 1)
		start = 0;
	return start;
}

/* Under the service lock: is h's PID still h's process? */
static bool still_ours_locked(struct pidshim *h)
{
	long long now;

	if (h->start <= 0)
		return true; /* /proc could not tell: trust the PID */
	now = proc_start(h->pid);
	if (now == -ESRCH || (now > 0 && now != h->start)) {
		svc_forget_locked(h);
		return false;
	}
	return true;
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
	h->start = proc_start(h->pid);
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
		*e = h->exit;
		r = 0;
	} else {
		r = st == H_RUNNING || st == H_ZOMBIE ? -EAGAIN : -ECHILD;
	}
	svc_unlock();
	return r;
}

static int sfd_wait(struct pidshim *h, int timeout_ms, struct pidshim_exit *e)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);

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
		svc_orphan_locked(h);
		svc_unlock();
		return;
	}
	svc_unlock();
	svc_untrack(h);
	handle_free(h);
}

HIDDEN const struct backend_ops pidshim_signalfd_ops = {
	.prepare = sfd_prepare,
	.attach = sfd_attach,
	.try_reap = sfd_try_reap,
	.wait = sfd_wait,
	.send_signal = sfd_send_signal,
	.close = sfd_close,
};
