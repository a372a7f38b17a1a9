// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * robust.c - selftests of the robustness pidshim(7) promises about
 * resources: every fd the library makes is O_CLOEXEC and none shows
 * up in a spawned child (pidshim's or plain posix_spawn's); the fd count is
 * the same before and after 1000 spawn/wait/close cycles mixing failed
 * spawns, sets and handles closed while their child runs (and those
 * children leave no zombie); pidshim_close never kills and never blocks;
 * a handle holds 1 fd on pidfd backends, at most 2 on signalfd; and a
 * handle's fd stays readable at the exit when the kernel refuses it the
 * signalfd (the SIGCHLD mechanism then gives way to the thread).
 */
#include <stdatomic.h>
#include <sys/epoll.h>

#include "psbpf.h"

FIXTURE(robust)
{
	int release;
	struct pidshim *h;
	struct ps_fds base; /* fds open before the first library call */
};
PS_BACKEND_VARIANTS(robust);

FIXTURE_SETUP(robust)
{
	self->release = -1;
	self->h = NULL;
	ps_fds_list(&self->base);
	if (ps_setup_backend(_metadata, PS_VARIANT))
		return;
}

FIXTURE_TEARDOWN(robust)
{
	ps_close(&self->release);
	pidshim_close(self->h);
	ps_library_settle();
}

/* Waits up to 2 s (scaled) for every child of ours to be gone. */
static bool children_gone(void)
{
	int64_t end = ps_now_ms() + 2000 * ps_slow();

	while (!ps_no_children() && ps_now_ms() < end)
		ps_sleep_ms(5);
	return ps_no_children();
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

/* Every fd that appeared since the baseline must be close-on-exec. */
static void expect_new_fds_cloexec(struct __test_metadata *_metadata,
				   const struct ps_fds *base)
{
	static struct ps_fds now;

	ps_fds_list(&now);
	for (int i = 0; i < now.n; i++) {
		if (ps_fds_has(base, now.fd[i]))
			continue;
		EXPECT_TRUE(ps_cloexec(now.fd[i]))
		{
			char path[64], target[256] = "?";

			snprintf(path, sizeof(path), "/proc/self/fd/%d", now.fd[i]);
			if (readlink(path, target, sizeof(target) - 1) < 0)
				strcpy(target, "?");
			TH_LOG("fd %d (%s) lacks O_CLOEXEC", now.fd[i], target);
		}
	}
}

PS_TEST(robust, every_library_fd_is_cloexec)
{
	struct pidshim *opened = NULL, *other = NULL;
	struct pidshim_set *s = NULL;
	pid_t pid;
	int rel = -1, st;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 0));
	ASSERT_EQ(0, ps_spawn_helper(&other, -1, -1, "exit", "0", NULL));
	pid = ps_fork_blocker(&rel, 0);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, pidshim_open(pid, 0, &opened));
	ASSERT_EQ(0, pidshim_set_new(&s));
	ASSERT_EQ(0, pidshim_set_add(s, self->h));
	ASSERT_EQ(0, pidshim_set_add(s, opened));
	EXPECT_TRUE(ps_cloexec(pidshim_fd(self->h)));
	EXPECT_TRUE(ps_cloexec(pidshim_fd(other)));
	EXPECT_TRUE(ps_cloexec(pidshim_fd(opened)));
	EXPECT_TRUE(ps_cloexec(pidshim_set_fd(s)));
	/* The pipe end the fork blocker left us is ours, and CLOEXEC too. */
	expect_new_fds_cloexec(_metadata, &self->base);
	EXPECT_EQ(0, run_to_exit(other));
	pidshim_close(other);
	pidshim_set_free(s);
	pidshim_close(opened);
	close(rel);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
}

/* Who makes the child in child_fds. */
enum maker {
	BY_LIBC,	  /* posix_spawn */
	BY_PIDSHIM_LIBC,  /* pidshim_spawn with file actions: libc's spawn */
	BY_PIDSHIM_CLONE, /* pidshim_spawn without: the library's own clone */
};

static const char *const maker_name[] = { "posix_spawn", "pidshim_spawn (file actions)",
					  "pidshim_spawn (its own clone)" };

/* Reads "helper fds" output: the child's open fds.  BY_PIDSHIM_CLONE has
 * no file action to move the pipe onto the child's stdout: this process's
 * stdout is the pipe while the child is made. */
static int child_fds(struct __test_metadata *_metadata, enum maker by, int *fds, int max)
{
	char *argv[] = { (char *)ps_helper(), (char *)"fds", NULL };
	posix_spawn_file_actions_t fa;
	struct pidshim *h = NULL;
	char buf[4096], *p, *save = NULL;
	size_t len = 0;
	ssize_t n;
	int out[2], count = 0, st, saved_stdout;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC))
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	switch (by) {
	case BY_LIBC:
		EXPECT_EQ(0, posix_spawn(&pid, argv[0], &fa, NULL, argv, NULL));
		break;
	case BY_PIDSHIM_LIBC:
		EXPECT_EQ(0, pidshim_spawn(&h, argv[0], &fa, NULL, argv, NULL));
		break;
	case BY_PIDSHIM_CLONE:
		fflush(stdout);
		saved_stdout = fcntl(1, F_DUPFD_CLOEXEC, 3);
		ASSERT_LE(0, saved_stdout);
		ASSERT_EQ(1, dup2(out[1], 1));
		EXPECT_EQ(0, pidshim_spawn(&h, argv[0], NULL, NULL, argv, NULL));
		ASSERT_EQ(1, dup2(saved_stdout, 1));
		close(saved_stdout);
		break;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	while (len + 1 < sizeof(buf) &&
	       (n = read(out[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(out[0]);
	if (by == BY_LIBC) {
		EXPECT_EQ(pid, waitpid(pid, &st, 0));
	} else {
		EXPECT_EQ(0, run_to_exit(h));
		pidshim_close(h);
	}
	for (p = strtok_r(buf, "\n", &save); p && count < max;
	     p = strtok_r(NULL, "\n", &save))
		fds[count++] = atoi(p);
	return count;
}

/*
 * With handles, a set and a running library, a spawned child (by pidshim,
 * through libc's spawn or its own clone, whose child opens its /proc fd
 * into this process's fd table on the fallback, or by plain posix_spawn)
 * holds only fds the test process already had before the library
 * started, plus stdio.
 */
PS_TEST(robust, no_library_fd_in_spawned_child)
{
	struct pidshim *more[4] = { NULL };
	struct pidshim_set *s = NULL;
	int fds[256], n, i, rel[4] = { -1, -1, -1, -1 };

	ASSERT_EQ(0, pidshim_set_new(&s));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, ps_spawn_blocker(&more[i], &rel[i], 0));
		ASSERT_EQ(0, pidshim_set_add(s, more[i]));
	}
	for (int by = BY_LIBC; by <= BY_PIDSHIM_CLONE; by++) {
		n = child_fds(_metadata, (enum maker)by, fds, 256);
		ASSERT_LT(0, n);
		for (i = 0; i < n; i++) {
			EXPECT_TRUE(fds[i] <= 2 || ps_fds_has(&self->base, fds[i]))
			{
				TH_LOG("%s: child inherited fd %d", maker_name[by],
				       fds[i]);
			}
		}
	}
	for (i = 0; i < 4; i++) {
		close(rel[i]);
		EXPECT_EQ(0, run_to_exit(more[i]));
		pidshim_close(more[i]);
	}
	pidshim_set_free(s);
}

/*
 * 1000 cycles (100 quick) of: spawn+wait+close, a failed spawn, a handle
 * closed while its child runs, set add/remove + wait_timeout, and
 * try_wait driven by the fd.  The fd count afterwards equals the count
 * before, and no child (zombie or running) is left once they exited.
 */
PS_TEST_T(robust, fd_count_flat_over_1000_cycles, 300)
{
	char *missing[] = { (char *)"/nonexistent/pidshim-helper", NULL };
	struct pidshim_set *s = NULL;
	struct pidshim_exit ex;
	struct pidshim *h;
	int n = ps_scaled(1000), i, before, in[2], r;
	bool exec_errors = ps_exec_errors_reported();

	ASSERT_EQ(0, pidshim_set_new(&s));
	/* Warm up: the library's one-time fds exist before we count. */
	ASSERT_EQ(0, ps_spawn_helper(&h, -1, -1, "exit", "0", NULL));
	ASSERT_EQ(0, pidshim_wait(h, &ex));
	pidshim_close(h);
	before = ps_fd_count();
	PS_PIPE(in); /* closed again before the count after */
	for (i = 0; i < n; i++) {
		h = NULL;
		switch (i % 5) {
		case 0:
			ASSERT_EQ(0, ps_spawn_helper(&h, -1, -1, "exit", "3", NULL));
			EXPECT_EQ(3, run_to_exit(h));
			break;
		case 1:
			r = pidshim_spawn(&h, missing[0], NULL, NULL, missing, NULL);
			if (exec_errors) {
				ASSERT_EQ(-ENOENT, r);
			} else {
				/* The exec error shows as the child's exit. */
				ASSERT_EQ(0, r);
				EXPECT_NE(0, run_to_exit(h));
			}
			break;
		case 2: /* closed while running; exits when in[1] closes */
			ASSERT_EQ(0, ps_spawn_helper(&h, in[0], -1, "wait", "0", NULL));
			break;
		case 3:
			ASSERT_EQ(0, ps_spawn_helper(&h, -1, -1, "exit", "4", NULL));
			ASSERT_EQ(0, pidshim_set_add(s, h));
			if (i % 2)
				ASSERT_EQ(0, pidshim_set_remove(s, h));
			r = pidshim_wait_timeout(h, 10000 * ps_slow(), &ex);
			EXPECT_EQ(0, r);
			break;
		case 4:
			ASSERT_EQ(0, ps_spawn_helper(&h, -1, -1, "exit", "5", NULL));
			ASSERT_TRUE(ps_readable(pidshim_fd(h), 5000 * ps_slow()));
			EXPECT_EQ(0, pidshim_try_wait(h, &ex));
			break;
		}
		pidshim_close(h);
	}
	close(in[0]);
	close(in[1]);
	EXPECT_TRUE(children_gone())
	{
		TH_LOG("children left behind, e.g. %d (%c)", (int)ps_zombie_child(),
		       ps_proc_state(ps_zombie_child()));
	}
	pidshim_set_free(s);
	ASSERT_EQ(0, pidshim_set_new(&s)); /* same fd count as before */
	/*
	 * The library frees the fds of a handle closed while its child ran
	 * after it reaps that child: a slow guest (TCG) showed the children
	 * gone and two fds still open.  A leak never comes back down.
	 */
	for (int64_t end = ps_now_ms() + 2000 * ps_slow();
	     ps_fd_count() != before && ps_now_ms() < end;)
		ps_sleep_ms(5);
	EXPECT_EQ(before, ps_fd_count());
	pidshim_set_free(s);
}

/*
 * Closing a handle while its child runs neither kills the child (it still
 * echoes) nor blocks, and once the child exits the library reaps it.
 */
PS_TEST(robust, close_never_kills_never_blocks_and_leaves_no_zombie)
{
	int in[2], out[2];
	char c = 0;
	pid_t pid;
	int64_t t0, took;

	PS_PIPE(in);
	PS_PIPE(out);
	ASSERT_EQ(0, ps_spawn_helper(&self->h, in[0], out[1], "echo", NULL));
	close(in[0]);
	close(out[1]);
	pid = pidshim_pid(self->h);
	t0 = ps_now_ms();
	pidshim_close(self->h);
	took = ps_now_ms() - t0;
	self->h = NULL;
	EXPECT_GT(1000 * ps_slow(), took);
	ASSERT_EQ(1, write(in[1], "x", 1));
	EXPECT_EQ(1, read(out[0], &c, 1));
	EXPECT_EQ('x', c);
	EXPECT_EQ(0, kill(pid, 0));
	EXPECT_NE('Z', ps_proc_state(pid));
	close(in[1]);
	close(out[0]);
	EXPECT_TRUE(children_gone())
	{
		TH_LOG("closed child %d left as %c", (int)pid, ps_proc_state(pid));
	}
}

/* pidshim_fd from a signal handler (see the test below). */
#define SHOWN_N 40
static struct pidshim *shown_h[SHOWN_N];
static volatile sig_atomic_t shown_next;
static _Atomic long shown_progress;

static void show_next_fd(int sig)
{
	(void)sig;
	if (shown_next < SHOWN_N)
		(void)pidshim_fd(shown_h[shown_next++]);
}

static void *send_usr1_to(void *arg)
{
	pthread_t to = *(pthread_t *)arg;
	struct timespec pause = { 0, 200 * 1000 };

	while (shown_next < SHOWN_N) {
		pthread_kill(to, SIGUSR1);
		nanosleep(&pause, NULL);
	}
	return NULL;
}

/* Ends the test process as failed once the main thread stops moving. */
static void *stall_watch(void *arg)
{
	int64_t still_since = ps_now_ms();
	long last = -1;

	(void)arg;
	/* Short naps: the test joins this thread as soon as it is done. */
	while (shown_next < SHOWN_N) {
		ps_sleep_ms(10);
		if (atomic_load(&shown_progress) != last) {
			last = atomic_load(&shown_progress);
			still_since = ps_now_ms();
		} else if (ps_now_ms() - still_since > 2000 * ps_slow()) {
			fprintf(stderr,
				"# pidshim_fd in a signal handler made no progress "
				"for 2 s: %d of %d fds given out\n",
				(int)shown_next, SHOWN_N);
			_exit(1);
		}
	}
	return NULL;
}

/*
 * pidshim.h says pidshim_fd is async-signal-safe: a signal handler may
 * call it while the thread it interrupted is inside the library, holding
 * its locks.  Set members whose fds were never given out are the case
 * where the SIGCHLD mechanism's fd still had to be hooked to the
 * signalfd (it took the service lock for that, and deadlocked on the
 * first signal).  The main thread calls pidshim_try_wait (which takes
 * that lock) in a loop while another thread signals it; the handler asks
 * for the next member's fd.
 */
PS_TEST(robust, fd_from_a_signal_handler_never_waits_for_a_lock)
{
	struct sigaction sa = { .sa_handler = show_next_fd, .sa_flags = SA_RESTART };
	pthread_t self_t = pthread_self(), sender, watch;
	struct pidshim_set *s;
	struct pidshim_exit ex;

	ASSERT_EQ(0, pidshim_set_new(&s));
	for (int i = 0; i < SHOWN_N; i++) {
		ASSERT_EQ(0,
			  ps_spawn_helper(&shown_h[i], -1, -1, "sleep", "60000", NULL));
		ASSERT_EQ(0, pidshim_set_add(s, shown_h[i]));
	}
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, pthread_create(&watch, NULL, stall_watch, NULL));
	ASSERT_EQ(0, pthread_create(&sender, NULL, send_usr1_to, &self_t));
	while (shown_next < SHOWN_N) {
		for (int i = 0; i < SHOWN_N; i++)
			EXPECT_EQ(-EAGAIN, pidshim_try_wait(shown_h[i], &ex));
		atomic_fetch_add(&shown_progress, 1);
	}
	pthread_join(sender, NULL);
	pthread_join(watch, NULL);
	signal(SIGUSR1, SIG_DFL);
	for (int i = 0; i < SHOWN_N; i++) {
		EXPECT_LE(0, pidshim_fd(shown_h[i]));
		EXPECT_EQ(0, pidshim_send_signal(shown_h[i], SIGKILL));
		EXPECT_EQ(0, pidshim_wait(shown_h[i], &ex));
		EXPECT_EQ(CLD_KILLED, ex.info.si_code);
		pidshim_close(shown_h[i]);
	}
	pidshim_set_free(s);
}

/*
 * An open handle holds 1 fd on the pidfd backends and at most 2 on
 * signalfd; the SIGCHLD mechanism adds 2 shared by every 40 handles (its
 * signalfd and ready eventfd, see sigchld.c): here one such shard.
 */
PS_TEST(robust, handle_holds_at_most_contract_fds)
{
	struct pidshim *hs[20];
	struct pidshim_exit ex;
	int in[2], i, before, per = variant->expect == PIDSHIM_BACKEND_SIGNALFD ? 2 : 1;
	int shared = variant->sigchld ? 2 : 0;

	PS_PIPE(in);
	ASSERT_EQ(0, ps_spawn_helper(&self->h, -1, -1, "exit", "0", NULL));
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	pidshim_close(self->h);
	self->h = NULL;
	before = ps_fd_count();
	for (i = 0; i < 20; i++)
		ASSERT_EQ(0, ps_spawn_helper(&hs[i], in[0], -1, "wait", "0", NULL));
	EXPECT_GE(20 * per + shared, ps_fd_count() - before);
	close(in[0]);
	close(in[1]);
	for (i = 0; i < 20; i++) {
		EXPECT_EQ(0, run_to_exit(hs[i]));
		pidshim_close(hs[i]);
	}
}

#ifdef PS_AUDIT_ARCH
/* The signalfd this process holds, or -1 (the SIGCHLD mechanism's). */
static int signalfd_open_here(void)
{
	struct ps_fds now;

	ps_fds_list(&now);
	for (int i = 0; i < now.n; i++) {
		char path[64], target[64];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", now.fd[i]);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			if (!strcmp(target, "anon_inode:[signalfd]"))
				return now.fd[i];
		}
	}
	return -1;
}

/*
 * The kernel refuses to put the SIGCHLD mechanism's signalfd into a
 * handle's epoll (ENOMEM for that epoll_ctl, as under kernel memory
 * pressure) when the program first asks for the handle's fd.  That fd
 * could never hear the exit: the library must give way to the thread
 * mechanism, and the fd must still turn readable within 100 ms of the
 * exit.  (On the other variants there is no signalfd to refuse, and the
 * same readiness is checked under the same filter.)
 */
PS_TEST(robust, fd_the_kernel_refuses_the_signalfd_still_turns_readable)
{
	struct pidshim_exit ex;
	int64_t late;
	int sfd, r;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 6));
	sfd = signalfd_open_here();
	if (variant->sigchld) {
		ASSERT_LE(0, sfd); /* the mechanism's shard, made at the spawn */
	}
	{
		struct sock_filter f[] = {
			PS_BPF_OUR_ARCH_THEN_NR,
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_epoll_ctl, 0, 5),
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, PS_ARG_LO(1)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, EPOLL_CTL_ADD, 0, 3),
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, PS_ARG_LO(2)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)sfd, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOMEM),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};

		r = ps_install_filter(f, sizeof(f) / sizeof(f[0]));
	}
	if (r == -EINVAL || r == -ENOSYS)
		SKIP(return, "kernel lacks seccomp filters (SECCOMP_SET_MODE_FILTER)%s",
			   ps_under_valgrind() ? ": valgrind does not emulate them" : "");
	ASSERT_EQ(0, r);
	late = ps_release_and_time_readiness(&self->release, pidshim_pid(self->h),
					     pidshim_fd(self->h));
	EXPECT_TRUE(late >= 0 && late <= PS_READY_MS)
	{
		TH_LOG("fd readable %lld ms after the exit (-1: never)", (long long)late);
	}
	if (variant->sigchld) {
		EXPECT_EQ(PIDSHIM_MECHANISM_THREAD, pidshim_mechanism());
	}
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	EXPECT_EQ(CLD_EXITED, ex.info.si_code);
	EXPECT_EQ(6, ex.info.si_status);
}
#endif /* PS_AUDIT_ARCH */

PS_MAIN
