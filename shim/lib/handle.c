/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * handle.c - the public handle API on top of the backend operations:
 * argument checks, the rule that a finished handle answers -ECHILD, the
 * exit status word, and small helpers shared by the backends.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

HIDDEN int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline (timeout_ms < 0: forever, -1). */
HIDDEN int deadline_remaining(int64_t deadline, int timeout_ms)
{
	int64_t left;

	if (timeout_ms < 0)
		return -1;
	left = deadline - now_ms();
	return left < 0 ? 0 : (int)left;
}

/* 1 readable, 0 timed out, -errno; EINTR is reported to the caller. */
HIDDEN int poll_one(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = poll(&p, 1, timeout_ms);

	if (r < 0)
		return -errno;
	return r > 0;
}

/* Keep library fds off 0-2, where a later open() by the program that
 * closed its stdin would otherwise land in our place. */
HIDDEN int fd_move_above_stdio(int fd)
{
	int nfd;

	if (fd < 0 || fd > 2)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return nfd < 0 ? -errno : nfd;
}

/* A handle and, in the same block, the room for a status kept for later. */
struct handle_with_exit {
	struct pidshim h;
	struct pidshim_exit exit;
};

HIDDEN int handle_new(const struct backend_ops *ops, pid_t pid, bool owned,
		      struct pidshim **ret)
{
	struct handle_with_exit *w = NULL;
	struct pidshim *h;

	if (ops->keeps_exit) {
		w = calloc(1, sizeof(*w));
		h = w ? &w->h : NULL;
	} else {
		h = calloc(1, sizeof(*h));
	}
	if (!h)
		return -ENOMEM;
	if (w)
		h->exit = &w->exit;
	h->ops = ops;
	h->pid = pid;
	h->fd = -1;
	h->procfd = -1;
	h->owned = owned;
	*ret = h;
	return 0;
}

HIDDEN void handle_free(struct pidshim *h)
{
	if (h->fd >= 0)
		close(h->fd);
	if (h->procfd >= 0)
		close(h->procfd);
	free(h);
}

/* wait/try_wait gave the user a final answer: never report it again. */
HIDDEN void handle_finish(struct pidshim *h)
{
	atomic_store(&h->state, H_DONE);
	set_disarm(h);
}

PIDSHIM_API int pidshim_open(pid_t pid, unsigned int flags, struct pidshim **ret)
{
	const struct backend_ops *ops;
	struct pidshim *h;
	int r;

	if (pid <= 0 || !ret || (flags & ~PIDSHIM_OPEN_ALL_FLAGS))
		return -EINVAL;
	r = handle_backend_ops(&ops);
	if (r < 0)
		return r;
	r = handle_new(ops, pid, flags & PIDSHIM_OPEN_OWN, &h);
	if (r < 0)
		return r;
	r = ops->attach(h);
	if (r < 0) {
		handle_free(h);
		return r;
	}
	*ret = h;
	return 0;
}

PIDSHIM_API int pidshim_fd(const struct pidshim *h)
{
	return h ? h->fd : -EINVAL;
}

PIDSHIM_API pid_t pidshim_pid(const struct pidshim *h)
{
	return h ? h->pid : -EINVAL;
}

static int finish_wait(struct pidshim *h, int r, struct pidshim_exit *tmp,
		       struct pidshim_exit *ret)
{
	if (r == 0)
		*ret = *tmp;
	if (r == 0 || r == -ECHILD)
		handle_finish(h);
	return r;
}

PIDSHIM_API int pidshim_try_wait(struct pidshim *h, struct pidshim_exit *ret)
{
	struct pidshim_exit tmp;

	if (!h || !ret)
		return -EINVAL;
	if (atomic_load(&h->state) == H_DONE)
		return -ECHILD;
	return finish_wait(h, h->ops->try_reap(h, &tmp), &tmp, ret);
}

PIDSHIM_API int pidshim_wait_timeout(struct pidshim *h, int timeout_ms,
				     struct pidshim_exit *ret)
{
	struct pidshim_exit tmp;
	int r;

	if (!h || !ret)
		return -EINVAL;
	if (atomic_load(&h->state) == H_DONE)
		return -ECHILD;
	if (timeout_ms == 0) {
		r = h->ops->try_reap(h, &tmp);
		if (r == -EAGAIN)
			return -ETIMEDOUT;
	} else {
		r = h->ops->wait(h, timeout_ms, &tmp);
	}
	return finish_wait(h, r, &tmp, ret);
}

PIDSHIM_API int pidshim_wait(struct pidshim *h, struct pidshim_exit *ret)
{
	return pidshim_wait_timeout(h, -1, ret);
}

PIDSHIM_API int pidshim_send_signal(struct pidshim *h, int sig)
{
	if (!h || sig < 0 || sig > PIDSHIM_SIGMAX)
		return -EINVAL;
	if (atomic_load(&h->state) == H_DONE)
		return -ESRCH;
	return h->ops->send_signal(h, sig);
}

PIDSHIM_API void pidshim_close(struct pidshim *h)
{
	int saved_errno = errno;

	if (!h)
		return;
	if (h->set)
		pidshim_set_remove(h->set, h);
	h->ops->close(h);
	errno = saved_errno;
}

PIDSHIM_API int pidshim_exit_status(const struct pidshim_exit *e)
{
	int st;

	if (!e || e->info.si_signo != SIGCHLD)
		return -EINVAL;
	st = e->info.si_status;
	switch (e->info.si_code) {
	case CLD_EXITED:
		return (st & 0xff) << 8;
	case CLD_KILLED:
	case CLD_DUMPED:
		if (st <= 0 || st > PIDSHIM_SIGMAX)
			return -EINVAL;
		return st | (e->info.si_code == CLD_DUMPED ? 0x80 : 0);
	case CLD_STOPPED:
	case CLD_TRAPPED:
		/* ptrace event stops carry the event above the signal. */
		if (st <= 0 || st > 0xffff)
			return -EINVAL;
		return (st << 8) | 0x7f;
	case CLD_CONTINUED:
		return 0xffff;
	}
	return -EINVAL;
}
