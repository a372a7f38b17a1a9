// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * emfile.c - running out of file descriptors while the probe runs is
 * transient, never "this kernel lacks pidfds" (CPython once cached EMFILE
 * as "unsupported" for the rest of the process).  With RLIMIT_NOFILE
 * exhausted, pidshim_backend() may answer -EMFILE/-ENFILE or, if it needs
 * no fd under this personality, the right backend: never another backend.
 * Once fds are free again the next call must pick the personality's
 * expected backend, and spawning must work.  Also run from a thread other
 * than the one that hit EMFILE, since the cache is process-wide.
 *
 * Usage: emfile [PERSONALITY]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pidshim.h"
#include "pmodel.h"
#include "ptap.h"

static const struct pm *pers;

#define MAX_FILL 4096
static int fill[MAX_FILL];
static int nfill;

/* Take every free fd under a small limit. */
static int exhaust(void)
{
	struct rlimit rl = { 64, 64 };
	int fd;

	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	while (nfill < MAX_FILL && (fd = fcntl(0, F_DUPFD_CLOEXEC, 0)) >= 0)
		fill[nfill++] = fd;
	return errno == EMFILE ? 0 : -errno;
}

static void release(void)
{
	while (nfill)
		close(fill[--nfill]);
}

static int judge_first(int b1, int want)
{
	PT_CHECK(b1 == -EMFILE || b1 == -ENFILE || b1 == want,
		 "with no fd free pidshim_backend() = %d (%s), want -EMFILE, -ENFILE or "
		 "%s",
		 b1, b1 < 0 ? strerror(-b1) : pidshim_backend_name(b1),
		 pidshim_backend_name(want));
	if (b1 == want)
		pt_diag("the probe needed no fd under %s", pers->name);
	return PT_PASS;
}

static int spawn_works(void)
{
	char *argv[] = { "true", NULL };
	struct pidshim_exit ex;
	struct pidshim *h;
	int rc = pidshim_spawn(&h, "/bin/true", NULL, NULL, argv, NULL);

	PT_CHECK(rc == 0, "spawn after fds came back: %s", strerror(-rc));
	rc = pidshim_wait(h, &ex);
	PT_CHECK(rc == 0 && ex.info.si_status == 0, "wait: %d", rc);
	pidshim_close(h);
	return PT_PASS;
}

static int case_not_cached(void)
{
	int want = pm_expected_backend(pers);
	int b1, b2;

	PT_CHECK(exhaust() == 0, "could not exhaust fds");
	b1 = pidshim_backend();
	release();
	PT_CHECK(judge_first(b1, want) == PT_PASS, "first probe");
	b2 = pidshim_backend();
	PT_CHECK(b2 == want, "after freeing fds pidshim_backend() = %d (%s), want %s", b2,
		 b2 < 0 ? strerror(-b2) : pidshim_backend_name(b2),
		 pidshim_backend_name(want));
	PT_CHECK(pidshim_backend() == want, "third call");
	return spawn_works();
}

/* Spawning with no fd free fails with EMFILE/ENFILE, leaves nothing, and is not cached
 * either. */
static int case_spawn_emfile(void)
{
	char *argv[] = { "true", NULL };
	struct pidshim *h = NULL;
	pid_t p;
	int rc;

	PT_CHECK(exhaust() == 0, "could not exhaust fds");
	rc = pidshim_spawn(&h, "/bin/true", NULL, NULL, argv, NULL);
	release();
	PT_CHECK(rc == -EMFILE || rc == -ENFILE, "spawn with no fd free: %d (%s)", rc,
		 strerror(-rc));
	usleep(50 * 1000);
	p = waitpid(-1, NULL, WNOHANG);
	PT_CHECK(p == -1 && errno == ECHILD, "a child was left behind (%d)", (int)p);
	PT_CHECK(pidshim_backend() == pm_expected_backend(pers),
		 "backend after EMFILE spawn: %d", pidshim_backend());
	return spawn_works();
}

static void *thread_probe(void *arg)
{
	*(int *)arg = pidshim_backend();
	return NULL;
}

static int case_other_thread(void)
{
	int want = pm_expected_backend(pers);
	pthread_t t;
	int b1, b2 = 0;

	PT_CHECK(exhaust() == 0, "could not exhaust fds");
	b1 = pidshim_backend();
	release();
	PT_CHECK(judge_first(b1, want) == PT_PASS, "first probe");
	PT_CHECK(pthread_create(&t, NULL, thread_probe, &b2) == 0, "pthread_create");
	pthread_join(t, NULL);
	PT_CHECK(b2 == want, "another thread got %d, want %s", b2,
		 pidshim_backend_name(want));
	return PT_PASS;
}

static const struct pt_case cases[] = {
	{ "EMFILE during the probe is not cached", case_not_cached },
	{ "spawn with no fd free: EMFILE, nothing left", case_spawn_emfile },
	{ "after EMFILE another thread probes right", case_other_thread },
};

int main(int argc, char **argv)
{
	const char *name = pt_personality(argc, argv);

	pers = pm_lookup(name);
	if (!pers) {
		fprintf(stderr, "emfile: unknown personality '%s'\n", name);
		return 2;
	}
	return pt_run(cases, sizeof(cases) / sizeof(cases[0]), 20);
}
