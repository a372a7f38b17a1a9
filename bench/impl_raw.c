/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * impl_raw.c - the physical floor every other figure is divided by:
 * posix_spawn(3) and the bare wait syscalls, no library and no
 * bookkeeping.  B1 waits with waitpid(pid) one at a time and waitpid(-1)
 * at concurrency > 1 (the cheapest possible reaping, which only a program
 * that owns every child of the process may use); B2/B3 block one thread in
 * waitid(P_PID); an idle child is tracked by one raw pidfd, the smallest
 * handle the kernel offers (the B4 floor).
 *
 * With BENCH_RAW_WAIT=all in the environment ("raw-wait-all") every wait
 * is waitpid(-1), which names no child: the one way to hear of an exit
 * without pidfds and without SIGCHLD, and what the kernel charges for it
 * (it walks the list of children, so B3 grows with K); no pidfds either.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

static pid_t idle_pid[BENCH_MAX_IDLE];
static int idle_fd[BENCH_MAX_IDLE];
static int n_idle;
static bool wait_all; /* BENCH_RAW_WAIT=all: waitpid(-1) only */

static int raw_init(void)
{
	const char *w = getenv("BENCH_RAW_WAIT");

	wait_all = w && strcmp(w, "all") == 0;
	return 0;
}

static const char *raw_describe(void)
{
	return wait_all ? "\"wait\":\"all\"" : NULL;
}

static int spawn(const char *path, char *const argv[], pid_t *pid)
{
	return -posix_spawn(pid, path, NULL, NULL, argv, environ);
}

static int raw_spawn_wait(const char *path, int n, int conc)
{
	char *argv[] = { (char *)path, NULL };
	int started = 0, done = 0, r, st;
	pid_t pid;

	if (conc <= 1) {
		for (; done < n; done++) {
			r = spawn(path, argv, &pid);
			if (r < 0)
				return r;
			pid_t w = waitpid(wait_all ? -1 : pid, &st, 0);

			if (w != pid)
				return w < 0 ? -errno : -EPROTO;
		}
		return 0;
	}
	for (; started < conc && started < n; started++) {
		r = spawn(path, argv, &pid);
		if (r < 0)
			return r;
	}
	while (done < n) {
		if (waitpid(-1, &st, 0) < 0)
			return -errno;
		done++;
		if (started < n) {
			r = spawn(path, argv, &pid);
			if (r < 0)
				return r;
			started++;
		}
	}
	return 0;
}

static int raw_track_idle(char *const argv[], int k, int in_loop)
{
	int r;

	while (n_idle < k) {
		r = spawn(argv[0], argv, &idle_pid[n_idle]);
		if (r < 0)
			return r;
		idle_fd[n_idle] = wait_all ? -1 : (int)syscall(SYS_pidfd_open, idle_pid[n_idle], 0);
		if (idle_fd[n_idle] < 0 && !wait_all && errno != ENOSYS)
			return -errno;
		n_idle++;
	}
	return 0;
}

static int raw_probe(char *const argv[], int in_loop, uint64_t *woke)
{
	siginfo_t si;
	pid_t pid;
	int r;

	r = spawn(argv[0], argv, &pid);
	if (r < 0)
		return r;
	if (waitid(wait_all ? P_ALL : P_PID, (id_t)pid, &si, WEXITED) < 0)
		return -errno;
	*woke = bench_now_ns();
	/* The idle children never exit: waitpid(-1) can only name the probe. */
	return si.si_pid == pid ? 0 : -EPROTO;
}

static void raw_untrack_all(void)
{
	for (int i = 0; i < n_idle; i++)
		kill(idle_pid[i], SIGKILL);
	for (int i = 0; i < n_idle; i++) {
		waitpid(idle_pid[i], NULL, 0);
		if (idle_fd[i] >= 0)
			close(idle_fd[i]);
	}
	n_idle = 0;
}

const struct bench_ops bench_impl = {
	.name = "raw",
	.init = raw_init,
	.spawn_wait = raw_spawn_wait,
	.track_idle = raw_track_idle,
	.probe = raw_probe,
	.untrack_all = raw_untrack_all,
	.describe = raw_describe,
};
