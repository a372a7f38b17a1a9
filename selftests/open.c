// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * open.c - selftests of what pidshim_open(3) promises:
 * argument checks, nonexistent pids, children and zombie children opened
 * by pid, non-children (readable fd and blocking wait on the pidfd
 * backends, -ECHILD on signalfd), and that a handle of a process pidshim
 * did not spawn never reaps it behind the caller's back.
 */
#include "pstest.h"

FIXTURE(open)
{
	int release;
};
PS_BACKEND_VARIANTS(open);

FIXTURE_SETUP(open)
{
	self->release = -1;
	if (ps_setup_backend(_metadata, PS_VARIANT))
		return;
}

FIXTURE_TEARDOWN(open)
{
	ps_close(&self->release);
	ps_library_settle(); /* closed handles' children reaped, their fds closed */
}

static char mark;
#define SENTINEL ((struct pidshim *)&mark)

PS_TEST(open, rejects_nonpositive_pid_with_einval)
{
	struct pidshim *h = SENTINEL;

	EXPECT_EQ(-EINVAL, pidshim_open(0, 0, &h));
	EXPECT_EQ(-EINVAL, pidshim_open(-1, 0, &h));
	EXPECT_EQ(-EINVAL, pidshim_open(INT_MIN, 0, &h));
	EXPECT_EQ(-EINVAL, pidshim_open(-getpid(), 0, &h));
	EXPECT_EQ(SENTINEL, h);
	EXPECT_EQ(-EINVAL, pidshim_open(getpid(), 0, NULL));
}

PS_TEST(open, rejects_unknown_flag_bits_with_einval)
{
	struct pidshim *h = SENTINEL;
	pid_t pid = ps_fork_blocker(&self->release, 4);
	int status;

	ASSERT_LT(0, pid);
	EXPECT_EQ(-EINVAL, pidshim_open(pid, 0x2, &h));
	EXPECT_EQ(-EINVAL, pidshim_open(pid, 0x80000000u, &h));
	EXPECT_EQ(-EINVAL, pidshim_open(pid, ~PIDSHIM_OPEN_ALL_FLAGS, &h));
	EXPECT_EQ(-EINVAL, pidshim_open(pid, PIDSHIM_OPEN_ALL_FLAGS | 0x100, &h));
	EXPECT_EQ(SENTINEL, h);
	/* Flags 0: accepted; the handle does not own the child. */
	ASSERT_EQ(0, pidshim_open(pid, 0, &h));
	EXPECT_EQ(pid, pidshim_pid(h));
	pidshim_close(h);
	ps_close(&self->release);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(4, WEXITSTATUS(status));
}

/*
 * PIDSHIM_OPEN_OWN: the handle owns a child the program forked itself, so
 * closing it while the child runs leaves the reaping to the library: no
 * zombie stays behind after the child exits.
 */
PS_TEST(open, own_flag_closed_running_child_is_reaped_by_library)
{
	struct pidshim *h = NULL;
	pid_t pid = ps_fork_blocker(&self->release, 4);
	int64_t end;

	ASSERT_LT(0, pid);
	ASSERT_EQ(0, pidshim_open(pid, PIDSHIM_OPEN_OWN, &h));
	EXPECT_EQ(pid, pidshim_pid(h));
	pidshim_close(h);
	EXPECT_EQ(0, kill(pid, 0)); /* close never kills */
	ps_close(&self->release);
	end = ps_now_ms() + 2000 * ps_slow();
	while (!ps_no_children() && ps_now_ms() < end)
		ps_sleep_ms(5);
	EXPECT_TRUE(ps_no_children())
	{
		TH_LOG("owned child %d left as %c after its handle was closed", (int)pid,
		       ps_proc_state(pid));
	}
	if (!ps_no_children())
		waitpid(pid, NULL, 0);
}

PS_TEST(open, own_flag_on_nonchild_gives_echild)
{
	struct pidshim *h = SENTINEL;

	/* Our parent (the harness) is alive and certainly not our child. */
	EXPECT_EQ(-ECHILD, pidshim_open(getppid(), PIDSHIM_OPEN_OWN, &h));
	EXPECT_EQ(SENTINEL, h);
}

PS_TEST(open, nonexistent_pid_gives_esrch)
{
	struct pidshim *h = SENTINEL;
	pid_t pid;
	int status;

	/* A pid that just died and was reaped: free until the kernel wraps. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		ps_child_exit(0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(-1, kill(pid, 0));
	EXPECT_EQ(-ESRCH, pidshim_open(pid, 0, &h));
	EXPECT_EQ(-ESRCH, pidshim_open(pid, PIDSHIM_OPEN_OWN, &h));
	EXPECT_EQ(SENTINEL, h);
}

PS_TEST(open, child_opened_by_pid_waits_with_its_status)
{
	struct pidshim_exit ex;
	struct pidshim *h = NULL;
	pid_t pid = ps_fork_blocker(&self->release, 5);

	ASSERT_LT(0, pid);
	ASSERT_EQ(0, pidshim_open(pid, 0, &h));
	EXPECT_EQ(pid, pidshim_pid(h));
	EXPECT_LE(0, pidshim_fd(h));
	EXPECT_TRUE(ps_cloexec(pidshim_fd(h)));
	EXPECT_EQ(-EAGAIN, pidshim_try_wait(h, &ex));
	ps_close(&self->release);
	ASSERT_EQ(0, pidshim_wait(h, &ex));
	EXPECT_EQ(SIGCHLD, ex.info.si_signo);
	EXPECT_EQ(CLD_EXITED, ex.info.si_code);
	EXPECT_EQ(5, ex.info.si_status);
	EXPECT_EQ(pid, ex.info.si_pid);
	EXPECT_EQ(-ECHILD, pidshim_wait(h, &ex));
	EXPECT_FALSE(ps_zombie_child());
	pidshim_close(h);
}

PS_TEST(open, zombie_child_opens_fine_and_wait_returns_its_status)
{
	struct pidshim_exit ex;
	struct pidshim *h = NULL;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0)
		ps_child_exit(9);
	ASSERT_TRUE(ps_wait_zombie(pid, 5000 * ps_slow()));
	ASSERT_EQ(0, pidshim_open(pid, 0, &h));
	/* Readiness is for every backend: it already exited. */
	EXPECT_TRUE(ps_readable(pidshim_fd(h), 100 * ps_slow() + 50));
	EXPECT_EQ(0, pidshim_send_signal(h, 0));
	ASSERT_EQ(0, pidshim_wait(h, &ex));
	EXPECT_EQ(CLD_EXITED, ex.info.si_code);
	EXPECT_EQ(9, ex.info.si_status);
	EXPECT_EQ(pid, ex.info.si_pid);
	EXPECT_TRUE(ps_no_children());
	pidshim_close(h);
}

/*
 * A handle opened on a child the library did not spawn: closing it must
 * leave the process to its owner, who then reaps it with waitpid().
 */
PS_TEST(open, closing_opened_child_leaves_it_to_its_owner)
{
	struct pidshim *h = NULL;
	pid_t pid = ps_fork_blocker(&self->release, 6);
	int status;

	ASSERT_LT(0, pid);
	ASSERT_EQ(0, pidshim_open(pid, 0, &h));
	pidshim_close(h);
	EXPECT_EQ(0, kill(pid, 0));
	ps_close(&self->release);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 6);
}

/*
 * A grandchild is not our child.  On the pidfd backends it opens, its fd
 * is quiet while it runs and readable once it exits, try_wait says
 * -EAGAIN, and wait blocks until the exit and then reports -ECHILD or the
 * true status (kernels with PIDFD_INFO_EXIT).  On signalfd: -ECHILD.
 */
PS_TEST(open, nonchild_pidfd_handle_or_signalfd_echild)
{
	static char mark2;
	struct pidshim *const sent = (struct pidshim *)&mark2;
	struct pidshim *h = sent;
	struct ps_bg_wait w = { 0 };
	struct pidshim_exit ex;
	int p[2], rel[2], status;
	pid_t mid, gc = 0;
	pthread_t t;
	int64_t t0, late;

	PS_PIPE(p);
	PS_PIPE(rel);
	mid = fork();
	ASSERT_LE(0, mid);
	if (mid == 0) {
		pid_t g;

		ps_close_fds_except(p[1], rel[0]);
		g = fork();
		if (g == 0) {
			char c;

			close(p[1]);
			while (read(rel[0], &c, 1) < 0 && errno == EINTR)
				;
			ps_child_exit(17);
		}
		close(rel[0]);
		if (write(p[1], &g, sizeof(g)) != sizeof(g))
			ps_child_exit(2);
		ps_child_exit(
			waitpid(g, &status, 0) == g && WEXITSTATUS(status) == 17 ? 0 : 3);
	}
	close(p[1]);
	close(rel[0]);
	self->release = rel[1];
	ASSERT_EQ((ssize_t)sizeof(gc), read(p[0], &gc, sizeof(gc)));
	close(p[0]);

	if (variant->expect == PIDSHIM_BACKEND_SIGNALFD) {
		EXPECT_EQ(-ECHILD, pidshim_open(gc, 0, &h));
		EXPECT_EQ(-ECHILD, pidshim_open(gc, PIDSHIM_OPEN_OWN, &h));
		EXPECT_EQ(sent, h);
		ps_close(&self->release);
		ASSERT_EQ(mid, waitpid(mid, &status, 0));
		EXPECT_EQ(0, status);
		return;
	}
	ASSERT_EQ(0, pidshim_open(gc, 0, &h));
	EXPECT_EQ(gc, pidshim_pid(h));
	EXPECT_TRUE(ps_cloexec(pidshim_fd(h)));
	EXPECT_EQ(0, pidshim_send_signal(h, 0));
	EXPECT_FALSE(ps_readable(pidshim_fd(h), 50));
	EXPECT_EQ(-EAGAIN, pidshim_try_wait(h, &ex));
	EXPECT_EQ(-ETIMEDOUT, pidshim_wait_timeout(h, 50, &ex));
	w.h = h;
	ASSERT_EQ(0, pthread_create(&t, NULL, ps_bg_wait_fn, &w));
	ps_sleep_ms(200);
	EXPECT_FALSE(__atomic_load_n(&w.done, __ATOMIC_SEQ_CST));
	t0 = ps_now_ms();
	late = ps_release_and_time_readiness(&self->release, gc, pidshim_fd(h));
	EXPECT_TRUE(late >= 0 && late <= PS_READY_MS)
	{
		TH_LOG("non-child's fd readable %lld ms after its exit (-1: never)",
		       (long long)late);
	}
	pthread_join(t, NULL);
	EXPECT_LE(t0, w.done_ms);
	if (w.ret == 0) {
		EXPECT_EQ(SIGCHLD, w.ex.info.si_signo);
		EXPECT_EQ(CLD_EXITED, w.ex.info.si_code);
		EXPECT_EQ(17, w.ex.info.si_status);
		EXPECT_EQ(gc, w.ex.info.si_pid);
		/* pidshim.h: no rusage exists for a non-child's exit. */
		EXPECT_EQ(0, w.ex.rusage.ru_utime.tv_sec + w.ex.rusage.ru_utime.tv_usec +
				     w.ex.rusage.ru_stime.tv_sec +
				     w.ex.rusage.ru_stime.tv_usec);
	} else {
		EXPECT_EQ(-ECHILD, w.ret);
	}
	pidshim_close(h);
	ASSERT_EQ(mid, waitpid(mid, &status, 0));
	EXPECT_EQ(0, status);
}

PS_MAIN
