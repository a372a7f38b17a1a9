// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * forced.c - PIDSHIM_BACKEND forces a backend; where the personality's
 * kernel cannot serve it (pidfd before 5.4, pidfd-poll before 5.3 or with
 * the pidfd syscalls refused by a profile) pidshim_backend(), pidshim_open()
 * and pidshim_spawn() must all give -ENOSYS, never switch silently to
 * another backend, leave no child and no fd behind, and not touch the
 * output pointer.  Where the kernel can serve it, the forced backend must
 * be the one used, and work.
 *
 * Usage: [PIDSHIM_BACKEND=NAME] forced [PERSONALITY]
 * Without PIDSHIM_BACKEND every backend is forced in turn, one process each.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pidshim.h"
#include "pmodel.h"
#include "ptap.h"

static const struct pm *pers;
static int forced;

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the DIR's own fd */
}

static int no_children_left(void)
{
	pid_t p = waitpid(-1, NULL, WNOHANG);

	PT_CHECK(p == -1 && errno == ECHILD, "a child was left behind (waitpid gave %d)",
		 (int)p);
	return PT_PASS;
}

static int case_backend(void)
{
	int b = pidshim_backend();

	if (pm_can_serve(pers, forced))
		PT_CHECK(b == forced, "forced %s under %s: pidshim_backend() = %d",
			 pidshim_backend_name(forced), pers->name, b);
	else
		PT_CHECK(b == -ENOSYS,
			 "forced %s under %s: pidshim_backend() = %d, want -ENOSYS",
			 pidshim_backend_name(forced), pers->name, b);
	/* Cached: the second answer is the same. */
	PT_CHECK(pidshim_backend() == b, "second call differs");
	return PT_PASS;
}

static int open_child(pid_t child)
{
	struct pidshim *sentinel = (struct pidshim *)&sentinel;
	struct pidshim *h = sentinel;
	struct pidshim_exit ex;
	int rc, fds = count_fds();

	rc = pidshim_open(child, 0, &h);
	if (pm_can_serve(pers, forced)) {
		PT_CHECK(rc == 0, "pidshim_open: %s", strerror(-rc));
		PT_CHECK(pidshim_pid(h) == child, "pid");
		PT_CHECK(pidshim_send_signal(h, SIGKILL) == 0, "send_signal");
		rc = pidshim_wait(h, &ex);
		PT_CHECK(rc == 0 && ex.info.si_code == CLD_KILLED, "wait: %d code %d", rc,
			 ex.info.si_code);
		pidshim_close(h);
		return PT_PASS;
	}
	PT_CHECK(rc == -ENOSYS, "pidshim_open gave %d (%s), want -ENOSYS", rc,
		 strerror(-rc));
	PT_CHECK(h == sentinel, "output parameter touched on failure");
	PT_CHECK(count_fds() == fds, "fd count %d -> %d", fds, count_fds());
	return PT_PASS;
}

static int case_open(void)
{
	pid_t child = fork();
	int r;

	if (child == 0) {
		pause();
		_exit(0);
	}
	PT_CHECK(child > 0, "fork: %s", strerror(errno));
	r = open_child(child);
	/* Whatever happened, leave no child: kill and reap it unless the library did. */
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	PT_CHECK(r == PT_PASS, "pidshim_open");
	return no_children_left();
}

static int spawn_case(int with_path)
{
	char *argv[] = { "true", NULL };
	struct pidshim *sentinel = (struct pidshim *)&sentinel;
	struct pidshim *h = sentinel;
	struct pidshim_exit ex;
	int rc, fds = count_fds();

	rc = with_path ? pidshim_spawnp(&h, "true", NULL, NULL, argv, NULL)
		       : pidshim_spawn(&h, "/bin/true", NULL, NULL, argv, NULL);
	if (pm_can_serve(pers, forced)) {
		PT_CHECK(rc == 0, "spawn: %s", strerror(-rc));
		rc = pidshim_wait(h, &ex);
		PT_CHECK(rc == 0 && ex.info.si_code == CLD_EXITED &&
				 ex.info.si_status == 0,
			 "wait: %d", rc);
		pidshim_close(h);
		return no_children_left();
	}
	PT_CHECK(rc == -ENOSYS, "spawn gave %d (%s), want -ENOSYS", rc, strerror(-rc));
	PT_CHECK(h == sentinel, "output parameter touched on failure");
	/* Give a child that should not exist a moment to show up as a zombie. */
	usleep(50 * 1000);
	PT_CHECK(no_children_left() == PT_PASS, "spawn");
	PT_CHECK(count_fds() == fds, "fd count %d -> %d", fds, count_fds());
	return PT_PASS;
}

static int case_spawn(void)
{
	return spawn_case(0);
}

static int case_spawnp(void)
{
	return spawn_case(1);
}

/* Each case runs in a fresh process: force the backend there, before the first probe. */
static int with_forced(int b, int (*fn)(void))
{
	forced = b;
	PT_CHECK(setenv("PIDSHIM_BACKEND", pidshim_backend_name(b), 1) == 0, "setenv");
	pt_diag("PIDSHIM_BACKEND=%s under %s: %s", pidshim_backend_name(b), pers->name,
		pm_can_serve(pers, b) ? "servable" : "cannot be served, want -ENOSYS");
	return fn();
}

#define FORCED(b, fn)                                        \
	static int fn##_##b(void)                            \
	{                                                    \
		return with_forced(PIDSHIM_BACKEND_##b, fn); \
	}
#define FORCED_ALL(b)           \
	FORCED(b, case_backend) \
	FORCED(b, case_open) FORCED(b, case_spawn) FORCED(b, case_spawnp)
FORCED_ALL(PIDFD)
FORCED_ALL(PIDFD_POLL)
FORCED_ALL(SIGNALFD)

#define CASES(b, name)                                      \
	{ name ": pidshim_backend", case_backend_##b },     \
		{ name ": pidshim_open", case_open_##b },   \
		{ name ": pidshim_spawn", case_spawn_##b }, \
	{                                                   \
		name ": pidshim_spawnp", case_spawnp_##b    \
	}

static const struct pt_case cases[] = {
	CASES(PIDFD, "pidfd"),
	CASES(PIDFD_POLL, "pidfd-poll"),
	CASES(SIGNALFD, "signalfd"),
};

int main(int argc, char **argv)
{
	const char *name = pt_personality(argc, argv);
	const char *f = getenv("PIDSHIM_BACKEND");
	size_t first = 0, n = sizeof(cases) / sizeof(cases[0]);

	pers = pm_lookup(name);
	if (!pers) {
		fprintf(stderr, "forced: unknown personality '%s'\n", name);
		return 2;
	}
	/* PIDSHIM_BACKEND set: only that backend's cases. */
	if (f && *f) {
		int b;

		for (b = PIDSHIM_BACKEND_PIDFD; b <= PIDSHIM_BACKEND_SIGNALFD; b++)
			if (!strcmp(f, pidshim_backend_name(b)))
				break;
		if (b > PIDSHIM_BACKEND_SIGNALFD) {
			fprintf(stderr, "forced: PIDSHIM_BACKEND=%s is not a backend\n",
				f);
			return 2;
		}
		first = (size_t)(b - PIDSHIM_BACKEND_PIDFD) * 4;
		n = 4;
	}
	return pt_run(cases + first, n, 20);
}
