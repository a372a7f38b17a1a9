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

/*
 * Threads of the process beyond those it had when the test began (an
 * emulator such as qemu-user runs one of its own in every process).
 */
static int base_threads;
static int thread_count(void)
{
	return ps_thread_count() - base_threads + 1;
}

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
	if (ps_setup_backend(_metadata, PS_VARIANT))
		return;
	base_threads = ps_thread_count();
}

FIXTURE_TEARDOWN(threads)
{
	ps_close(&self->release);
	pidshim_close(self->h);
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
	snprintf(why, n,
		 "unshare(CLONE_NEWUSER) fails even in a fresh process: %s "
		 "(user namespaces disabled here, or the emulator runs a thread of its "
		 "own in every process)",
		 strerror(r));
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
	if (variant->expect == PIDSHIM_BACKEND_SIGNALFD && !variant->sigchld) {
		EXPECT_EQ(-EBUSY, pidshim_quiesce());
	} else {
		EXPECT_EQ(0, pidshim_quiesce());
		EXPECT_EQ(1, thread_count());
	}
	pidshim_close(self->h); /* still running: the library's now */
	self->h = NULL;
	EXPECT_EQ(-EBUSY, pidshim_quiesce());
	/* A thread reaps it when it exits (also under the SIGCHLD
	 * mechanism: nothing else would), and meanwhile unshare gives the
	 * documented error. */
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
 * watcher and the ticker it starts before it sleeps in waitid), however
 * many handles.  Either way, one thread again once they are all reaped
 * and closed.
 */
PS_TEST(threads, open_handles_cost_no_thread_on_pidfd_backends_two_on_the_fallback)
{
	int want =
		variant->expect == PIDSHIM_BACKEND_SIGNALFD && !variant->sigchld ? 3 : 1;
	struct pidshim *h[8];
	int rel[8];

	for (int i = 0; i < 8; i++)
		ASSERT_EQ(0, ps_spawn_blocker(&h[i], &rel[i], i));
	EXPECT_EQ(want, threads_settle(want, 1000 * ps_slow()));
	for (int i = 0; i < 8; i++) {
		struct pidshim_exit ex;

		close(rel[i]);
		EXPECT_EQ(0, pidshim_wait(h[i], &ex));
		EXPECT_EQ(i, ex.info.si_status);
		pidshim_close(h[i]);
	}
	EXPECT_EQ(1, threads_settle(1, 1000 * ps_slow()));
}

/*
 * A program that spawns and waits in a loop has one library thread on the
 * fallback's thread mechanism (the watcher, parked while the waits sleep
 * in waitid themselves), none otherwise: a ticker beside it is started
 * only for a watcher that sleeps in waitid, and ends once it is parked.
 * A thread that sleeps costs such a loop little CPU, but while it lives
 * the kernel places the new children differently (bench/README.md).
 * Under valgrind a spawn can outlast DIRECT_LAG_MS, and the watcher then
 * sleeps in waitid (with its ticker) until the next exit: the count is
 * exact only at native speed.
 */
PS_TEST(threads, spawn_and_wait_in_a_loop_runs_at_most_one_library_thread)
{
	int extra = variant->expect == PIDSHIM_BACKEND_SIGNALFD && !variant->sigchld;
	int base = thread_count(), most = 0;
	int64_t t0 = ps_now_ms();

	/* A ticker started by the first spawns ends at the watcher's next
	 * wake-up (every PARK_MS at the latest): count after 200 ms. */
	while (ps_now_ms() - t0 < 200)
		spawn_wait_close(_metadata, 0);
	for (int i = 0; i < 20; i++) {
		int n;

		spawn_wait_close(_metadata, 0);
		n = thread_count() - base;
		most = n > most ? n : most;
	}
	if (ps_slow() > 1) {
		EXPECT_GE(extra + 1, most);
	} else {
		EXPECT_EQ(extra, most);
	}
	EXPECT_EQ(base, threads_settle(base, 1000 * ps_slow()));
}

/* The last pid this pid namespace handed out. */
static long ns_last_pid(void)
{
	char buf[32];
	ssize_t n;
	int fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/*
 * A workload of every kind of call but close-while-running: spawns and
 * blocking, timed and non-blocking waits, fd readiness, a set, a second
 * handle, signals, stale handles.  Returns the children it made (each
 * took one pid), or -1.
 */
static int workload(void)
{
	struct pidshim *h[8], *h2 = NULL, *ready;
	struct pidshim_set *s = NULL;
	struct pidshim_exit ex;
	int rel[8], made = 0;

	if (pidshim_set_new(&s))
		return -1;
	for (int i = 0; i < 8; i++) {
		if (ps_spawn_blocker(&h[i], &rel[i], i))
			return -1;
		made++;
		if (i < 4)
			pidshim_set_add(s, h[i]);
	}
	if (pidshim_open(pidshim_pid(h[5]), 0, &h2))
		return -1;
	pidshim_send_signal(h[6], 0);
	for (int i = 0; i < 8; i++) {
		close(rel[i]);
		if (i < 4) {
			if (pidshim_set_wait(s, 5000, &ready))
				return -1;
			pidshim_wait(ready, &ex);
		} else if (i == 4) {
			ps_readable(pidshim_fd(h[i]), 5000);
			while (pidshim_try_wait(h[i], &ex) == -EAGAIN)
				ps_sleep_ms(1);
		} else if (i == 5) {
			pidshim_wait_timeout(h[i], 5000, &ex);
		} else {
			pidshim_wait(h[i], &ex);
		}
	}
	pidshim_wait(h2, &ex);
	pidshim_send_signal(h[7], SIGTERM); /* stale: -ESRCH */
	for (int i = 0; i < 8; i++)
		pidshim_close(h[i]);
	pidshim_close(h2);
	pidshim_set_free(s);
	return made;
}

/* The pids a child costs here: 1 natively; more under an emulator that
 * runs a thread of its own in every process (qemu-user). */
static long pids_per_child(void)
{
	char *argv[] = { (char *)ps_helper(), (char *)"exit", (char *)"0", NULL };
	long before = ns_last_pid();
	pid_t p;
	int st;

	for (int i = 0; i < 3; i++) {
		if (posix_spawn(&p, argv[0], NULL, NULL, argv, NULL))
			return -1;
		waitpid(p, &st, 0);
	}
	return (ns_last_pid() - before) / 3;
}

/* Exit code: the pids the workload used beyond its children (threads). */
static int ns_count_threads(void)
{
	long per = pids_per_child(), before = ns_last_pid(), after;
	int children = workload();

	after = ns_last_pid();
	if (per < 1 || before < 0 || after < 0 || children < 0)
		return 100;
	return (int)(after - before - children * per);
}

/*
 * Exactly how many threads the library started, over a workload: in a
 * private pid namespace every task the kernel makes, process or thread,
 * takes the next pid, so the pids used beyond the children are threads.
 * No thread at all on the pidfd backends and under the SIGCHLD mechanism;
 * the thread mechanism's watcher and ticker otherwise.
 */
PS_TEST(threads, threads_made_over_a_whole_workload_counted_by_pids)
{
	bool none = variant->expect != PIDSHIM_BACKEND_SIGNALFD || variant->sigchld;
	char why[160];
	int made = ps_in_pidns(ns_count_threads, why, sizeof(why));

	if (made == PS_NS_SKIP)
		SKIP(return, "no private pid namespace here (%s)", why);
	if (none) {
		EXPECT_EQ(0, made);
	} else {
		EXPECT_LE(2, made);
		EXPECT_GE(6, made); /* started at most three times, idle between */
	}
}

PS_MAIN
