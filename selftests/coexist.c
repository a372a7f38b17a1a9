// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * coexist.c - selftests of pidshim(7) COEXISTENCE: the library
 * reaps only what it holds handles for, so system() and waitpid(own_pid)
 * keep seeing their own statuses and foreign zombies stay for their owner;
 * no exit is missed while another thread keeps SIGCHLD unblocked (with a
 * handler or with the default disposition, started before or after the
 * library's first spawn, or unblocking it only after a spawn saw the
 * thread); SIGCHLD ignored after the first spawn ends the SIGCHLD
 * mechanism; and after fork() the child can
 * use the library for its own children, even when a parent thread was
 * blocked in the library at the time of the fork.
 */
#include "pstest.h"

FIXTURE(coexist)
{
	int release;
	struct pidshim *h;
};
PS_BACKEND_VARIANTS(coexist);

FIXTURE_SETUP(coexist)
{
	self->release = -1;
	self->h = NULL;
	if (ps_setup_backend(_metadata, PS_VARIANT))
		return;
}

FIXTURE_TEARDOWN(coexist)
{
	ps_close(&self->release);
	pidshim_close(self->h);
	ps_library_settle(); /* closed handles' children reaped, their fds closed */
}

static int run_to_exit(struct pidshim *h)
{
	struct pidshim_exit ex;
	int r = pidshim_wait(h, &ex);

	if (r < 0)
		return r;
	return ex.info.si_code == CLD_EXITED ? ex.info.si_status
					     : 1000 + ex.info.si_status;
}

PS_TEST(coexist, system_exit_3_sees_its_own_status)
{
	struct pidshim *other = NULL;
	int i, st;

	/* A handle that stays open, and library children exiting meanwhile. */
	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 5));
	for (i = 0; i < ps_scaled(20); i++) {
		ASSERT_EQ(0, ps_spawn_helper(&other, -1, -1, "exit", "1", NULL));
		st = system("exit 3");
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 3)
		{
			TH_LOG("system() returned 0x%x in round %d", st, i);
		}
		EXPECT_EQ(1, run_to_exit(other));
		pidshim_close(other);
	}
	ps_close(&self->release);
	EXPECT_EQ(5, run_to_exit(self->h));
}

PS_TEST(coexist, waitpid_own_pid_sees_its_own_status)
{
	struct pidshim *other = NULL;
	int i, st;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 5));
	for (i = 0; i < ps_scaled(40); i++) {
		pid_t pid;

		ASSERT_EQ(0, ps_spawn_helper(&other, -1, -1, "exit", "2", NULL));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			ps_child_exit(11 + i % 7);
		if (i % 2)
			ps_sleep_ms(2); /* let the library see both SIGCHLDs first */
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 11 + i % 7);
		EXPECT_EQ(2, run_to_exit(other));
		pidshim_close(other);
	}
	ps_close(&self->release);
	EXPECT_EQ(5, run_to_exit(self->h));
}

/*
 * A zombie of ours that no handle names stays a zombie for its owner, and
 * while it lingers the library neither spins (CPU stays low) nor goes
 * blind: its own children's exits are still seen within 100 ms.
 */
PS_TEST(coexist, foreign_zombie_is_left_to_its_owner_without_spinning)
{
	int64_t cpu0, cpu, late;
	pid_t pid;
	int st;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 5));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		ps_child_exit(44);
	ASSERT_TRUE(ps_wait_zombie(pid, 5000 * ps_slow()));
	/* Library traffic meanwhile: spawns, exits, readiness, waits. */
	for (int i = 0; i < 5; i++) {
		struct pidshim *o = NULL;
		int rel = -1;

		ASSERT_EQ(0, ps_spawn_blocker(&o, &rel, i));
		late = ps_release_and_time_readiness(&rel, pidshim_pid(o), pidshim_fd(o));
		EXPECT_TRUE(late >= 0 && late <= PS_READY_MS)
		{
			TH_LOG("exit %d not seen within 100 ms while a foreign zombie "
			       "lingers",
			       i);
		}
		EXPECT_EQ(i, run_to_exit(o));
		pidshim_close(o);
	}
	cpu0 = ps_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	ps_sleep_ms(500);
	cpu = (ps_clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / 1000000;
	EXPECT_GT(100 * ps_slow(), cpu)
	{
		TH_LOG("%lld ms CPU in 500 ms idle with a foreign zombie: spinning",
		       (long long)cpu);
	}
	EXPECT_EQ('Z', ps_proc_state(pid));
	ASSERT_EQ(pid, waitpid(pid, &st, WNOHANG));
	EXPECT_EQ(44, WEXITSTATUS(st));
	ps_close(&self->release);
	EXPECT_EQ(5, run_to_exit(self->h));
}

static volatile sig_atomic_t chld_seen;

static void on_chld(int sig)
{
	(void)sig;
	chld_seen++;
}

static volatile int stop_thread;
static int unblock_now, unblocked; /* __atomic; see unblocked_thread() */

/* A thread that keeps SIGCHLD unblocked and sleeps.  It unblocks at once,
 * or, with unblock_now clear at its start, only once the test sets it
 * (then it says so in unblocked). */
static void *unblocked_thread(void *arg)
{
	sigset_t none;

	(void)arg;
	while (!__atomic_load_n(&unblock_now, __ATOMIC_SEQ_CST))
		ps_sleep_ms(1);
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	__atomic_store_n(&unblocked, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&stop_thread, __ATOMIC_SEQ_CST)) {
		struct timespec ts = { 0, 20000000 };

		nanosleep(&ts, NULL);
	}
	return NULL;
}

/*
 * The main thread blocks SIGCHLD, another thread keeps it unblocked, so
 * the kernel delivers SIGCHLD to that thread (handler or discard) and a
 * signalfd may never see it.  Every exit must still be noticed: each fd
 * readable within 100 ms, each wait with the true status.
 */
enum thread_start {
	THREAD_FIRST,	/* before the library's first spawn */
	THREAD_LATER,	/* after it */
	UNBLOCKS_LATER, /* after it, blocked at first, unblocking after
			 * the library saw it at a spawn */
};

static void unblocked_sigchld(struct __test_metadata *_metadata,
			      FIXTURE_DATA(coexist) * self, bool handler,
			      enum thread_start start)
{
	struct sigaction sa = { .sa_handler = handler ? on_chld : SIG_DFL }, old;
	sigset_t chld, oldmask;
	pthread_t t;
	int i, n = ps_scaled(50), late = 0, mech = 0;

	ASSERT_EQ(0, sigaction(SIGCHLD, &sa, &old));
	chld_seen = 0;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	ASSERT_EQ(0, pthread_sigmask(SIG_BLOCK, &chld, &oldmask));
	if (start != THREAD_FIRST) {
		/* The fallback picks its mechanism at its first spawn, while
		 * every thread still blocks SIGCHLD. */
		ASSERT_EQ(0, ps_spawn_helper(&self->h, -1, -1, "exit", "4", NULL));
		EXPECT_EQ(4, run_to_exit(self->h));
		pidshim_close(self->h);
		self->h = NULL;
		mech = pidshim_mechanism();
	}
	stop_thread = 0;
	__atomic_store_n(&unblocked, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&unblock_now, start != UNBLOCKS_LATER, __ATOMIC_SEQ_CST);
	ASSERT_EQ(0, pthread_create(&t, NULL, unblocked_thread, NULL));
	if (start == UNBLOCKS_LATER) {
		/* The library meets the new thread while it still blocks
		 * SIGCHLD: the promise holds at this spawn ... */
		ASSERT_EQ(0, ps_spawn_helper(&self->h, -1, -1, "exit", "5", NULL));
		EXPECT_EQ(5, run_to_exit(self->h));
		pidshim_close(self->h);
		self->h = NULL;
		EXPECT_EQ(mech, pidshim_mechanism());
		/* ... and is broken before the next one, with no thread more. */
		__atomic_store_n(&unblock_now, 1, __ATOMIC_SEQ_CST);
	}
	while (!__atomic_load_n(&unblocked, __ATOMIC_SEQ_CST))
		ps_sleep_ms(1);
	for (i = 0; i < n; i++) {
		struct pidshim_exit ex;
		int64_t ms;
		int r;

		ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, i % 100));
		ms = ps_release_and_time_readiness(&self->release, pidshim_pid(self->h),
						   pidshim_fd(self->h));
		if (ms < 0 || ms > PS_READY_MS)
			late++;
		r = pidshim_wait_timeout(self->h, 10000 * ps_slow(), &ex);
		EXPECT_EQ(0, r)
		{
			TH_LOG("exit %d of %d missed (%d)", i, n, r);
		}
		if (r == 0) {
			EXPECT_EQ(CLD_EXITED, ex.info.si_code);
			EXPECT_EQ(i % 100, ex.info.si_status);
		}
		pidshim_close(self->h);
		self->h = NULL;
	}
	EXPECT_EQ(0, late)
	{
		TH_LOG("%d of %d fds not readable within 100 ms of the exit", late, n);
	}
	/* The scenario was real: SIGCHLD went to the unblocked thread.  It
	 * may still be pending there on a loaded machine (the thread has
	 * not been scheduled yet): give delivery up to 2 s before judging. */
	if (handler) {
		for (int w = 0; w < 200 * ps_slow() && !chld_seen; w++)
			ps_sleep_ms(10);
		EXPECT_LT(0, chld_seen);
	}
	/* A program that kept its promise and broke it later: the library
	 * saw the new thread at a spawn and left the SIGCHLD mechanism. */
	if (mech == PIDSHIM_MECHANISM_SIGNALFD) {
		EXPECT_EQ(PIDSHIM_MECHANISM_THREAD, pidshim_mechanism());
	}
	__atomic_store_n(&stop_thread, 1, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	sigaction(SIGCHLD, &old, NULL);
}

PS_TEST(coexist, thread_with_sigchld_unblocked_and_handler_misses_no_exit)
{
	unblocked_sigchld(_metadata, self, true, THREAD_FIRST);
}

PS_TEST(coexist, thread_with_sigchld_unblocked_default_misses_no_exit)
{
	unblocked_sigchld(_metadata, self, false, THREAD_FIRST);
}

/* The same thread started only after the library's first spawn: on the
 * SIGCHLD mechanism, a spawn must notice the new thread (the thread count
 * changed) before it relies on the signalfd again. */
PS_TEST(coexist, thread_unblocking_sigchld_after_the_first_spawn_misses_no_exit)
{
	unblocked_sigchld(_metadata, self, false, THREAD_LATER);
}

/* A thread the library counted while it blocked SIGCHLD, which unblocks it
 * later: the next spawn must see the changed mask although the number of
 * threads stayed the same. */
PS_TEST(coexist, thread_unblocking_sigchld_after_it_was_seen_misses_no_exit)
{
	unblocked_sigchld(_metadata, self, false, UNBLOCKS_LATER);
}

/*
 * SIGCHLD set to SIG_IGN after the library's first spawn (the SIGCHLD
 * mechanism's promise is "blocked everywhere, not ignored"): the kernel
 * sends no SIGCHLD any more, so the next spawn must leave that mechanism,
 * whatever the number of threads.  Each wait still gives the true status
 * or -ECHILD.
 */
PS_TEST(coexist, sigchld_ignored_after_the_first_spawn_leaves_the_sigchld_mechanism)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	struct pidshim_exit ex;
	int mech, r;

	ASSERT_EQ(0, ps_spawn_helper(&self->h, -1, -1, "exit", "4", NULL));
	EXPECT_EQ(4, run_to_exit(self->h));
	pidshim_close(self->h);
	self->h = NULL;
	mech = pidshim_mechanism();
	ASSERT_EQ(0, sigaction(SIGCHLD, &ign, &old));
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, ps_spawn_helper(&self->h, -1, -1, "exit", "5", NULL));
		r = pidshim_wait(self->h, &ex);
		EXPECT_TRUE(r == -ECHILD || (r == 0 && ex.info.si_status == 5))
		{
			TH_LOG("wait %d: %d, status %d", i, r, ex.info.si_status);
		}
		pidshim_close(self->h);
		self->h = NULL;
	}
	if (mech == PIDSHIM_MECHANISM_SIGNALFD) {
		EXPECT_EQ(PIDSHIM_MECHANISM_THREAD, pidshim_mechanism());
	}
	sigaction(SIGCHLD, &old, NULL);
}

struct bg_wait {
	struct pidshim *h;
	int ret, status;
};

static void *bg_wait_fn(void *arg)
{
	struct bg_wait *w = arg;
	struct pidshim_exit ex;

	w->ret = pidshim_wait(w->h, &ex);
	w->status = ex.info.si_status;
	return NULL;
}

/* In the fork child: the library for its own children; 0 or a failure step. */
static int child_uses_library(void)
{
	struct pidshim *h = NULL;
	struct pidshim_set *s = NULL;
	struct pidshim_exit ex;
	struct pidshim *ready = NULL;
	int release = -1;

	if (pidshim_backend() <= 0)
		return 10;
	if (ps_spawn_helper(&h, -1, -1, "exit", "6", NULL))
		return 11;
	if (pidshim_wait(h, &ex) || ex.info.si_status != 6 ||
	    ex.info.si_code != CLD_EXITED)
		return 12;
	pidshim_close(h);
	if (ps_spawn_blocker(&h, &release, 0))
		return 13;
	if (pidshim_set_new(&s) || pidshim_set_add(s, h))
		return 14;
	if (pidshim_send_signal(h, SIGKILL))
		return 15;
	/* 16: another error, 19: -ETIMEDOUT, 20: -ECHILD, 21: another handle. */
	switch (pidshim_set_wait(s, 10000 * ps_slow(), &ready)) {
	case 0:
		break;
	case -ETIMEDOUT:
		return 19;
	case -ECHILD:
		return 20;
	default:
		return 16;
	}
	if (ready != h)
		return 21;
	if (pidshim_wait(h, &ex) || ex.info.si_code != CLD_KILLED ||
	    ex.info.si_status != SIGKILL)
		return 17;
	pidshim_set_free(s);
	pidshim_close(h);
	close(release);
	return ps_no_children() ? 0 : 18;
}

/*
 * fork() while another thread blocks in pidshim_wait: the child uses the
 * library for its own children (spawn, wait, set, signal); the parent's
 * waiter still gets its status and the parent reaps the fork child itself.
 */
PS_TEST(coexist, fork_child_uses_library_for_its_own_children)
{
	struct bg_wait w = { 0 };
	pthread_t t;
	pid_t pid;
	int st;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 8));
	w.h = self->h;
	ASSERT_EQ(0, pthread_create(&t, NULL, bg_wait_fn, &w));
	ps_sleep_ms(50);
	for (int round = 0; round < 3; round++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			/* The inherited release end must not keep the blocker alive. */
			close(self->release);
			ps_child_exit(child_uses_library());
		}
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		EXPECT_EQ(0, st)
		{
			TH_LOG("fork child failed at step %d (status 0x%x)",
			       WEXITSTATUS(st), st);
		}
	}
	ps_close(&self->release);
	pthread_join(t, NULL);
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(8, w.status);
}

PS_MAIN
