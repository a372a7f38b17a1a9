// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * threads.c - selftests of the library's own threads: a program that uses
 * pidshim stays single-threaded when nothing is pending.  Container
 * runtimes, sandboxes and CI runners build namespaces, and the kernel
 * refuses unshare(CLONE_NEWUSER) and setns() into a user namespace to a
 * multithreaded process: the library's threads must end once nothing
 * needs them (within their idle period), pidshim_quiesce() must end them
 * at once, and it must say -EBUSY while something is still pending.
 */
#include <sched.h>

#include "pstest.h"

FIXTURE(threads)
{
	int release;
	struct pidshim *h;
};
PS_BACKEND_VARIANTS(threads);

FIXTURE_SETUP(threads)
{
	self->release = -1;
	self->h = NULL;
	if (ps_setup_backend(_metadata, variant->backend, variant->expect))
		return;
}

FIXTURE_TEARDOWN(threads)
{
	ps_close(&self->release);
	pidshim_close(self->h);
}

/* Threads of this process now (/proc/self/task). */
static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Waits up to ms for the thread count to drop to want; the count then. */
static int threads_settle(int want, int ms)
{
	int64_t end = ps_now_ms() + ms;
	int n;

	while ((n = thread_count()) != want && ps_now_ms() < end)
		ps_sleep_ms(5);
	return n;
}

static void spawn_wait_close(struct __test_metadata *_metadata, int code)
{
	struct pidshim_exit ex;
	struct pidshim *h = NULL;

	ASSERT_EQ(0, ps_spawn_helper(&h, -1, -1, "exit", code == 0 ? "0" : "1", NULL));
	ASSERT_EQ(0, pidshim_wait(h, &ex));
	pidshim_close(h);
}

/* Can this machine make a user namespace at all (a fresh process can)? */
static bool userns_possible(char *why, size_t n)
{
	int st, r;
	pid_t p = fork();

	if (p == 0)
		_exit(unshare(CLONE_NEWUSER) ? errno : 0);
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st))
		return false;
	r = WEXITSTATUS(st);
	snprintf(why, n, "unshare(CLONE_NEWUSER) fails even in a fresh process: %s "
		 "(user namespaces disabled here)", strerror(r));
	return r == 0;
}

PS_TEST(threads, back_to_one_thread_after_spawn_wait_close)
{
	int n;

	ASSERT_EQ(1, thread_count());
	spawn_wait_close(_metadata, 0);
	n = threads_settle(1, 1000 * ps_slow());
	EXPECT_EQ(1, n)
	{
		TH_LOG("%d threads 1 s after the last handle was closed", n);
	}
}

/*
 * The kernel's own rule, checked in the test process itself: after
 * spawn, wait and close (and the library's idle period), it may enter a
 * new user namespace.
 */
PS_TEST(threads, unshare_newuser_works_after_spawn_wait_close)
{
	char why[200];
	int r = -1;

	if (!userns_possible(why, sizeof(why)))
		SKIP(return, "%s", why);
	spawn_wait_close(_metadata, 0);
	for (int i = 0; i < 100 * ps_slow() && (r = unshare(CLONE_NEWUSER)) != 0; i++)
		ps_sleep_ms(10);
	EXPECT_EQ(0, r)
	{
		TH_LOG("unshare(CLONE_NEWUSER) still fails 1 s after close: %s",
		       strerror(errno));
	}
}

PS_TEST(threads, quiesce_ends_the_threads_at_once)
{
	char why[200];

	spawn_wait_close(_metadata, 0);
	ASSERT_EQ(0, pidshim_quiesce());
	EXPECT_EQ(1, thread_count());
	if (!userns_possible(why, sizeof(why)))
		SKIP(return, "%s", why);
	EXPECT_EQ(0, unshare(CLONE_NEWUSER))
	{
		TH_LOG("right after pidshim_quiesce: %s", strerror(errno));
	}
}

/*
 * Pending work: on the fallback every handle of a running process needs
 * the watcher; on the pidfd backends an open handle needs nothing (its
 * pidfd does it all) and only a closed handle's running child does.
 */
PS_TEST(threads, quiesce_is_ebusy_only_while_something_is_pending)
{
	char why[200];
	pid_t pid;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 0));
	pid = pidshim_pid(self->h);
	if (variant->expect == PIDSHIM_BACKEND_SIGNALFD) {
		EXPECT_EQ(-EBUSY, pidshim_quiesce());
	} else {
		EXPECT_EQ(0, pidshim_quiesce());
		EXPECT_EQ(1, thread_count());
	}
	pidshim_close(self->h); /* still running: the library's now */
	self->h = NULL;
	EXPECT_EQ(-EBUSY, pidshim_quiesce());
	/* The documented error while the library's thread runs. */
	EXPECT_LT(1, thread_count());
	if (userns_possible(why, sizeof(why))) {
		EXPECT_EQ(-1, unshare(CLONE_NEWUSER));
		EXPECT_EQ(EINVAL, errno);
	}
	ps_close(&self->release);
	for (int i = 0; i < 200 * ps_slow() && kill(pid, 0) == 0; i++)
		ps_sleep_ms(5);
	ASSERT_EQ(-1, kill(pid, 0)); /* reaped by the library */
	EXPECT_EQ(0, pidshim_quiesce());
	EXPECT_EQ(1, thread_count());
}

/*
 * Open handles of running children: on the pidfd backends no thread at
 * all (the pidfds do the work); on the fallback its two threads (the
 * watcher and the ticker), however many handles.  Either way, one thread
 * again once they are all reaped and closed.
 */
PS_TEST(threads, open_handles_cost_no_thread_on_pidfd_backends_two_on_the_fallback)
{
	int want = variant->expect == PIDSHIM_BACKEND_SIGNALFD ? 3 : 1;
	struct pidshim *h[8];
	int rel[8];

	for (int i = 0; i < 8; i++)
		ASSERT_EQ(0, ps_spawn_blocker(&h[i], &rel[i], i));
	EXPECT_EQ(want, thread_count());
	for (int i = 0; i < 8; i++) {
		struct pidshim_exit ex;

		close(rel[i]);
		EXPECT_EQ(0, pidshim_wait(h[i], &ex));
		EXPECT_EQ(i, ex.info.si_status);
		pidshim_close(h[i]);
	}
	EXPECT_EQ(1, threads_settle(1, 1000 * ps_slow()));
}

PS_MAIN
