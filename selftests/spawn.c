// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * spawn.c - selftests of what pidshim_spawn(3) promises: argv/envp/PATH handling,
 * attributes and file actions, exec errors returned as -errno with no zombie and no fd
 * left, the child's signal mask and dispositions equal to what plain posix_spawn gives
 * (compared through /proc/self/status of both children), the caller's own mask left
 * alone, and EMFILE after the child started: the child is killed and reaped, the error
 * returned, nothing left.
 */
#include <sys/stat.h>

#include "psbpf.h"
#include "pstest.h"

FIXTURE(spawn)
{
	int release;
	struct pidshim *h;
};
PS_BACKEND_VARIANTS(spawn);

FIXTURE_SETUP(spawn)
{
	self->release = -1;
	self->h = NULL;
	if (ps_setup_backend(_metadata, PS_VARIANT))
		return;
}

FIXTURE_TEARDOWN(spawn)
{
	ps_close(&self->release);
	pidshim_close(self->h);
	ps_library_settle(); /* closed handles' children reaped, their fds closed */
}

static char mark;
#define SENTINEL ((struct pidshim *)&mark)

static int run_to_exit(struct pidshim *h)
{
	struct pidshim_exit ex;
	int r = pidshim_wait(h, &ex);

	if (r < 0)
		return r;
	return ex.info.si_code == CLD_EXITED ? ex.info.si_status
					     : 1000 + ex.info.si_status;
}

PS_TEST(spawn, passes_argv_and_envp_and_environ)
{
	char *argv[] = { (char *)ps_helper(), (char *)"env", (char *)"PS_T",
			 (char *)"a b", NULL };
	char *envp[] = { (char *)"PS_T=a b", (char *)"OTHER=1", NULL };

	ASSERT_EQ(0, pidshim_spawn(&self->h, argv[0], NULL, NULL, argv, envp));
	EXPECT_EQ(0, run_to_exit(self->h));
	pidshim_close(self->h);
	/* envp NULL: the child gets environ. */
	ASSERT_EQ(0, setenv("PS_T", "a b", 1));
	ASSERT_EQ(0, pidshim_spawn(&self->h, argv[0], NULL, NULL, argv, NULL));
	EXPECT_EQ(0, run_to_exit(self->h));
	pidshim_close(self->h);
	ASSERT_EQ(0, setenv("PS_T", "other", 1));
	ASSERT_EQ(0, pidshim_spawn(&self->h, argv[0], NULL, NULL, argv, NULL));
	EXPECT_EQ(1, run_to_exit(self->h));
	pidshim_close(self->h);
	/* An explicit envp replaces environ entirely. */
	envp[0] = (char *)"X=1";
	ASSERT_EQ(0, pidshim_spawn(&self->h, argv[0], NULL, NULL, argv, envp));
	EXPECT_EQ(2, run_to_exit(self->h));
}

PS_TEST(spawn, spawnp_searches_path)
{
	char dir[PATH_MAX], *slash;
	char *argv[] = { (char *)"helper", (char *)"exit", (char *)"33", NULL };
	struct pidshim *h = SENTINEL;

	snprintf(dir, sizeof(dir), "%s", ps_helper());
	slash = strrchr(dir, '/');
	ASSERT_NE(NULL, slash);
	*slash = '\0';
	ASSERT_EQ(0, setenv("PATH", dir, 1));
	ASSERT_EQ(0, pidshim_spawnp(&self->h, "helper", NULL, NULL, argv, NULL));
	EXPECT_EQ(33, run_to_exit(self->h));
	if (!ps_exec_errors_reported())
		SKIP(return, PS_NO_EXEC_ERRORS);
	EXPECT_EQ(-ENOENT,
		  pidshim_spawnp(&h, "pidshim-no-such-program", NULL, NULL, argv, NULL));
	EXPECT_EQ(SENTINEL, h);
	EXPECT_TRUE(ps_no_children());
}

PS_TEST(spawn, invalid_arguments_give_einval)
{
	char *argv[] = { (char *)ps_helper(), (char *)"exit", (char *)"0", NULL };
	struct pidshim *h = SENTINEL;

	EXPECT_EQ(-EINVAL, pidshim_spawn(NULL, argv[0], NULL, NULL, argv, NULL));
	EXPECT_EQ(-EINVAL, pidshim_spawn(&h, NULL, NULL, NULL, argv, NULL));
	EXPECT_EQ(-EINVAL, pidshim_spawn(&h, argv[0], NULL, NULL, NULL, NULL));
	EXPECT_EQ(-EINVAL, pidshim_spawnp(&h, NULL, NULL, NULL, argv, NULL));
	EXPECT_EQ(SENTINEL, h);
	EXPECT_TRUE(ps_no_children());
}

/* The exec error comes back as -errno; no zombie, no fd, *ret untouched. */
PS_TEST(spawn, missing_program_gives_enoent_no_zombie_no_fd)
{
	char *argv[] = { (char *)"/nonexistent/pidshim-helper", NULL };
	struct pidshim *h = SENTINEL;
	struct pidshim_exit ex;
	int before, i;

	if (!ps_exec_errors_reported())
		SKIP(return, PS_NO_EXEC_ERRORS);
	/* Warm up: the library's one-time fds exist before we count. */
	ASSERT_EQ(0, ps_spawn_helper(&self->h, -1, -1, "exit", "0", NULL));
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	pidshim_close(self->h);
	self->h = NULL;
	before = ps_fd_count();
	for (i = 0; i < 20; i++) {
		EXPECT_EQ(-ENOENT, pidshim_spawn(&h, argv[0], NULL, NULL, argv, NULL));
		EXPECT_EQ(SENTINEL, h);
		EXPECT_TRUE(ps_no_children());
	}
	EXPECT_EQ(before, ps_fd_count());
}

PS_TEST(spawn, non_executable_file_gives_eacces)
{
	char path[PATH_MAX];
	char *argv[] = { ps_tmpname(path, sizeof(path), "pidshim-noexec"), NULL };
	struct pidshim *h = SENTINEL;
	int fd;

	if (!ps_exec_errors_reported())
		SKIP(return, PS_NO_EXEC_ERRORS);
	fd = mkostemp(path, O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(3, write(fd, "#!x", 3));
	close(fd);
	ASSERT_EQ(0, chmod(path, 0644));
	EXPECT_EQ(-EACCES, pidshim_spawn(&h, path, NULL, NULL, argv, NULL));
	unlink(path);
	EXPECT_EQ(SENTINEL, h);
	EXPECT_TRUE(ps_no_children());
}

PS_TEST(spawn, honours_attributes_and_file_actions)
{
	char *argv[] = { (char *)ps_helper(), (char *)"pgid", NULL };
	char *echo[] = { (char *)ps_helper(), (char *)"echo", NULL };
	posix_spawnattr_t attr;
	posix_spawn_file_actions_t fa;
	int in[2], out[2];
	char buf[8] = { 0 };

	ASSERT_EQ(0, posix_spawnattr_init(&attr));
	ASSERT_EQ(0, posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP));
	ASSERT_EQ(0, posix_spawnattr_setpgroup(&attr, 0));
	ASSERT_EQ(0, pidshim_spawn(&self->h, argv[0], NULL, &attr, argv, NULL));
	posix_spawnattr_destroy(&attr);
	EXPECT_EQ(0, run_to_exit(self->h));
	pidshim_close(self->h);
	self->h = NULL;

	PS_PIPE(in);
	PS_PIPE(out);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	ASSERT_EQ(0, pidshim_spawn(&self->h, echo[0], &fa, NULL, echo, NULL));
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	ASSERT_EQ(2, write(in[1], "hi", 2));
	close(in[1]);
	for (size_t len = 0; len < 2;) {
		ssize_t got = read(out[0], buf + len, 2 - len);

		ASSERT_LT(0, got);
		len += (size_t)got;
	}
	EXPECT_EQ(0, read(out[0], buf + 2, 1)); /* EOF: the child exited */
	EXPECT_STREQ("hi", buf);
	close(out[0]);
	EXPECT_EQ(0, run_to_exit(self->h));
}

/* Runs "helper sigstate" through pidshim (lib) or posix_spawn and reads it. */
static int sigstate(struct __test_metadata *_metadata, bool lib,
		    const posix_spawnattr_t *attr, char *buf, size_t size)
{
	char *argv[] = { (char *)ps_helper(), (char *)"sigstate", NULL };
	posix_spawn_file_actions_t fa;
	struct pidshim *h = NULL;
	size_t len = 0;
	ssize_t n;
	int out[2], st;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC))
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	if (lib) {
		EXPECT_EQ(0, pidshim_spawn(&h, argv[0], &fa, attr, argv, NULL));
	} else {
		EXPECT_EQ(0, posix_spawn(&pid, argv[0], &fa, attr, argv, NULL));
	}
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	while (len + 1 < size && (n = read(out[0], buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(out[0]);
	if (lib) {
		EXPECT_EQ(0, run_to_exit(h));
		pidshim_close(h);
	} else {
		EXPECT_EQ(pid, waitpid(pid, &st, 0));
	}
	return (int)len;
}

static void compare_sigstate(struct __test_metadata *_metadata,
			     const posix_spawnattr_t *attr, const char *what)
{
	char lib[512], raw[512];

	ASSERT_LT(0, sigstate(_metadata, false, attr, raw, sizeof(raw)));
	ASSERT_LT(0, sigstate(_metadata, true, attr, lib, sizeof(lib)));
	EXPECT_STREQ(raw, lib)
	{
		TH_LOG("%s: posix_spawn child:\n%s# pidshim child:\n%s", what, raw, lib);
	}
}

static void *compare_in_thread(void *arg)
{
	struct __test_metadata *_metadata = arg;

	compare_sigstate(_metadata, NULL, "from a second thread");
	return NULL;
}

/*
 * The child's SigBlk/SigIgn/SigCgt equal those of a plain posix_spawn
 * child with the same attributes: with an odd caller mask and ignored
 * signals, before and after the library is fully running, with
 * POSIX_SPAWN_SETSIGMASK/SETSIGDEF, and from another thread.  SIGCHLD in
 * particular is never blocked in the child by the library.
 */
PS_TEST(spawn, child_sigmask_and_dispositions_match_posix_spawn)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	posix_spawnattr_t attr;
	sigset_t set, mask, def;
	pthread_t t;
	char lib[512];

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	ASSERT_EQ(0, pthread_sigmask(SIG_BLOCK, &set, NULL));
	sigaction(SIGUSR2, &ign, NULL);
	sigaction(SIGPIPE, &ign, NULL);
	compare_sigstate(_metadata, NULL, "first spawn");
	compare_sigstate(_metadata, NULL, "second spawn");

	ASSERT_EQ(0, posix_spawnattr_init(&attr));
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigemptyset(&def);
	sigaddset(&def, SIGUSR2);
	ASSERT_EQ(0, posix_spawnattr_setsigmask(&attr, &mask));
	ASSERT_EQ(0, posix_spawnattr_setsigdefault(&attr, &def));
	ASSERT_EQ(0, posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
							     POSIX_SPAWN_SETSIGDEF));
	compare_sigstate(_metadata, &attr, "SETSIGMASK|SETSIGDEF");
	posix_spawnattr_destroy(&attr);

	ASSERT_EQ(0, pthread_create(&t, NULL, compare_in_thread, _metadata));
	pthread_join(t, NULL);

	/* And with an empty caller mask, SigBlk must be all zero (but for
	 * SIGCHLD, bit 16, where the test blocks it for the SIGCHLD
	 * mechanism: posix_spawn passes that on too). */
	ASSERT_EQ(0, pthread_sigmask(SIG_UNBLOCK, &set, NULL));
	ASSERT_LT(0, sigstate(_metadata, true, NULL, lib, sizeof(lib)));
	EXPECT_NE(NULL, strstr(lib, variant->sigchld ? "SigBlk:\t0000000000010000"
						     : "SigBlk:\t0000000000000000"))
	{
		TH_LOG("child of an unblocked caller has:\n%s", lib);
	}
}

/* Runs of the program's handler in a process other than the program: a
 * child made with CLONE_VM shares this memory, so it counts here too. */
static pid_t handler_owner;
static volatile sig_atomic_t handler_ran_elsewhere, handler_last_sig;

static void counting_handler(int sig)
{
	if ((pid_t)syscall(SYS_getpid) != handler_owner) {
		handler_ran_elsewhere++;
		handler_last_sig = sig;
	}
}

/*
 * Spawns while another process sends the signals in sigs (0-ended) to
 * this test's process group as fast as it can, each caught by the
 * counting handler: most children have one pending when they unblock
 * signals.  (They die of it after their exec, or before it; only where
 * the handler ran counts.)
 */
static void spawn_under_group_signals(struct __test_metadata *_metadata, const int *sigs,
				      bool install)
{
	struct sigaction sa = { .sa_handler = counting_handler, .sa_flags = SA_RESTART };
	char *argv[] = { "/bin/true", NULL };
	int n = ps_scaled(300), st, r;
	pid_t pg, sender;

	ASSERT_EQ(0, setpgid(0, 0)); /* the signals reach this test's group only */
	pg = getpgrp();
	handler_owner = getpid();
	sigemptyset(&sa.sa_mask);
	for (const int *s = sigs; install && *s; s++)
		ASSERT_EQ(0, sigaction(*s, &sa, NULL));
	sender = fork();
	ASSERT_LE(0, sender);
	if (sender == 0) {
		struct timespec pause = { 0, 20 * 1000 };

		for (;;) { /* killed when the test is done */
			for (const int *s = sigs; *s; s++)
				kill(-pg, *s);
			nanosleep(&pause, NULL);
		}
	}
	for (int i = 0; i < n && !handler_ran_elsewhere; i++) {
		struct pidshim_exit ex;
		struct pidshim *h;

		r = pidshim_spawn(&h, argv[0], NULL, NULL, argv, NULL);
		ASSERT_EQ(0, r)
		{
			TH_LOG("spawn %d: %s", i, strerror(-r));
		}
		r = pidshim_wait(h, &ex);
		EXPECT_EQ(0, r)
		{
			TH_LOG("wait %d: %s", i, strerror(-r));
		}
		pidshim_close(h);
	}
	kill(sender, SIGKILL);
	/* Signals sent before the kill may still arrive: no EINTR counts. */
	while ((r = waitpid(sender, &st, 0)) < 0 && errno == EINTR)
		;
	ASSERT_EQ(sender, r);
	EXPECT_EQ(0, handler_ran_elsewhere)
	{
		TH_LOG("the program's handler of signal %d ran in a child",
		       (int)handler_last_sig);
	}
}

/*
 * A child shares the parent's memory until its exec, and runs with every
 * signal blocked until it sets the caller's mask back just before it:
 * a signal sent to the process group meanwhile is delivered at that
 * moment, and must meet SIG_DFL, never the program's handler, which would
 * run in the child on the parent's memory.  Checked for a standard and a
 * real-time signal.
 */
PS_TEST(spawn, no_handler_of_the_program_runs_in_a_child)
{
	int sigs[] = { SIGUSR1, SIGRTMIN + 3, 0 };

	spawn_under_group_signals(_metadata, sigs, true);
}

#if defined(PS_AUDIT_ARCH) && (defined(__x86_64__) || defined(__aarch64__))
/*
 * Where the kernel takes clone3 with CLONE_CLEAR_SIGHAND (Linux 5.5), the
 * library has it reset the child's handlers as it makes the child
 * (clone-spawn.c), on the architectures it has that clone3 for: the
 * child needs no rt_sigaction of its own.  A filter makes every attempt
 * to set SIGUSR1's action fail; a child that had to reset it itself
 * would keep the program's handler and run it.
 */
PS_TEST(spawn, kernel_resets_the_childs_handlers_where_it_can)
{
	struct sock_filter f[] = {
		PS_BPF_OUR_ARCH_THEN_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_rt_sigaction, 0, 6),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, PS_ARG_LO(0)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SIGUSR1, 0, 4),
		/* a new action (a non-NULL second argument): refused */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, args[1]) + 4),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	struct ps_clone_args {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
			stack_size, tls;
	} a = { .flags = 0x100000000ULL /* CLONE_CLEAR_SIGHAND */,
		.exit_signal = SIGCHLD };
	struct sigaction sa = { .sa_handler = counting_handler, .sa_flags = SA_RESTART };
	int sigs[] = { SIGUSR1, 0 }, r, st;
	long pid;

	if (ps_under_valgrind())
		SKIP(return, "valgrind runs no clone3 that shares memory: the library "
			     "takes clone() there");
	/* The kernel's answer, asked apart from the library. */
	pid = syscall(435 /* clone3 */, &a, sizeof(a));
	if (pid == 0)
		_exit(0);
	if (pid < 0 && errno == ENOSYS)
		SKIP(return, "kernel lacks clone3 (Linux 5.3)");
	if (pid < 0 && errno == EINVAL)
		SKIP(return, "kernel lacks clone3's CLONE_CLEAR_SIGHAND (Linux 5.5)");
	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid((pid_t)pid, &st, 0));
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL)); /* before the filter */
	r = ps_install_filter(f, sizeof(f) / sizeof(f[0]));
	if (r == -EINVAL || r == -ENOSYS)
		SKIP(return, "kernel lacks seccomp filters (SECCOMP_SET_MODE_FILTER)");
	ASSERT_EQ(0, r);
	ASSERT_EQ(-1, sigaction(SIGUSR1, &sa, NULL)); /* the filter holds */
	ASSERT_EQ(EPERM, errno);
	spawn_under_group_signals(_metadata, sigs, false);
}
#endif

/* The calling thread's mask is the caller's business: never changed. */
PS_TEST(spawn, caller_sigmask_unchanged_by_library)
{
	sigset_t before, after;
	struct pidshim_exit ex;

	ASSERT_EQ(0, pthread_sigmask(SIG_SETMASK, NULL, &before));
	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 0));
	EXPECT_EQ(-EAGAIN, pidshim_try_wait(self->h, &ex));
	ps_close(&self->release);
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	ASSERT_EQ(0, pthread_sigmask(SIG_SETMASK, NULL, &after));
	for (int s = 1; s < _NSIG; s++) {
		EXPECT_EQ(sigismember(&before, s), sigismember(&after, s))
		{
			TH_LOG("signal %d changed in the caller's mask", s);
		}
	}
	/* Blocked only where the test itself blocked it (the SIGCHLD
	 * mechanism's variant): never by the library. */
	EXPECT_EQ(variant->sigchld, sigismember(&after, SIGCHLD));
}

/*
 * pidshim.h: -EAGAIN when the process limit is hit, with nothing left
 * behind.  RLIMIT_NPROC 0 stops every fork of a user without
 * CAP_SYS_RESOURCE; root first becomes nobody.
 */
PS_TEST(spawn, process_limit_gives_eagain)
{
	struct rlimit zero = { 0, 0 };
	struct pidshim *h = SENTINEL;
	int r;

	if (geteuid() == 0) {
		ASSERT_EQ(0, setresgid(65534, 65534, 65534));
		ASSERT_EQ(0, setresuid(65534, 65534, 65534));
	}
	ASSERT_EQ(0, setrlimit(RLIMIT_NPROC, &zero));
	r = ps_spawn_helper(&h, -1, -1, "exit", "0", NULL);
	EXPECT_EQ(-EAGAIN, r);
	EXPECT_EQ(SENTINEL, h);
	EXPECT_TRUE(ps_no_children());
}

/*
 * No fd free for the handle: spawn fails with -EMFILE/-ENFILE, and if the
 * child had started it was killed and reaped; afterwards spawn works.
 */
PS_TEST(spawn, fd_exhaustion_fails_cleanly_leaving_nothing)
{
	struct pidshim *h = SENTINEL;
	struct pidshim_exit ex;
	struct rlimit saved, rl;
	static int held[256];
	int n = 0, fd, r;

	/* Warm up the library first (its one-time fds). */
	ASSERT_EQ(0, ps_spawn_helper(&self->h, -1, -1, "exit", "0", NULL));
	ASSERT_EQ(0, pidshim_wait(self->h, &ex));
	pidshim_close(self->h);
	self->h = NULL;

	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &saved));
	rl = saved;
	rl.rlim_cur = 64;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	while (n < 256 && (fd = fcntl(0, F_DUPFD_CLOEXEC, 0)) >= 0)
		held[n++] = fd;
	r = ps_spawn_helper(&h, -1, -1, "wait", "0", NULL);
	while (n > 0)
		close(held[--n]);
	setrlimit(RLIMIT_NOFILE, &saved);
	EXPECT_TRUE(r == -EMFILE || r == -ENFILE)
	{
		TH_LOG("spawn with no free fd returned %d", r);
	}
	EXPECT_EQ(SENTINEL, h);
	EXPECT_TRUE(ps_no_children())
	{
		TH_LOG("a child (%d, state %c) was left behind", (int)ps_zombie_child(),
		       ps_proc_state(ps_zombie_child()));
	}
	ASSERT_EQ(0, ps_spawn_helper(&self->h, -1, -1, "exit", "4", NULL));
	EXPECT_EQ(4, run_to_exit(self->h));
}

PS_MAIN
