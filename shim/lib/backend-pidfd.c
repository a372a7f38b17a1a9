/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * backend-pidfd.c - the two pidfd backends.
 *
 * "pidfd" (Linux >= 5.4): the handle's fd is a pidfd; waitid(P_PIDFD) reaps
 * through it, so no PID is ever used after pidfd_open.  "pidfd-poll"
 * (Linux 5.3, where waitid does not know P_PIDFD yet) uses the pidfd for
 * readiness and signals and waitid(P_PID) to reap: safe because only a
 * reap frees the PID and the reap is ours.  Remove pidfd-poll once Linux
 * 5.4 is the baseline.
 *
 * Signals always go through pidfd_send_signal, which the kernel refuses
 * with ESRCH once the process is reaped: no PID-reuse race, whatever
 * other threads do.
 */
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"

/* PIDFD_GET_INFO (Linux 6.13) with PIDFD_INFO_EXIT (6.15) reports how a
 * process that is not our child ended. */
struct pidshim_pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
	uint32_t coredump_mask;
	uint32_t spare1;
};
#define PIDSHIM_PIDFD_GET_INFO	_IOWR(0xFF, 11, struct pidshim_pidfd_info)
#define PIDSHIM_PIDFD_INFO_EXIT (1ULL << 3)

static bool uses_p_pidfd(const struct pidshim *h)
{
	return h->ops == &pidshim_pidfd_ops;
}

static int waitid_of(struct pidshim *h, siginfo_t *si, int options, struct rusage *ru)
{
	if (uses_p_pidfd(h))
		return sys_waitid(P_PIDFD, h->fd, si, options, ru);
	return sys_waitid(P_PID, h->pid, si, options, ru);
}

static int pfd_attach(struct pidshim *h)
{
	siginfo_t si;
	int fd, r;

	fd = sys_pidfd_open(h->pid, 0);
	if (fd < 0)
		return fd;
	fd = fd_move_above_stdio(fd);
	if (fd < 0)
		return fd;
	h->fd = fd;

	if (h->child) /* spawned by us */
		return 0;
	/* Only children can be reaped; others are watched until they exit. */
	memset(&si, 0, sizeof(si));
	r = waitid_of(h, &si, WEXITED | WNOHANG | WNOWAIT, NULL);
	if (r < 0 && r != -ECHILD)
		return r;
	h->child = r == 0;
	if (h->owned && !h->child)
		return -ECHILD;
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
static int nonchild_exit(struct pidshim *h, struct pidshim_exit *e, int patience_ms)
{
	struct pidshim_pidfd_info info;
	int64_t until = now_ms() + patience_ms;

	for (;;) {
		memset(&info, 0, sizeof(info));
		info.mask = PIDSHIM_PIDFD_INFO_EXIT;
		if (ioctl(h->fd, PIDSHIM_PIDFD_GET_INFO, &info) < 0)
			return -ECHILD; /* ENOTTY/EINVAL: before 6.13 */
		if (info.mask & PIDSHIM_PIDFD_INFO_EXIT)
			return fill_from_info(h, &info, e);
		if (now_ms() >= until)
			return -ECHILD;
		struct timespec ts = { 0, 2 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

static int reap_or_peek(struct pidshim *h, struct pidshim_exit *e, int patience_ms)
{
	int r;

	/* A non-child, and on 5.3 any child, is only looked at once its
	 * pidfd says it has exited: P_PID must not outlive the process. */
	if (!h->child || !uses_p_pidfd(h)) {
		do /* even a 0 timeout gives EINTR when a signal is pending */
			r = poll_one(h->fd, 0);
		while (r == -EINTR);
		if (r < 0)
			return r;
		if (r == 0)
			return -EAGAIN;
		if (!h->child)
			return nonchild_exit(h, e, patience_ms);
		/* Reaped by other code: the PID may name a stranger now. */
		if (sys_pidfd_send_signal(h->fd, 0) == -ESRCH)
			return -ECHILD;
	}
	memset(e, 0, sizeof(*e));
	r = waitid_of(h, &e->info, WEXITED | WNOHANG, &e->rusage);
	if (r < 0)
		return r;
	/* Readable but nothing to reap: a tracer holds the zombie. */
	return e->info.si_pid ? 0 : -EAGAIN;
}

static int pfd_try_reap(struct pidshim *h, struct pidshim_exit *e)
{
	return reap_or_peek(h, e, 0);
}

static int pfd_wait(struct pidshim *h, int timeout_ms, struct pidshim_exit *e)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int backoff = 1, r;
	bool held = false;

	/* A child with no timeout, on 5.4+: let the kernel block through the
	 * pidfd.  This also covers a ptraced child whose pidfd is readable
	 * before we may reap it.  (With P_PID a block could outlive the
	 * process if other code reaped it, so 5.3 takes the loop below.) */
	if (h->child && timeout_ms < 0 && uses_p_pidfd(h)) {
		memset(e, 0, sizeof(*e));
		do
			r = waitid_of(h, &e->info, WEXITED, &e->rusage);
		while (r == -EINTR);
		return r;
	}
	for (;;) {
		int left = deadline_remaining(deadline, timeout_ms);

		r = reap_or_peek(h, e,
				 left < 0 || left > NONCHILD_PATIENCE_MS
					 ? NONCHILD_PATIENCE_MS
					 : left);
		if (r != -EAGAIN)
			return r;
		left = deadline_remaining(deadline, timeout_ms);
		if (left == 0)
			return -ETIMEDOUT;
		if (held) {
			/* The fd is readable but a tracer holds the zombie;
			 * poll would return at once, so back off instead. */
			int nap = left < 0 || left > backoff ? backoff : left;
			struct timespec ts = { nap / 1000, (nap % 1000) * 1000000L };
			nanosleep(&ts, NULL);
			backoff = backoff < 64 ? backoff * 2 : 100;
			continue;
		}
		r = poll_one(h->fd, left);
		if (r < 0 && r != -EINTR)
			return r;
		held = r > 0;
	}
}

static int pfd_send_signal(struct pidshim *h, int sig)
{
	return sys_pidfd_send_signal(h->fd, sig);
}

static void pfd_close(struct pidshim *h)
{
	struct pidshim_exit e;

	/* A child we spawned and nobody waited for: reap it now if it is
	 * done, else the SIGCHLD service reaps it later.  Either way the
	 * pidfd goes now, so the fd count drops at once. */
	if (h->owned && h->child && atomic_load(&h->state) == H_RUNNING &&
	    pfd_try_reap(h, &e) == -EAGAIN) {
		close(h->fd);
		h->fd = -1;
		svc_adopt_orphan(h);
		return;
	}
	handle_free(h);
}

/* Spawned children are owned: the service that reaps them if their
 * handle is closed early is started now, so closing can never fail. */
static int pfd_prepare(struct pidshim *h)
{
	(void)h;
	return svc_prepare();
}

HIDDEN const struct backend_ops pidshim_pidfd_ops = {
	.prepare = pfd_prepare,
	.attach = pfd_attach,
	.try_reap = pfd_try_reap,
	.wait = pfd_wait,
	.send_signal = pfd_send_signal,
	.close = pfd_close,
};

HIDDEN const struct backend_ops pidshim_pidfd_poll_ops = {
	.prepare = pfd_prepare,
	.attach = pfd_attach,
	.try_reap = pfd_try_reap,
	.wait = pfd_wait,
	.send_signal = pfd_send_signal,
	.close = pfd_close,
};
