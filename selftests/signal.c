// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * signal.c - selftests of pidshim_send_signal(3): delivery to a
 * running process, sig 0 as an existence check, -EINVAL for invalid
 * signals, 0 for an exited but unreaped process, and -ESRCH after the reap
 * with no signal reaching any other process.  To make PID reuse real, a
 * sentinel process is forked onto the reaped PID (ns_last_pid, where
 * writable) with the signal blocked, and reports whether it became pending;
 * this is also done while send_signal and wait race in two threads.
 */
#include "pstest.h"

FIXTURE(sig)
{
	int release;
	struct pidshim *h;
};
PS_BACKEND_VARIANTS(sig);

FIXTURE_SETUP(sig)
{
	self->release = -1;
	self->h = NULL;
	if (ps_setup_backend(_metadata, PS_VARIANT))
		return;
}

FIXTURE_TEARDOWN(sig)
{
	ps_close(&self->release);
	pidshim_close(self->h);
	ps_library_settle(); /* closed handles' children reaped, their fds closed */
}

PS_TEST(sig, send_to_running_returns_0_and_delivers)
{
	struct pidshim_exit ex;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 0));
	EXPECT_EQ(0, pidshim_send_signal(self->h, SIGTERM));
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	EXPECT_EQ(CLD_KILLED, ex.info.si_code);
	EXPECT_EQ(SIGTERM, ex.info.si_status);
}

PS_TEST(sig, sig_zero_checks_existence)
{
	struct pidshim_exit ex;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 0));
	EXPECT_EQ(0, pidshim_send_signal(self->h, 0));
	ps_close(&self->release);
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	EXPECT_EQ(-ESRCH, pidshim_send_signal(self->h, 0));
}

PS_TEST(sig, invalid_signal_gives_einval_and_hits_nothing)
{
	struct pidshim_exit ex;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 7));
	EXPECT_EQ(-EINVAL, pidshim_send_signal(self->h, -1));
	EXPECT_EQ(-EINVAL, pidshim_send_signal(self->h, _NSIG));
	EXPECT_EQ(-EINVAL, pidshim_send_signal(self->h, 1000));
	EXPECT_EQ(-EINVAL, pidshim_send_signal(self->h, INT_MIN));
	EXPECT_EQ(-EINVAL, pidshim_send_signal(NULL, SIGTERM));
	EXPECT_EQ(-EAGAIN, pidshim_try_wait(self->h, &ex));
	ps_close(&self->release);
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	EXPECT_EQ(CLD_EXITED, ex.info.si_code);
	EXPECT_EQ(7, ex.info.si_status);
}

/* Exited but not reaped by the user: 0, as kill(2) says for a zombie. */
PS_TEST(sig, exited_but_unreaped_process_gets_0)
{
	struct pidshim_exit ex;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 9));
	ps_close(&self->release);
	ASSERT_TRUE(ps_readable(pidshim_fd(self->h), 5000 * ps_slow()));
	EXPECT_EQ(0, pidshim_send_signal(self->h, SIGTERM));
	EXPECT_EQ(0, pidshim_send_signal(self->h, 0));
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	/* The signal came too late to change the status. */
	EXPECT_EQ(CLD_EXITED, ex.info.si_code);
	EXPECT_EQ(9, ex.info.si_status);
	EXPECT_EQ(-ESRCH, pidshim_send_signal(self->h, SIGTERM));
}

/*
 * No permission: our child keeps running as root after this test process
 * drops every uid to nobody, so signalling it is refused (-EPERM), while
 * waiting for it still works.
 */
PS_TEST(sig, no_permission_gives_eperm)
{
	struct pidshim_exit ex;

	if (geteuid() != 0)
		SKIP(return, "needs CAP_SETUID to run a child as another user");
	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 6));
	ASSERT_EQ(0, setresgid(65534, 65534, 65534));
	ASSERT_EQ(0, setresuid(65534, 65534, 65534));
	EXPECT_EQ(-EPERM, pidshim_send_signal(self->h, SIGTERM));
	EXPECT_EQ(-EPERM, pidshim_send_signal(self->h, 0));
	ps_close(&self->release);
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	EXPECT_EQ(CLD_EXITED, ex.info.si_code);
	EXPECT_EQ(6, ex.info.si_status);
}

/* ---- PID reuse sentinels ------------------------------------------------ */

struct sentinel {
	pid_t pid;
	int cmd; /* write end: close to make it report */
	int rep; /* read end: '0' nothing pending, '1' SIGUSR1 pending */
};

/*
 * Forks a process with SIGUSR1 blocked, onto PID want if ns_last_pid lets
 * us (other processes may grab it first; then it lands elsewhere).
 */
static int fork_sentinel(struct sentinel *s, pid_t want)
{
	sigset_t usr1, old;
	int cmd[2], rep[2], fd;
	char buf[32], c;

	if (pipe2(cmd, O_CLOEXEC) || pipe2(rep, O_CLOEXEC))
		return -1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, &old);
	fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		int n = snprintf(buf, sizeof(buf), "%d", (int)want - 1);

		/* Best effort: without it the sentinel lands on another pid. */
		if (write(fd, buf, (size_t)n) != n)
			errno = 0;
		close(fd);
	}
	s->pid = fork();
	if (s->pid == 0) {
		sigset_t pend;

		ps_close_fds_except(cmd[0], rep[1]);
		while (read(cmd[0], &c, 1) < 0 && errno == EINTR)
			;
		sigpending(&pend);
		c = sigismember(&pend, SIGUSR1) ? '1' : '0';
		ps_child_exit(write(rep[1], &c, 1) == 1 ? 0 : 1);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(cmd[0]);
	close(rep[1]);
	s->cmd = cmd[1];
	s->rep = rep[0];
	return s->pid < 0 ? -1 : 0;
}

/* '0' (nothing reached it) or '1'; reaps the sentinel. */
static char sentinel_report(struct sentinel *s)
{
	char c = '?';
	int st;

	close(s->cmd);
	if (read(s->rep, &c, 1) != 1)
		c = '?';
	close(s->rep);
	waitpid(s->pid, &st, 0);
	return c;
}

PS_TEST(sig, after_reap_gives_esrch_and_hits_pid_reuser)
{
	struct pidshim_exit ex;
	struct sentinel s;
	pid_t pid;

	ASSERT_EQ(0, ps_spawn_helper(&self->h, -1, -1, "exit", "0", NULL));
	pid = pidshim_pid(self->h);
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	/* Other processes may take the pid first: a few tries. */
	for (int tries = 0;; tries++) {
		ASSERT_EQ(0, fork_sentinel(&s, pid));
		if (s.pid == pid || tries == 4)
			break;
		EXPECT_EQ('0', sentinel_report(&s));
	}
	if (s.pid != pid)
		TH_LOG("could not place a sentinel on reused pid %d (got %d)", (int)pid,
		       (int)s.pid);
	EXPECT_EQ(-ESRCH, pidshim_send_signal(self->h, SIGUSR1));
	EXPECT_EQ(-ESRCH, pidshim_send_signal(self->h, 0));
	EXPECT_EQ('0', sentinel_report(&s));
}

struct race {
	struct pidshim *h;
	pid_t pid;
	struct sentinel s;
	int wait_ret;
	struct pidshim_exit ex;
	int waited; /* wait returned and the sentinel is in place */
	int sends, ok_after_esrch, bad_ret;
};

static void *race_wait(void *arg)
{
	struct race *r = arg;

	r->wait_ret = pidshim_wait(r->h, &r->ex);
	fork_sentinel(&r->s, r->pid);
	__atomic_store_n(&r->waited, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *race_send(void *arg)
{
	struct race *r = arg;
	int seen_esrch = 0, after = 0;

	/* Keep sending until wait is over and a few sends hit the sentinel's
	 * time. */
	while (after < 20) {
		int ret = pidshim_send_signal(r->h, SIGUSR1);

		r->sends++;
		if (ret == -ESRCH)
			seen_esrch = 1;
		else if (ret == 0 && seen_esrch)
			r->ok_after_esrch++;
		else if (ret != 0)
			r->bad_ret = ret;
		if (__atomic_load_n(&r->waited, __ATOMIC_SEQ_CST))
			after++;
	}
	return NULL;
}

/*
 * wait in one thread, send_signal in a loop in another: the sends return
 * 0 then -ESRCH (never 0 again), the child ends by exit or by SIGUSR1, and
 * the sentinel forked onto the reaped pid right after wait never gets the
 * signal.
 */
PS_TEST(sig, send_racing_wait_in_two_threads_hits_no_other_process)
{
	int rounds = ps_scaled(40), i, reused = 0, hit = 0;

	for (i = 0; i < rounds; i++) {
		struct race r;
		pthread_t tw, ts;

		memset(&r, 0, sizeof(r));
		ASSERT_EQ(0, ps_spawn_helper(&self->h, -1, -1, "sleep", "1", "0", NULL));
		r.h = self->h;
		r.pid = pidshim_pid(self->h);
		ASSERT_EQ(0, pthread_create(&ts, NULL, race_send, &r));
		ASSERT_EQ(0, pthread_create(&tw, NULL, race_wait, &r));
		pthread_join(tw, NULL);
		pthread_join(ts, NULL);
		ASSERT_EQ(0, r.wait_ret);
		EXPECT_TRUE(
			(r.ex.info.si_code == CLD_EXITED && r.ex.info.si_status == 0) ||
			(r.ex.info.si_code == CLD_KILLED &&
			 r.ex.info.si_status == SIGUSR1));
		EXPECT_EQ(0, r.ok_after_esrch);
		EXPECT_EQ(0, r.bad_ret);
		EXPECT_EQ(-ESRCH, pidshim_send_signal(self->h, SIGUSR1));
		reused += r.s.pid == r.pid;
		if (sentinel_report(&r.s) != '0')
			hit++;
		pidshim_close(self->h);
		self->h = NULL;
	}
	EXPECT_EQ(0, hit);
	TH_LOG("%d rounds, sentinel on the reused pid in %d", rounds, reused);
}

PS_MAIN
