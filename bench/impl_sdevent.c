/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * impl_sdevent.c - the sd-event anchor (libsystemd), used as its
 * documentation says: SIGCHLD blocked in every thread before
 * sd_event_add_child() (done in init, before any thread exists), children
 * started with posix_spawn(3) with an empty signal mask (so they do not
 * inherit the blocked SIGCHLD, as systemd does for its own children), one
 * child source per child, sd_event_run() to drive it.  The handler runs
 * while the child is a zombie; sd-event reaps it after the handler
 * returns.  Sources are unreferenced after sd_event_run() returns, not
 * inside the handler.  On this kernel sd-event watches every child with
 * a pidfd in its epoll set: O(1) per exit.
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <systemd/sd-event.h>

#include "bench.h"

extern char **environ;

enum kind { K_B1, K_IDLE, K_PROBE };

static sd_event *ev;
static posix_spawnattr_t attr;
static int b1_left, b1_done, idle_live, probe_done;
static uint64_t probe_woke;
static const char *b1_path;
static pid_t idle_pid[BENCH_MAX_IDLE];
static sd_event_source *idle_src[BENCH_MAX_IDLE];
static int n_idle;
/* Sources whose handler ran, to unref once sd_event_run() returned. */
static sd_event_source *done_src[BENCH_MAX_IDLE + 64];
static int n_done;

static int spawn(char *const argv[], enum kind kind, pid_t *pid_ret,
		 sd_event_source **src_ret);

static int on_child(sd_event_source *s, const siginfo_t *si, void *data)
{
	switch ((enum kind)(long)data) {
	case K_PROBE:
		probe_woke = bench_now_ns();
		probe_done = 1;
		break;
	case K_IDLE:
		idle_live--;
		return 0;
	case K_B1:
		b1_done++;
		if (b1_left > 0) {
			char *argv[] = { (char *)b1_path, NULL };

			b1_left--;
			if (spawn(argv, K_B1, NULL, NULL) < 0)
				abort();
		}
		break;
	}
	done_src[n_done++] = s;
	return 0;
}

static void run_once(void)
{
	int r = sd_event_run(ev, UINT64_MAX);

	if (r < 0)
		bench_die("sd_event_run", r);
	while (n_done > 0)
		sd_event_source_unref(done_src[--n_done]);
}

static int spawn(char *const argv[], enum kind kind, pid_t *pid_ret,
		 sd_event_source **src_ret)
{
	sd_event_source *s;
	pid_t pid;
	int r;

	r = posix_spawn(&pid, argv[0], NULL, &attr, argv, environ);
	if (r)
		return -r;
	r = sd_event_add_child(ev, &s, pid, WEXITED, on_child, (void *)(long)kind);
	if (r < 0)
		return r;
	if (pid_ret)
		*pid_ret = pid;
	if (src_ret)
		*src_ret = s;
	return 0;
}

static int sdb_init(void)
{
	sigset_t ss, empty;
	int r;

	sigemptyset(&ss);
	sigaddset(&ss, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
		return -errno;
	sigemptyset(&empty);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &empty);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	r = sd_event_default(&ev);
	return r < 0 ? r : 0;
}

static int sdb_spawn_wait(const char *path, int n, int conc)
{
	char *argv[] = { (char *)path, NULL };
	int first = conc < n ? conc : n, r;

	b1_path = path;
	b1_left = n - first;
	b1_done = 0;
	for (int i = 0; i < first; i++) {
		r = spawn(argv, K_B1, NULL, NULL);
		if (r < 0)
			return r;
	}
	while (b1_done < n)
		run_once();
	return 0;
}

/* A child source is always in the loop: no "bare handle". */
static int sdb_track_idle(char *const argv[], int k, int in_loop)
{
	int r;

	while (n_idle < k) {
		r = spawn(argv, K_IDLE, &idle_pid[n_idle], &idle_src[n_idle]);
		if (r < 0)
			return r;
		n_idle++;
		idle_live++;
	}
	return 0;
}

static int sdb_probe(char *const argv[], int in_loop, uint64_t *woke)
{
	int r;

	probe_done = 0;
	r = spawn(argv, K_PROBE, NULL, NULL);
	if (r < 0)
		return r;
	while (!probe_done)
		run_once();
	*woke = probe_woke;
	return 0;
}

static void sdb_untrack_all(void)
{
	for (int i = 0; i < n_idle; i++)
		sd_event_source_send_child_signal(idle_src[i], SIGKILL, NULL, 0);
	while (idle_live > 0)
		run_once();
	for (int i = 0; i < n_idle; i++)
		sd_event_source_unref(idle_src[i]);
	n_idle = 0;
}

const struct bench_ops bench_impl = {
	.name = "sd-event",
	.init = sdb_init,
	.spawn_wait = sdb_spawn_wait,
	.track_idle = sdb_track_idle,
	.probe = sdb_probe,
	.untrack_all = sdb_untrack_all,
};
