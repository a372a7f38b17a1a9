/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * handle.c - the public handle API on top of the backend operations:
 * argument checks, the rule that a finished handle answers -ECHILD, the
 * exit status word, fork() and pthread_cancel() discipline, and small
 * helpers shared by the backends.
 *
 * fork(): a child process inherits the parent's handles as memory and
 * fds, but they name the parent's children and share the parent's open
 * file descriptions (an eventfd written, an epoll entry removed there
 * would change what the parent sees).  So a handle remembers the process
 * that made it, and in any other process it is inert: wait and try_wait
 * give -ECHILD, send_signal -ECHILD, close only closes the copies.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- small helpers ---------------------------------------------------- */

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

/* What a call that makes an fd returned, as the library keeps it: the fd
 * above stdio, or -errno. */
HIDDEN int fd_new(int fd)
{
	return fd < 0 ? -errno : fd_move_above_stdio(fd);
}

/* ---- the error filter ---------------------------------------------- */

HIDDEN int rc_filter(int r, const int *allowed)
{
	if (r >= 0)
		return r;
	for (; *allowed; allowed++)
		if (r == -*allowed)
			return r;
	return -EFAULT;
}

/* ---- cancellation ------------------------------------------------------ */

HIDDEN int cancel_off(void)
{
	int old = PTHREAD_CANCEL_DISABLE;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	return old;
}

HIDDEN void cancel_restore(int old)
{
	pthread_setcancelstate(old, NULL);
}

/* poll(2) as the caller's cancellation point: a pending or arriving
 * cancel request ends the thread inside it (cancel_state is what the
 * caller had before cancel_off). */
HIDDEN int cancellable_poll(int fd, int timeout_ms, int cancel_state)
{
	int r;

	if (cancel_state == PTHREAD_CANCEL_ENABLE)
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	r = poll_one(fd, timeout_ms);
	if (cancel_state == PTHREAD_CANCEL_ENABLE)
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	return r;
}

HIDDEN int cancellable_sleep_ms(int ms, int cancel_state)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	int r;

	if (cancel_state == PTHREAD_CANCEL_ENABLE)
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	r = nanosleep(&ts, NULL);
	if (cancel_state == PTHREAD_CANCEL_ENABLE)
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	return r < 0 ? -errno : 0;
}

/* ---- fork ----------------------------------------------------------------- */

static _Atomic pid_t cached_pid;

/* getpid(), cached; the cache is reset in every child fork() makes. */
HIDDEN pid_t self_pid(void)
{
	pid_t p = atomic_load_explicit(&cached_pid, memory_order_relaxed);

	if (!p) {
		p = getpid();
		atomic_store_explicit(&cached_pid, p, memory_order_relaxed);
	}
	return p;
}

HIDDEN bool fork_inert(pid_t creator)
{
	return creator != self_pid();
}

static void handle_atfork_child(void)
{
	atomic_store_explicit(&cached_pid, 0, memory_order_relaxed);
}

__attribute__((constructor)) static void handle_init(void)
{
	pthread_atfork(NULL, NULL, handle_atfork_child);
}

/* ---- handles --------------------------------------------------------------- */

/* A handle and, in the same block, the room for a status kept for later. */
struct handle_with_exit {
	struct pidshim h;
	struct pidshim_exit exit;
};

HIDDEN int handle_new(const struct backend_ops *ops, pid_t pid, unsigned int flags,
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
	h->creator = self_pid();
	h->fd = -1;
	h->pidfd = -1;
	h->procfd = -1;
	h->owned = flags & PIDSHIM_OPEN_OWN;
	*ret = h;
	return 0;
}

HIDDEN void handle_free(struct pidshim *h)
{
	if (h->fd >= 0)
		close(h->fd);
	if (h->pidfd >= 0 && h->pidfd != h->fd)
		close(h->pidfd);
	if (h->procfd >= 0)
		close(h->procfd);
	if (h->fd_epoll)
		sigchld_release(h->shard);
	free(h);
}

/* wait/try_wait gave the user a final answer: never report it again. */
static void handle_finish(struct pidshim *h)
{
	atomic_store(&h->state, H_DONE);
	set_disarm(h);
}

PIDSHIM_API int pidshim_open(pid_t pid, unsigned int flags, struct pidshim **ret)
{
	const struct backend_ops *ops;
	struct pidshim *h;
	int r, cs;

	if (pid <= 0 || !ret || (flags & ~PIDSHIM_OPEN_ALL_FLAGS))
		return -EINVAL;
	cs = cancel_off();
	r = handle_backend_ops(&ops);
	if (r < 0)
		goto out;
	r = handle_new(ops, pid, flags & PIDSHIM_OPEN_OWN, &h);
	if (r < 0)
		goto out;
	r = ops->attach(h);
	if (r < 0) {
		handle_free(h);
		goto out;
	}
	*ret = h;
out:
	cancel_restore(cs);
	return RC_FILTER(r, EINVAL, ESRCH, ECHILD, EBUSY, EAGAIN, ENOSYS, EMFILE, ENFILE,
			 ENOMEM, EPERM);
}

PIDSHIM_API int pidshim_fd(const struct pidshim *h)
{
	if (!h)
		return -EINVAL;
	/* SIGCHLD mechanism: the fd of a set member may have been left deaf
	 * to SIGCHLD (the set listens for it); polled on its own, it hears
	 * it again.  The handle is the library's: const only to callers. */
	if (h->fd_epoll && !atomic_load(&h->fd_shown) && !fork_inert(h->creator))
		svc_fd_shown((struct pidshim *)h);
	return h->fd;
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

/* Inherited through fork(), or already answered: -ECHILD, else 0. */
static int answered(const struct pidshim *h)
{
	return fork_inert(h->creator) || atomic_load(&h->state) == H_DONE ? -ECHILD : 0;
}

PIDSHIM_API int pidshim_try_wait(struct pidshim *h, struct pidshim_exit *ret)
{
	struct pidshim_exit tmp;
	int r, cs;

	if (!h || !ret)
		return -EINVAL;
	r = answered(h);
	if (r < 0)
		return r;
	cs = cancel_off();
	r = finish_wait(h, h->ops->try_reap(h, &tmp), &tmp, ret);
	cancel_restore(cs);
	return RC_FILTER(r, RC_WAIT, EAGAIN);
}

PIDSHIM_API int pidshim_wait_timeout(struct pidshim *h, int timeout_ms,
				     struct pidshim_exit *ret)
{
	struct pidshim_exit tmp;
	int r, cs;

	if (!h || !ret)
		return -EINVAL;
	r = answered(h);
	if (r < 0)
		return r;
	cs = cancel_off();
	if (timeout_ms == 0) {
		r = h->ops->try_reap(h, &tmp);
		if (r == -EAGAIN)
			r = -ETIMEDOUT;
	} else {
		r = h->ops->wait(h, timeout_ms, &tmp, cs);
	}
	r = finish_wait(h, r, &tmp, ret);
	cancel_restore(cs);
	return RC_FILTER(r, RC_WAIT, ETIMEDOUT);
}

PIDSHIM_API int pidshim_wait(struct pidshim *h, struct pidshim_exit *ret)
{
	return RC_FILTER(pidshim_wait_timeout(h, -1, ret), RC_WAIT);
}

PIDSHIM_API int pidshim_send_signal(struct pidshim *h, int sig)
{
	int r, cs;

	if (!h || sig < 0 || sig > PIDSHIM_SIGMAX)
		return -EINVAL;
	if (fork_inert(h->creator))
		return -ECHILD;
	if (atomic_load(&h->state) == H_DONE)
		return -ESRCH;
	/* pidfd backends: one syscall, no lock, no cancellation point, so
	 * async-signal-safe; the fallback locks, and may write an eventfd. */
	if (h->ops->keeps_exit) {
		cs = cancel_off();
		r = h->ops->send_signal(h, sig);
		cancel_restore(cs);
	} else {
		r = h->ops->send_signal(h, sig);
	}
	return RC_FILTER(r, EINVAL, ESRCH, EPERM, ECHILD);
}

PIDSHIM_API void pidshim_close(struct pidshim *h)
{
	int saved_errno = errno, cs;

	if (!h)
		return;
	cs = cancel_off();
	if (fork_inert(h->creator)) {
		/* Only this process's copies: no set, no table, no signal. */
		set_forget_inert(h);
		handle_free(h);
	} else {
		if (h->set)
			pidshim_set_remove(h->set, h);
		h->ops->close(h);
	}
	cancel_restore(cs);
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
