// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * wait.c - selftests of what waits and readiness promise (pidshim.h): the
 * siginfo, rusage and wait(2) status word of an exit, -ECHILD after a
 * reap, -EAGAIN and -ETIMEDOUT while running, restarts after signal
 * handlers, auto-reap with SIGCHLD ignored, a status stolen by a foreign
 * waitpid(-1), fd readiness within 100 ms and never before the exit (never
 * spinning an epoll loop on signalfd), and a child held by a ptrace tracer.
 * pidshim_exit_status() is also checked on synthetic siginfo.
 */
#include <setjmp.h>
#include <sys/epoll.h>
#include <sys/ptrace.h>
#include <sys/stat.h>

#include "pstest.h"

FIXTURE(wait)
{
	int release;
	struct pidshim *h;
	char tmpdir[PATH_MAX]; /* removed by the teardown, even after an ASSERT */
};
PS_BACKEND_VARIANTS(wait);

FIXTURE_SETUP(wait)
{
	self->release = -1;
	self->h = NULL;
	self->tmpdir[0] = '\0';
	if (ps_setup_backend(_metadata, PS_VARIANT))
		return;
}

static void rm_dir(const char *dir);

FIXTURE_TEARDOWN(wait)
{
	ps_close(&self->release);
	pidshim_close(self->h);
	if (self->tmpdir[0])
		rm_dir(self->tmpdir);
	ps_library_settle(); /* closed handles' children reaped, their fds closed */
}

static void expect_exited(struct __test_metadata *_metadata,
			  const struct pidshim_exit *ex, pid_t pid, int code)
{
	EXPECT_EQ(SIGCHLD, ex->info.si_signo);
	EXPECT_EQ(CLD_EXITED, ex->info.si_code);
	EXPECT_EQ(code, ex->info.si_status);
	EXPECT_EQ(pid, ex->info.si_pid);
}

PS_TEST(wait, fills_siginfo_and_status_word_of_exit_42)
{
	struct pidshim_exit ex;
	int st;

	pid_t pid;

	ASSERT_EQ(0, ps_spawn_helper(&self->h, -1, -1, "exit", "42", NULL));
	pid = pidshim_pid(self->h);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	expect_exited(_metadata, &ex, pid, 42);
	EXPECT_EQ(pid, pidshim_pid(self->h)); /* still the number after the reap */
	EXPECT_EQ(getuid(), ex.info.si_uid);
	st = pidshim_exit_status(&ex);
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(42, WEXITSTATUS(st));
	EXPECT_FALSE(WIFSIGNALED(st));
	EXPECT_FALSE(ps_zombie_child());
}

/* The documented -EINVAL cases of the handle API; NULL close is fine. */
PS_TEST(wait, null_arguments_give_einval)
{
	struct pidshim_exit ex;

	ASSERT_EQ(0, ps_spawn_helper(&self->h, -1, -1, "exit", "0", NULL));
	EXPECT_EQ(-EINVAL, pidshim_wait(NULL, &ex));
	EXPECT_EQ(-EINVAL, pidshim_wait(self->h, NULL));
	EXPECT_EQ(-EINVAL, pidshim_try_wait(NULL, &ex));
	EXPECT_EQ(-EINVAL, pidshim_try_wait(self->h, NULL));
	EXPECT_EQ(-EINVAL, pidshim_wait_timeout(NULL, 0, &ex));
	EXPECT_EQ(-EINVAL, pidshim_wait_timeout(self->h, 0, NULL));
	EXPECT_EQ(-EINVAL, pidshim_fd(NULL));
	EXPECT_EQ(-EINVAL, pidshim_pid(NULL));
	EXPECT_EQ(-EINVAL, pidshim_set_new(NULL));
	pidshim_close(NULL);
	/* Nothing was reaped by the failed calls. */
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	EXPECT_EQ(CLD_EXITED, ex.info.si_code);
}

PS_TEST(wait, second_wait_and_try_wait_after_reap_give_echild)
{
	struct pidshim_exit ex, keep;

	ASSERT_EQ(0, ps_spawn_helper(&self->h, -1, -1, "exit", "1", NULL));
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	memset(&keep, 0x5a, sizeof(keep));
	ex = keep;
	EXPECT_EQ(-ECHILD, pidshim_wait(self->h, &ex));
	EXPECT_EQ(-ECHILD, pidshim_try_wait(self->h, &ex));
	EXPECT_EQ(-ECHILD, pidshim_wait_timeout(self->h, 100, &ex));
	EXPECT_EQ(-ECHILD, pidshim_wait_timeout(self->h, 0, &ex));
	EXPECT_EQ(0, memcmp(&keep, &ex, sizeof(ex))); /* untouched on failure */
}

PS_TEST(wait, try_wait_on_running_gives_eagain_and_reaps_nothing)
{
	struct pidshim_exit ex, keep;
	siginfo_t si;
	pid_t pid;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 3));
	pid = pidshim_pid(self->h);
	memset(&keep, 0x5a, sizeof(keep));
	ex = keep;
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(-EAGAIN, pidshim_try_wait(self->h, &ex));
	EXPECT_EQ(0, memcmp(&keep, &ex, sizeof(ex)));
	/* Still our unreaped child: waitid sees it (running), not ECHILD. */
	memset(&si, 0, sizeof(si));
	EXPECT_EQ(0, waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT));
	EXPECT_EQ(0, si.si_pid);
	ps_close(&self->release);
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	expect_exited(_metadata, &ex, pid, 3);
}

PS_TEST(wait, wait_timeout_on_running_gives_etimedout_then_returns_exit)
{
	struct pidshim_exit ex;
	int64_t t0;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 8));
	EXPECT_EQ(-ETIMEDOUT, pidshim_wait_timeout(self->h, 0, &ex));
	t0 = ps_now_ms();
	EXPECT_EQ(-ETIMEDOUT, pidshim_wait_timeout(self->h, 150, &ex));
	EXPECT_LE(140, ps_now_ms() - t0); /* a timeout never expires early */
	ps_close(&self->release);
	ASSERT_EQ(0, pidshim_wait_timeout(self->h, -1, &ex)); /* negative: forever */
	expect_exited(_metadata, &ex, pidshim_pid(self->h), 8);
}

PS_TEST(wait, fills_rusage_of_cpu_burner)
{
	struct pidshim_exit ex;
	int64_t cpu;

	ASSERT_EQ(0, ps_spawn_helper(&self->h, -1, -1, "burn", "200", NULL));
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	expect_exited(_metadata, &ex, pidshim_pid(self->h), 0);
	cpu = ps_tv_ms(ex.rusage.ru_utime) + ps_tv_ms(ex.rusage.ru_stime);
	EXPECT_LE(150, cpu)
	{
		TH_LOG("rusage of a 200 ms CPU burner shows %lld ms", (long long)cpu);
	}
}

PS_TEST(wait, status_word_of_sigkill)
{
	struct pidshim_exit ex;
	int st;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 0));
	ASSERT_EQ(0, pidshim_send_signal(self->h, SIGKILL));
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	EXPECT_EQ(CLD_KILLED, ex.info.si_code);
	EXPECT_EQ(SIGKILL, ex.info.si_status);
	EXPECT_EQ(pidshim_pid(self->h), ex.info.si_pid);
	st = pidshim_exit_status(&ex);
	EXPECT_TRUE(WIFSIGNALED(st));
	EXPECT_EQ(SIGKILL, WTERMSIG(st));
	EXPECT_FALSE(WCOREDUMP(st));
}

static void rm_dir(const char *dir)
{
	char path[PATH_MAX + 256];
	struct dirent *e;
	DIR *d = opendir(dir);

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
	rmdir(dir);
}

/*
 * A core dump must set WCOREDUMP.  Whether the kernel dumps at all depends
 * on core_pattern (a pipe to a missing helper dumps nothing): a raw
 * posix_spawn + waitid of the same helper tells what the kernel reports
 * here, and the library must report the same si_code, with CLD_DUMPED
 * mapped to WCOREDUMP.
 */
PS_TEST(wait, status_word_of_core_dump_matches_kernel)
{
	char *dir = self->tmpdir;
	char sig[8];
	char *argv[] = { (char *)ps_helper(), (char *)"dump", dir, sig, NULL };
	struct pidshim_exit ex;
	siginfo_t raw;
	pid_t pid;
	int st;

	snprintf(sig, sizeof(sig), "%d", SIGQUIT);
	ps_tmpname(dir, sizeof(self->tmpdir), "pidshim-core");
	if (!mkdtemp(dir))
		dir[0] = '\0';
	ASSERT_NE(0, dir[0]);
	ASSERT_EQ(0, posix_spawn(&pid, argv[0], NULL, NULL, argv, NULL));
	memset(&raw, 0, sizeof(raw));
	ASSERT_EQ(0, waitid(P_PID, pid, &raw, WEXITED));
	ASSERT_EQ(SIGQUIT, raw.si_status);
	if (raw.si_code != CLD_DUMPED)
		TH_LOG("this kernel dumps no core here (si_code %d): checking the "
		       "mapping of CLD_KILLED only",
		       raw.si_code);

	ASSERT_EQ(0, pidshim_spawn(&self->h, argv[0], NULL, NULL, argv, NULL));
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	EXPECT_EQ(raw.si_code, ex.info.si_code);
	EXPECT_EQ(SIGQUIT, ex.info.si_status);
	st = pidshim_exit_status(&ex);
	EXPECT_TRUE(WIFSIGNALED(st));
	EXPECT_EQ(SIGQUIT, WTERMSIG(st));
	EXPECT_EQ(ex.info.si_code == CLD_DUMPED, !!WCOREDUMP(st));
}

static volatile sig_atomic_t usr1_count;

static void on_usr1(int sig)
{
	(void)sig;
	usr1_count++;
}

struct poker {
	pthread_t target;
	int release;
};

static void *poke_then_release(void *arg)
{
	struct poker *p = arg;

	for (int i = 0; i < 3; i++) {
		int64_t end;

		ps_sleep_ms(30);
		pthread_kill(p->target, SIGUSR1);
		/* Each signal handled before the next (they would coalesce). */
		end = ps_now_ms() + 5000 * ps_slow();
		while (usr1_count <= i && ps_now_ms() < end)
			ps_sleep_ms(1);
	}
	close(p->release);
	return NULL;
}

/* Signal handlers installed without SA_RESTART never make wait fail -EINTR. */
PS_TEST(wait, restarts_after_signal_handler_without_eintr)
{
	struct sigaction sa = { .sa_handler = on_usr1 }, old;
	struct pidshim_exit ex;
	struct poker p;
	pthread_t t;
	int round;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, &old));
	for (round = 0; round < 2; round++) {
		usr1_count = 0;
		ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 12 + round));
		p.target = pthread_self();
		p.release = self->release;
		self->release = -1;
		ASSERT_EQ(0, pthread_create(&t, NULL, poke_then_release, &p));
		if (round == 0) {
			EXPECT_EQ(0, pidshim_wait(self->h, &ex));
		} else {
			EXPECT_EQ(0,
				  pidshim_wait_timeout(self->h, 20000 * ps_slow(), &ex));
		}
		pthread_join(t, NULL);
		EXPECT_EQ(3, usr1_count);
		expect_exited(_metadata, &ex, pidshim_pid(self->h), 12 + round);
		pidshim_close(self->h);
		self->h = NULL;
	}
	sigaction(SIGUSR1, &old, NULL);
}

/*
 * With SIGCHLD ignored the kernel reaps by itself: wait returns within
 * 1 s with the true status or -ECHILD, never hangs or makes one up, and
 * try_wait ends the same way.
 */
static void autoreap(struct __test_metadata *_metadata, FIXTURE_DATA(wait) * self,
		     const struct sigaction *sa)
{
	struct sigaction old;
	struct pidshim_exit ex;
	pid_t pid;
	int64_t t0, bound = 1000 * ps_slow() + 100;
	int r;

	ASSERT_EQ(0, sigaction(SIGCHLD, sa, &old));
	/* wait */
	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 3));
	pid = pidshim_pid(self->h);
	ps_close(&self->release);
	t0 = ps_now_ms();
	r = pidshim_wait(self->h, &ex);
	EXPECT_GE(bound, ps_now_ms() - t0);
	if (r == 0) {
		expect_exited(_metadata, &ex, pid, 3);
	} else {
		EXPECT_EQ(-ECHILD, r);
	}
	pidshim_close(self->h);
	self->h = NULL;

	/* try_wait, after the kernel has certainly reaped the child */
	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 4));
	pid = pidshim_pid(self->h);
	ps_close(&self->release);
	t0 = ps_now_ms();
	while (kill(pid, 0) == 0 && ps_now_ms() - t0 < 5000 * ps_slow())
		ps_sleep_ms(2);
	t0 = ps_now_ms();
	while ((r = pidshim_try_wait(self->h, &ex)) == -EAGAIN &&
	       ps_now_ms() - t0 < bound)
		ps_sleep_ms(5);
	if (r == 0) {
		expect_exited(_metadata, &ex, pid, 4);
	} else {
		EXPECT_EQ(-ECHILD, r);
	}
	sigaction(SIGCHLD, &old, NULL);
}

PS_TEST(wait, sigchld_sig_ign_autoreap_wait_returns_within_1s)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };

	autoreap(_metadata, self, &sa);
}

PS_TEST(wait, sa_nocldwait_autoreap_wait_returns_within_1s)
{
	struct sigaction sa = { .sa_handler = SIG_DFL, .sa_flags = SA_NOCLDWAIT };

	autoreap(_metadata, self, &sa);
}

/*
 * Other code calls waitpid(-1) and takes the status: wait then says
 * -ECHILD within 1 s.  (On signalfd the library may have reaped first;
 * then the foreign waitpid finds nothing and wait has the true status.)
 * The waiter already blocks in another thread when the status is stolen.
 */
PS_TEST(wait, foreign_waitpid_steals_status_wait_gives_echild_within_1s)
{
	struct ps_bg_wait w = { 0 };
	pthread_t t;
	pid_t pid, got;
	int st = 0, round;
	int64_t stolen;

	for (round = 0; round < 2; round++) {
		ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 21));
		pid = pidshim_pid(self->h);
		memset(&w, 0, sizeof(w));
		w.h = self->h;
		if (round == 1)
			ASSERT_EQ(0, pthread_create(&t, NULL, ps_bg_wait_fn, &w));
		ps_close(&self->release);
		got = waitpid(-1, &st, 0);
		stolen = ps_now_ms();
		if (round == 0)
			ps_bg_wait_fn(&w);
		else
			pthread_join(t, NULL);
		if (got == pid) {
			EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 21);
			EXPECT_EQ(-ECHILD, w.ret);
			EXPECT_GE(1000 * ps_slow() + 100, w.done_ms - stolen);
		} else {
			EXPECT_EQ(-1, got);
			EXPECT_EQ(ECHILD, errno);
			EXPECT_EQ(0, w.ret);
			expect_exited(_metadata, &w.ex, pid, 21);
		}
		pidshim_close(self->h);
		self->h = NULL;
	}
}

static sigjmp_buf jump_out;

static void jump_out_handler(int sig)
{
	(void)sig;
	siglongjmp(jump_out, 1);
}

struct kick {
	pthread_t target;
	int after_ms;
};

static void *kick_fn(void *arg)
{
	struct kick *k = arg;

	ps_sleep_ms(k->after_ms);
	pthread_kill(k->target, SIGUSR2);
	return NULL;
}

/*
 * A signal handler longjmps out of a blocking wait, so the waiting thread
 * never comes back to the library.  The child's exit must still make the
 * fd readable in time and try_wait must still give the status, and the
 * next child must not be held up either.  (On signalfd such a wait sleeps
 * in waitid on the child and the service leaves the reap to it for a
 * moment: this is the waiter that never takes it.)
 */
PS_TEST(wait, waiter_gone_by_longjmp_leaves_exit_readable)
{
	struct sigaction sa = { .sa_handler = jump_out_handler }, old;
	struct kick k = { pthread_self(), 50 };
	struct pidshim_exit ex;
	volatile int jumped = 0, r = 1;
	pthread_t t;
	int64_t late;

	ASSERT_EQ(0, sigaction(SIGUSR2, &sa, &old));
	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 5));
	ASSERT_EQ(0, pthread_create(&t, NULL, kick_fn, &k));
	if (sigsetjmp(jump_out, 1) == 0)
		r = pidshim_wait(self->h, &ex); /* the child waits for release */
	else
		jumped = 1;
	pthread_join(t, NULL);
	sigaction(SIGUSR2, &old, NULL);
	ASSERT_TRUE(jumped)
	{
		TH_LOG("pidshim_wait returned %d while the child still ran", r);
	}
	for (int round = 0; round < 2; round++) {
		late = ps_release_and_time_readiness(&self->release, pidshim_pid(self->h),
						     pidshim_fd(self->h));
		EXPECT_TRUE(late >= 0 && late <= PS_READY_MS)
		{
			TH_LOG("round %d: fd readable %lld ms after the exit (-1: never)",
			       round, (long long)late);
		}
		ASSERT_EQ(0, pidshim_try_wait(self->h, &ex));
		expect_exited(_metadata, &ex, pidshim_pid(self->h), 5 + round);
		pidshim_close(self->h);
		self->h = NULL;
		if (round == 0)
			ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 6));
	}
}

/* try_wait each time h's fd turns readable: on the signalfd backend a
 * SIGCHLD still pending from another exit may wake it before its own. */
static int try_wait_when_readable(struct pidshim *h, struct pidshim_exit *ex)
{
	int r;

	do
		r = pidshim_try_wait(h, ex);
	while (r == -EAGAIN && ps_readable(pidshim_fd(h), 2000 * ps_slow()));
	return r;
}

/*
 * Another handle's fd, polled by the program, while a thread sleeps in a
 * blocking wait (on the fallback that wait sleeps in waitid itself, and
 * the watcher stays out of the way: the waiting thread must take the
 * other exit), and just after that wait ended (the watcher takes over
 * again, within the fd's 100 ms).
 */
PS_TEST(wait, other_fd_readable_while_and_after_a_blocking_wait)
{
	struct pidshim *b = NULL, *c = NULL;
	int rel_b = -1, rel_c = -1;
	struct ps_bg_wait w = { 0 };
	struct pidshim_exit ex;
	pthread_t t;
	int64_t late;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 7));
	ASSERT_EQ(0, ps_spawn_blocker(&b, &rel_b, 8));
	ASSERT_EQ(0, ps_spawn_blocker(&c, &rel_c, 9));
	w.h = self->h;
	ASSERT_EQ(0, pthread_create(&t, NULL, ps_bg_wait_fn, &w));
	ps_sleep_ms(50); /* asleep in its wait by now */
	late = ps_release_and_time_readiness(&rel_b, pidshim_pid(b), pidshim_fd(b));
	EXPECT_TRUE(late >= 0 && late <= PS_READY_MS)
	{
		TH_LOG("during the wait: fd readable %lld ms after the exit (-1: never)",
		       (long long)late);
	}
	ps_close(&self->release);
	pthread_join(t, NULL);
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(7, w.ex.info.si_status);
	late = ps_release_and_time_readiness(&rel_c, pidshim_pid(c), pidshim_fd(c));
	EXPECT_TRUE(late >= 0 && late <= PS_READY_MS)
	{
		TH_LOG("after the wait: fd readable %lld ms after the exit (-1: never)",
		       (long long)late);
	}
	EXPECT_EQ(0, try_wait_when_readable(b, &ex));
	EXPECT_EQ(8, ex.info.si_status);
	EXPECT_EQ(0, try_wait_when_readable(c, &ex));
	EXPECT_EQ(9, ex.info.si_status);
	pidshim_close(b);
	pidshim_close(c);
}

PS_TEST(wait, fd_readable_within_100ms_after_exit)
{
	struct pidshim_exit ex;
	int64_t late;
	int fd;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 2));
	fd = pidshim_fd(self->h);
	ASSERT_LE(0, fd);
	ps_sleep_ms(20);
	late = ps_release_and_time_readiness(&self->release, pidshim_pid(self->h), fd);
	EXPECT_TRUE(late >= 0 && late <= PS_READY_MS)
	{
		TH_LOG("fd readable %lld ms after the exit (-1: never)", (long long)late);
	}
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	expect_exited(_metadata, &ex, pidshim_pid(self->h), 2);
}

/*
 * The fd asked for only after the process ended: readable at once,
 * whether its SIGCHLD is still pending (nothing of the library ran since)
 * or was already taken by a call for another handle (which looked at this
 * one and must have marked its fd).
 */
PS_TEST(wait, fd_asked_for_only_after_the_exit_is_readable)
{
	struct pidshim *other = NULL;
	struct pidshim_exit ex;
	int other_release = -1;

	for (int taken = 0; taken < 2; taken++) {
		ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 3));
		ASSERT_EQ(0, ps_spawn_blocker(&other, &other_release, 4));
		ps_close(&self->release);
		ASSERT_TRUE(ps_exited(pidshim_pid(self->h), 10000 * ps_slow()));
		if (taken) /* takes the pending SIGCHLD, looks at self->h */
			EXPECT_EQ(-EAGAIN, pidshim_try_wait(other, &ex));
		EXPECT_TRUE(ps_readable(pidshim_fd(self->h), PS_READY_MS))
		{
			TH_LOG("fd not readable within 100 ms (SIGCHLD %s)",
			       taken ? "taken by another call" : "still pending");
		}
		ASSERT_EQ(0, pidshim_wait(self->h, &ex));
		expect_exited(_metadata, &ex, pidshim_pid(self->h), 3);
		pidshim_close(self->h);
		self->h = NULL;
		ps_close(&other_release);
		ASSERT_EQ(0, pidshim_wait(other, &ex));
		expect_exited(_metadata, &ex, pidshim_pid(other), 4);
		pidshim_close(other);
		other = NULL;
	}
}

/* A child of ours that is none of the library's: a foreign SIGCHLD. */
static void foreign_sigchld(struct __test_metadata *_metadata)
{
	int st;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0)
		ps_child_exit(0);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
}

/*
 * Before the exit the fd is quiet on the pidfd backends.  On signalfd a
 * spurious wake-up is allowed (a foreign SIGCHLD), but once try_wait said
 * -EAGAIN the fd is not readable again.
 */
PS_TEST(wait, fd_not_readable_before_exit)
{
	struct pidshim_exit ex;
	int fd, i;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 0));
	fd = pidshim_fd(self->h);
	for (i = 0; i < 3; i++) {
		if (variant->expect != PIDSHIM_BACKEND_SIGNALFD) {
			EXPECT_FALSE(ps_readable(fd, 50));
		} else {
			EXPECT_EQ(-EAGAIN, pidshim_try_wait(self->h, &ex));
			EXPECT_FALSE(ps_readable(fd, 0));
		}
		foreign_sigchld(_metadata);
		ps_sleep_ms(20);
	}
	if (variant->expect != PIDSHIM_BACKEND_SIGNALFD) {
		EXPECT_FALSE(ps_readable(fd, 0));
	}
	EXPECT_EQ(-EAGAIN, pidshim_try_wait(self->h, &ex));
	EXPECT_FALSE(ps_readable(fd, 0));
	i = (int)ps_release_and_time_readiness(&self->release, pidshim_pid(self->h), fd);
	EXPECT_TRUE(i >= 0 && i <= PS_READY_MS);
	EXPECT_EQ(0, pidshim_wait(self->h, &ex));
}

/*
 * After a spurious wake-up (a foreign SIGCHLD on signalfd) a blocking wait
 * still blocks until the real exit and returns the true status (async-pidfd
 * once returned garbage here).
 */
PS_TEST(wait, wait_after_spurious_readiness_still_blocks)
{
	struct pidshim_exit ex;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 31));
	foreign_sigchld(_metadata);
	ps_readable(pidshim_fd(self->h), 50);
	EXPECT_EQ(-ETIMEDOUT, pidshim_wait_timeout(self->h, 200, &ex));
	EXPECT_EQ(-EAGAIN, pidshim_try_wait(self->h, &ex));
	ps_close(&self->release);
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	expect_exited(_metadata, &ex, pidshim_pid(self->h), 31);
}

/*
 * An epoll loop on the fd while the child runs and foreign children exit:
 * at most one wake-up per foreign SIGCHLD on signalfd (none on pidfd),
 * each answered by try_wait -EAGAIN, never a spin.
 */
PS_TEST(wait, epoll_loop_does_not_spin_while_running)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct pidshim_exit ex;
	int ep, wakeups = 0, foreign = 0, r = -EAGAIN;
	int64_t end;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 5));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, pidshim_fd(self->h), &ev));
	end = ps_now_ms() + 400;
	while (ps_now_ms() < end) {
		int n = epoll_wait(ep, &out, 1, 50);

		if (n > 0) {
			wakeups++;
			EXPECT_EQ(-EAGAIN, pidshim_try_wait(self->h, &ex));
			if (wakeups > 50)
				break;
		} else if (foreign < 4) {
			foreign_sigchld(_metadata);
			foreign++;
		}
	}
	if (variant->expect == PIDSHIM_BACKEND_SIGNALFD) {
		EXPECT_GE(foreign + 1, wakeups);
	} else {
		EXPECT_EQ(0, wakeups);
	}
	ps_close(&self->release);
	end = ps_now_ms() + 5000 * ps_slow();
	while (r == -EAGAIN && ps_now_ms() < end)
		if (epoll_wait(ep, &out, 1, 1000) > 0)
			r = pidshim_try_wait(self->h, &ex);
	EXPECT_EQ(0, r);
	expect_exited(_metadata, &ex, pidshim_pid(self->h), 5);
	epoll_ctl(ep, EPOLL_CTL_DEL, pidshim_fd(self->h), NULL);
	close(ep);
}

/*
 * A debugger in another process PTRACE_SEIZEs our child.  The child exits;
 * the tracer sees it first and the real parent's waitid reports nothing
 * until the tracer waits (or exits): try_wait -EAGAIN, wait blocks without
 * burning CPU, then returns the true status.
 */
static void ptraced(struct __test_metadata *_metadata, FIXTURE_DATA(wait) * self,
		    char how)
{
	struct pidshim_exit ex;
	struct ps_bg_wait w = { 0 };
	int in[2], out[2], ctl[2], cmd[2], st;
	pid_t child, tracer;
	int64_t cpu0, cpu, t0;
	pthread_t t;
	char c = 0;

	PS_PIPE(out);
	PS_PIPE(ctl);
	PS_PIPE(cmd);
	PS_PIPE(in);
	ASSERT_EQ(0, ps_spawn_helper(&self->h, in[0], out[1], "ptraceable", "23", NULL));
	close(in[0]);
	self->release = in[1];
	close(out[1]);
	ASSERT_EQ(1, read(out[0], &c, 1));
	close(out[0]);
	child = pidshim_pid(self->h);

	tracer = fork();
	ASSERT_LE(0, tracer);
	if (tracer == 0) {
		siginfo_t si;

		ps_close_fds_except(ctl[1], cmd[0]);
		if (ptrace(PTRACE_SEIZE, child, 0, 0)) {
			c = 'E';
			if (write(ctl[1], &c, 1) != 1 ||
			    write(ctl[1], &errno, sizeof(int)) < 0)
				ps_child_exit(1);
			ps_child_exit(0);
		}
		c = 'a';
		if (write(ctl[1], &c, 1) != 1)
			ps_child_exit(1);
		/* Learn of the exit without consuming it. */
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, child, &si, WEXITED | WNOWAIT | __WALL))
			ps_child_exit(2);
		c = 'x';
		if (write(ctl[1], &c, 1) != 1 || read(cmd[0], &c, 1) != 1)
			ps_child_exit(3);
		if (c == 'w' && waitpid(child, &st, __WALL) != child)
			ps_child_exit(4);
		ps_child_exit(0);
	}
	close(ctl[1]);
	close(cmd[0]);
	ASSERT_EQ(1, read(ctl[0], &c, 1));
	if (c == 'E') {
		int err = 0;

		EXPECT_EQ((ssize_t)sizeof(err), read(ctl[0], &err, sizeof(err)));
		close(ctl[0]);
		close(cmd[1]);
		waitpid(tracer, &st, 0);
		SKIP(return, "ptrace(PTRACE_SEIZE) refused here (%s): Yama or seccomp",
			   strerror(err));
	}
	ASSERT_EQ('a', c);
	ps_close(&self->release); /* the traced child exits now */
	ASSERT_EQ(1, read(ctl[0], &c, 1));
	ASSERT_EQ('x', c);
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(-EAGAIN, pidshim_try_wait(self->h, &ex));
		ps_sleep_ms(20);
	}
	EXPECT_EQ(-ETIMEDOUT, pidshim_wait_timeout(self->h, 100, &ex));

	w.h = self->h;
	cpu0 = ps_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	ASSERT_EQ(0, pthread_create(&t, NULL, ps_bg_wait_fn, &w));
	ps_sleep_ms(500);
	cpu = (ps_clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / 1000000;
	EXPECT_FALSE(__atomic_load_n(&w.done, __ATOMIC_SEQ_CST));
	/* Emulated CPUs (qemu TCG: PIDSHIM_TEST_SLOW) account CPU time
	 * coarsely; the bound widens with the slowdown as every other one. */
	EXPECT_GT(100 * ps_slow(), cpu)
	{
		TH_LOG("blocked wait burned %lld ms CPU in 500 ms: spinning",
		       (long long)cpu);
	}
	t0 = ps_now_ms();
	ASSERT_EQ(1, write(cmd[1], &how, 1));
	pthread_join(t, NULL);
	EXPECT_EQ(0, w.ret);
	expect_exited(_metadata, &w.ex, child, 23);
	EXPECT_GE(2000 * ps_slow(), w.done_ms - t0);
	ASSERT_EQ(tracer, waitpid(tracer, &st, 0));
	EXPECT_EQ(0, st);
	close(ctl[0]);
	close(cmd[1]);
}

PS_TEST(wait, ptrace_seized_child_reported_after_tracer_waits)
{
	ptraced(_metadata, self, 'w');
}

PS_TEST(wait, ptrace_seized_child_reported_after_tracer_exits)
{
	ptraced(_metadata, self, 'e');
}

/* ---- pidshim_exit_status on synthetic siginfo --------------------------- */

static int status_of(int signo, int code, int status)
{
	struct pidshim_exit e;

	memset(&e, 0, sizeof(e));
	e.info.si_signo = signo;
	e.info.si_code = code;
	e.info.si_status = status;
	return pidshim_exit_status(&e);
}

TEST(exit_status_word_of_every_cld_code)
{
	int st;

	st = status_of(SIGCHLD, CLD_EXITED, 42);
	EXPECT_EQ(42 << 8, st);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 42);
	EXPECT_EQ(0, status_of(SIGCHLD, CLD_EXITED, 0));
	EXPECT_EQ(255 << 8, status_of(SIGCHLD, CLD_EXITED, 255));

	st = status_of(SIGCHLD, CLD_KILLED, SIGKILL);
	EXPECT_EQ(SIGKILL, st);
	EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && !WCOREDUMP(st));

	st = status_of(SIGCHLD, CLD_DUMPED, SIGSEGV);
	EXPECT_EQ(SIGSEGV | 0x80, st);
	EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV && WCOREDUMP(st));

	st = status_of(SIGCHLD, CLD_STOPPED, SIGSTOP);
	EXPECT_EQ((SIGSTOP << 8) | 0x7f, st);
	EXPECT_TRUE(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);

	st = status_of(SIGCHLD, CLD_TRAPPED, SIGTRAP);
	EXPECT_EQ((SIGTRAP << 8) | 0x7f, st);
	EXPECT_TRUE(WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP);

	st = status_of(SIGCHLD, CLD_CONTINUED, SIGCONT);
	EXPECT_EQ(0xffff, st);
	EXPECT_TRUE(WIFCONTINUED(st));
}

TEST(exit_status_rejects_non_sigchld_with_einval)
{
	EXPECT_EQ(-EINVAL, status_of(SIGUSR1, CLD_EXITED, 0));
	EXPECT_EQ(-EINVAL, status_of(0, CLD_EXITED, 0));
	EXPECT_EQ(-EINVAL, status_of(SIGCHLD, 0, 0));
	EXPECT_EQ(-EINVAL, status_of(SIGCHLD, 99, 0));
	EXPECT_EQ(-EINVAL, pidshim_exit_status(NULL));
}

PS_MAIN

/*
 * The error filter at the public boundary: an error pidshim.h does not
 * list for a function reaches the caller as -EFAULT, never raw, and
 * changes nothing.  Here the program closes the handle's fd behind the
 * library's back (a copy keeps the file open to put it back): on the
 * pidfd backend the kernel then answers waitid(P_PIDFD) with EBADF.
 */
PS_TEST(wait, unlisted_kernel_error_is_efault_and_changes_nothing)
{
	struct pidshim_exit ex;
	int fd, keep, r;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 5));
	fd = pidshim_fd(self->h);
	ASSERT_LE(0, fd);
	keep = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	ASSERT_LE(0, keep);
	ASSERT_EQ(0, close(fd));
	r = pidshim_try_wait(self->h, &ex);
	ASSERT_EQ(fd, dup3(keep, fd, O_CLOEXEC));
	close(keep);
	if (variant->expect == PIDSHIM_BACKEND_PIDFD) {
		EXPECT_EQ(-EFAULT, r);
	} else { /* pidfd-poll reaps by PID, the fallback polls no fd here */
		EXPECT_EQ(-EAGAIN, r);
	}
	ps_close(&self->release);
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	expect_exited(_metadata, &ex, pidshim_pid(self->h), 5);
}
