/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * impl_ev.c - the libev anchor, used as its documentation says: children
 * are started with posix_spawn(3) (libev has no spawn call) and watched
 * with an ev_child watcher on the default loop (the only loop that may
 * have child watchers), started right after the spawn and before
 * returning to the loop, stopped in its callback.  libev reaps with
 * waitpid(-1) from its SIGCHLD handler and finds the watcher in a hash by
 * pid: O(1) in user space, but it reaps every child of the process, so it
 * cannot coexist with code that waits for its own children.
 */
#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>

#include "bench.h"

extern char **environ;

enum kind { K_B1, K_IDLE, K_PROBE };

struct child {
	ev_child w;
	enum kind kind;
};

static struct ev_loop *loop;
static int b1_left, b1_done, idle_live, probe_done;
static uint64_t probe_woke;
static const char *b1_path;
static struct child *idle[BENCH_MAX_IDLE];
static int n_idle;

static int spawn(char *const argv[], enum kind kind, struct child **ret);

static void on_child(struct ev_loop *l, ev_child *w, int revents)
{
	struct child *c = (struct child *)w;

	ev_child_stop(l, w);
	switch (c->kind) {
	case K_PROBE:
		probe_woke = bench_now_ns();
		probe_done = 1;
		break;
	case K_IDLE:
		idle_live--;
		break;
	case K_B1:
		b1_done++;
		if (b1_left > 0) {
			char *argv[] = { (char *)b1_path, NULL };

			b1_left--;
			if (spawn(argv, K_B1, NULL) < 0)
				abort();
		}
		break;
	}
	if (c->kind != K_IDLE)
		free(c);
}

static int spawn(char *const argv[], enum kind kind, struct child **ret)
{
	struct child *c = calloc(1, sizeof(*c));
	pid_t pid;
	int r;

	if (!c)
		return -ENOMEM;
	r = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
	if (r) {
		free(c);
		return -r;
	}
	c->kind = kind;
	ev_child_init(&c->w, on_child, pid, 0);
	ev_child_start(loop, &c->w);
	if (ret)
		*ret = c;
	return 0;
}

static int evb_init(void)
{
	loop = ev_default_loop(0);
	return loop ? 0 : -ENOMEM;
}

static int evb_spawn_wait(const char *path, int n, int conc)
{
	char *argv[] = { (char *)path, NULL };
	int first = conc < n ? conc : n, r;

	b1_path = path;
	b1_left = n - first;
	b1_done = 0;
	for (int i = 0; i < first; i++) {
		r = spawn(argv, K_B1, NULL);
		if (r < 0)
			return r;
	}
	while (b1_done < n)
		ev_run(loop, EVRUN_ONCE);
	return 0;
}

/* An ev_child is always in the loop: no "bare handle". */
static int evb_track_idle(char *const argv[], int k, int in_loop)
{
	int r;

	while (n_idle < k) {
		r = spawn(argv, K_IDLE, &idle[n_idle]);
		if (r < 0)
			return r;
		n_idle++;
		idle_live++;
	}
	return 0;
}

static int evb_probe(char *const argv[], int in_loop, uint64_t *woke)
{
	int r;

	probe_done = 0;
	r = spawn(argv, K_PROBE, NULL);
	if (r < 0)
		return r;
	while (!probe_done)
		ev_run(loop, EVRUN_ONCE);
	*woke = probe_woke;
	return 0;
}

static void evb_untrack_all(void)
{
	for (int i = 0; i < n_idle; i++)
		kill(idle[i]->w.pid, SIGKILL);
	while (idle_live > 0)
		ev_run(loop, EVRUN_ONCE);
	for (int i = 0; i < n_idle; i++)
		free(idle[i]);
	n_idle = 0;
}

const struct bench_ops bench_impl = {
	.name = "libev",
	.init = evb_init,
	.spawn_wait = evb_spawn_wait,
	.track_idle = evb_track_idle,
	.probe = evb_probe,
	.untrack_all = evb_untrack_all,
};
