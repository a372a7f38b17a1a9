/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * impl_pidshim.c - pidshim, measured once per backend: the driver runs
 * this binary with PIDSHIM_BACKEND=pidfd, pidfd-poll and signalfd (the
 * choice is cached per process).  One child at a time is
 * pidshim_spawn + pidshim_wait + pidshim_close, the plain blocking use;
 * more than one at a time, and "tracking K idle children", go through a
 * pidshim_set, the epoll-style use an event loop would make.
 * BENCH_SIGCHLD=1 blocks SIGCHLD before anything else, so that the
 * signalfd backend runs its SIGCHLD mechanism (pidshim_mechanism(3)).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <pidshim.h>

#include "bench.h"

static struct pidshim *idle[BENCH_MAX_IDLE];
static int n_idle;
static struct pidshim_set *set;
static char desc[64];

/* How the signalfd backend hears of exits.  A pidshim older than 0.2
 * (built by `make bench-before`) cannot say. */
static const char *mechanism_name(int backend)
{
#if PIDSHIM_VERSION_MAJOR > 0 || PIDSHIM_VERSION_MINOR >= 2
	int m = pidshim_mechanism();

	(void)backend;

	if (m == PIDSHIM_MECHANISM_SIGNALFD)
		return "signalfd";
	if (m == PIDSHIM_MECHANISM_THREAD)
		return "thread";
	return "none";
#else
	return backend == PIDSHIM_BACKEND_SIGNALFD ? "unknown" : "none";
#endif
}

static int ps_init(void)
{
	const char *sig = getenv("BENCH_SIGCHLD");
	int b;

	if (sig && *sig == '1') {
		sigset_t chld;

		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		sigprocmask(SIG_BLOCK, &chld, NULL);
	}
	b = pidshim_backend();
	if (b < 0)
		return b;
	snprintf(desc, sizeof(desc), "\"backend\":\"%s\",\"mechanism\":\"%s\"",
		 pidshim_backend_name(b), mechanism_name(b));
	return pidshim_set_new(&set);
}

static const char *ps_describe(void)
{
	return desc;
}

static int reap_close(struct pidshim *h)
{
	struct pidshim_exit ex;
	int r = pidshim_wait(h, &ex);

	pidshim_close(h);
	return r;
}

static int ps_spawn_wait(const char *path, int n, int conc)
{
	char *argv[] = { (char *)path, NULL };
	struct pidshim *h;
	int started = 0, done = 0, r;

	if (conc <= 1) {
		for (; done < n; done++) {
			r = pidshim_spawn(&h, path, NULL, NULL, argv, NULL);
			if (r < 0)
				return r;
			r = reap_close(h);
			if (r < 0)
				return r;
		}
		return 0;
	}
	while (done < n) {
		while (started < n && started - done < conc) {
			r = pidshim_spawn(&h, path, NULL, NULL, argv, NULL);
			if (r < 0)
				return r;
			r = pidshim_set_add(set, h);
			if (r < 0)
				return r;
			started++;
		}
		r = pidshim_set_wait(set, -1, &h);
		if (r < 0)
			return r;
		r = reap_close(h); /* closing removes it from the set */
		if (r < 0)
			return r;
		done++;
	}
	return 0;
}

static int ps_track_idle(char *const argv[], int k, int in_loop)
{
	int r;

	while (n_idle < k) {
		r = pidshim_spawn(&idle[n_idle], argv[0], NULL, NULL, argv, NULL);
		if (r < 0)
			return r;
		if (in_loop) {
			r = pidshim_set_add(set, idle[n_idle]);
			if (r < 0)
				return r;
		}
		n_idle++;
	}
	return 0;
}

static int ps_probe(char *const argv[], int in_loop, uint64_t *woke)
{
	struct pidshim *h, *ready;
	int r;

	r = pidshim_spawn(&h, argv[0], NULL, NULL, argv, NULL);
	if (r < 0)
		return r;
	if (in_loop == 2) { /* the handle's own fd, as a loop would poll it */
		struct pollfd p = { .fd = pidshim_fd(h), .events = POLLIN };
		struct pidshim_exit ex;

		do {
			while (poll(&p, 1, -1) < 0)
				;
			r = pidshim_try_wait(h, &ex);
		} while (r == -EAGAIN);
		*woke = bench_now_ns();
		pidshim_close(h);
		return r;
	}
	if (!in_loop) {
		struct pidshim_exit ex;

		r = pidshim_wait(h, &ex);
		*woke = bench_now_ns();
		pidshim_close(h);
		return r;
	}
	r = pidshim_set_add(set, h);
	if (r < 0)
		return r;
	r = pidshim_set_wait(set, -1, &ready);
	*woke = bench_now_ns();
	if (r < 0)
		return r;
	if (ready != h)
		return -EPROTO; /* an idle child never exits */
	return reap_close(h);
}

static void ps_untrack_all(void)
{
	for (int i = 0; i < n_idle; i++)
		pidshim_send_signal(idle[i], SIGKILL);
	for (int i = 0; i < n_idle; i++)
		reap_close(idle[i]);
	n_idle = 0;
}

const struct bench_ops bench_impl = {
	.name = "pidshim",
	.init = ps_init,
	.spawn_wait = ps_spawn_wait,
	.track_idle = ps_track_idle,
	.probe = ps_probe,
	.untrack_all = ps_untrack_all,
	.describe = ps_describe,
};
