// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * probe.c - selftests of the probe (pidshim(7), THE PROBE) and the backend API.
 *
 * The library's backend choice is checked against an independent raw probe
 * of the kernel (pstest.h) and, when the personality runner sets
 * PIDSHIM_EXPECT_BACKEND, against what the runner expects.  Seccomp
 * filters installed by the tests themselves make pidfd_open fail with each
 * error the contract calls "missing" (ENOSYS, EPERM, EACCES, a SIGSYS trap)
 * and waitid(P_PIDFD) fail with EINVAL, and check that the probe falls back
 * without crashing and that the fallback works.  EMFILE during the probe
 * must come back as an error that is not cached.
 */

#include "psbpf.h"

#ifndef __NR_clone3
#define __NR_clone3 435
#endif

static int backend_value(const char *name)
{
	if (!strcmp(name, "pidfd"))
		return PIDSHIM_BACKEND_PIDFD;
	if (!strcmp(name, "pidfd-poll"))
		return PIDSHIM_BACKEND_PIDFD_POLL;
	if (!strcmp(name, "signalfd"))
		return PIDSHIM_BACKEND_SIGNALFD;
	return -1;
}

/* What the unforced probe must choose here: the runner's word, else ours. */
static int expected_backend(struct __test_metadata *_metadata)
{
	const char *e = getenv("PIDSHIM_EXPECT_BACKEND");
	struct ps_kernel k = ps_probe_kernel();
	int want;

	if (!e || !*e)
		return ps_kernel_best(&k);
	want = backend_value(e);
	EXPECT_NE(-1, want)
	{
		TH_LOG("PIDSHIM_EXPECT_BACKEND=%s is no backend name", e);
	}
	EXPECT_EQ(want, ps_kernel_best(&k))
	{
		TH_LOG("runner expects %s but the raw probe finds the kernel serves %s",
		       e, pidshim_backend_name(ps_kernel_best(&k)));
	}
	return want;
}

/* Spawns "helper exit 7" and checks the whole round trip on the backend. */
static void check_backend_works(struct __test_metadata *_metadata)
{
	struct pidshim_exit ex;
	struct pidshim *h = NULL;

	ASSERT_EQ(0, ps_spawn_helper(&h, -1, -1, "exit", "7", NULL));
	EXPECT_EQ(0, pidshim_send_signal(h, 0));
	ASSERT_EQ(0, pidshim_wait(h, &ex));
	EXPECT_EQ(CLD_EXITED, ex.info.si_code);
	EXPECT_EQ(7, ex.info.si_status);
	EXPECT_EQ(pidshim_pid(h), ex.info.si_pid);
	pidshim_close(h);
}

TEST(backend_name_values)
{
	EXPECT_STREQ("pidfd", pidshim_backend_name(PIDSHIM_BACKEND_PIDFD));
	EXPECT_STREQ("pidfd-poll", pidshim_backend_name(PIDSHIM_BACKEND_PIDFD_POLL));
	EXPECT_STREQ("signalfd", pidshim_backend_name(PIDSHIM_BACKEND_SIGNALFD));
	EXPECT_NULL(pidshim_backend_name(0));
	EXPECT_NULL(pidshim_backend_name(4));
	EXPECT_NULL(pidshim_backend_name(-1));
	EXPECT_NULL(pidshim_backend_name(-ENOSYS));
	EXPECT_NULL(pidshim_backend_name(INT_MAX));
	EXPECT_NULL(pidshim_backend_name(INT_MIN));
}

/*
 * PIDSHIM_EXPECT_BACKEND (set by the personality runner) or, without it,
 * the raw probe says which backend this environment must get unforced.
 */
TEST(unforced_choice_matches_expected_backend)
{
	int want, b;

	ASSERT_EQ(0, unsetenv("PIDSHIM_BACKEND"));
	b = pidshim_backend();
	want = expected_backend(_metadata);
	ASSERT_EQ(want, b)
	{
		TH_LOG("library chose %s, expected %s",
		       pidshim_backend_name(b) ?: "an error", pidshim_backend_name(want));
	}
	EXPECT_EQ(b, pidshim_backend());
	check_backend_works(_metadata);
}

TEST(unknown_forced_name_gives_einval_cached)
{
	struct pidshim *h = NULL;

	ASSERT_EQ(0, setenv("PIDSHIM_BACKEND", "pidfd-nonsense", 1));
	EXPECT_EQ(-EINVAL, pidshim_backend());
	ASSERT_EQ(0, unsetenv("PIDSHIM_BACKEND"));
	EXPECT_EQ(-EINVAL, pidshim_backend());
	EXPECT_GT(0, pidshim_open(getpid(), 0, &h));
	EXPECT_NULL(h);
	EXPECT_TRUE(ps_no_children());
}

/* The environment is read once: changing it later changes nothing. */
TEST(forced_name_is_read_once)
{
	int first;

	ASSERT_EQ(0, setenv("PIDSHIM_BACKEND", "signalfd", 1));
	first = pidshim_backend();
	ASSERT_EQ(PIDSHIM_BACKEND_SIGNALFD, first);
	ASSERT_EQ(0, setenv("PIDSHIM_BACKEND", "pidfd", 1));
	EXPECT_EQ(first, pidshim_backend());
	ASSERT_EQ(0, unsetenv("PIDSHIM_BACKEND"));
	EXPECT_EQ(first, pidshim_backend());
}

#define NTHREADS 16

struct race {
	pthread_barrier_t barrier;
};

static void *race_thread(void *arg)
{
	struct race *r = arg;

	pthread_barrier_wait(&r->barrier);
	return (void *)(intptr_t)pidshim_backend();
}

/*
 * Runs the first pidshim_backend() calls of a fresh process in 16 threads
 * at once, for each forced name and unforced: every thread must see the
 * same value, the one the kernel allows.  Each round is a forked child, so
 * each starts with an empty cache.
 */
TEST(concurrent_first_calls_agree)
{
	static const char *const names[] = { "pidfd", "pidfd-poll", "signalfd", NULL };
	struct ps_kernel k = ps_probe_kernel();
	int round;

	for (round = 0; round < 4; round++) {
		const char *name = names[round < 3 ? round : 3];
		int fds[2], want, got = 0, status;
		pid_t pid;

		if (name)
			want = ps_kernel_serves(&k, backend_value(name))
				       ? backend_value(name)
				       : -ENOSYS;
		else
			want = expected_backend(_metadata);
		ASSERT_EQ(0, pipe2(fds, O_CLOEXEC));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			pthread_t t[NTHREADS];
			struct race r;
			void *ret;
			int i, agree = 1, v = 0;

			if (name)
				setenv("PIDSHIM_BACKEND", name, 1);
			else
				unsetenv("PIDSHIM_BACKEND");
			pthread_barrier_init(&r.barrier, NULL, NTHREADS);
			for (i = 0; i < NTHREADS; i++)
				if (pthread_create(&t[i], NULL, race_thread, &r))
					ps_child_exit(2);
			for (i = 0; i < NTHREADS; i++) {
				pthread_join(t[i], &ret);
				if (i == 0)
					v = (int)(intptr_t)ret;
				else if (v != (int)(intptr_t)ret)
					agree = 0;
			}
			if (pidshim_backend() != v)
				agree = 0;
			if (write(fds[1], &v, sizeof(v)) != sizeof(v))
				ps_child_exit(3);
			ps_child_exit(agree ? 0 : 1);
		}
		close(fds[1]);
		EXPECT_EQ((ssize_t)sizeof(got), read(fds[0], &got, sizeof(got)));
		close(fds[0]);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		{
			TH_LOG("%s: threads disagreed (status 0x%x)", name ?: "unforced",
			       status);
		}
		EXPECT_EQ(want, got)
		{
			TH_LOG("%s: got %d, want %d", name ?: "unforced", got, want);
		}
	}
}

/* Fills every free fd slot below a lowered RLIMIT_NOFILE; returns the count. */
static int exhaust_fds(int *held, int max, struct rlimit *saved)
{
	struct rlimit rl;
	int n = 0, fd;

	getrlimit(RLIMIT_NOFILE, saved);
	rl = *saved;
	rl.rlim_cur = 64;
	setrlimit(RLIMIT_NOFILE, &rl);
	while (n < max && (fd = fcntl(0, F_DUPFD_CLOEXEC, 0)) >= 0)
		held[n++] = fd;
	return n;
}

static void release_fds(int *held, int n, const struct rlimit *saved)
{
	while (n > 0)
		close(held[--n]);
	setrlimit(RLIMIT_NOFILE, saved);
}

/*
 * EMFILE/ENFILE are transient: the probe reports them and probes again on
 * the next call.  Checked unforced and for each forced name, each in a
 * fresh forked process.
 */
TEST(emfile_while_probing_is_reported_not_cached)
{
	static const char *const names[] = { NULL, "pidfd", "pidfd-poll", "signalfd" };
	struct ps_kernel k = ps_probe_kernel();
	int round, unforced = expected_backend(_metadata);

	for (round = 0; round < 4; round++) {
		const char *name = names[round];
		int want = !name ? unforced
			   : ps_kernel_serves(&k, backend_value(name))
				   ? backend_value(name)
				   : -ENOSYS;
		int res[2] = { 0, 0 }, fds[2], status;
		pid_t pid;

		ASSERT_EQ(0, pipe2(fds, O_CLOEXEC));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			static int held[128];
			struct rlimit saved;
			int n;

			if (name)
				setenv("PIDSHIM_BACKEND", name, 1);
			else
				unsetenv("PIDSHIM_BACKEND");
			n = exhaust_fds(held, 128, &saved);
			res[0] = pidshim_backend();
			release_fds(held, n, &saved);
			res[1] = pidshim_backend();
			if (write(fds[1], res, sizeof(res)) != sizeof(res))
				ps_child_exit(3);
			ps_child_exit(0);
		}
		close(fds[1]);
		EXPECT_EQ((ssize_t)sizeof(res), read(fds[0], res, sizeof(res)));
		close(fds[0]);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_EQ(0, status);
		/*
		 * With no fd free the probe cannot tell "missing" from
		 * "present".  Only where the answer needs no fd at all (the
		 * kernel lacks pidfd_open, so signalfd is certain, or the
		 * forced backend is known missing) may it answer already.
		 */
		if (res[0] != -EMFILE && res[0] != -ENFILE) {
			EXPECT_TRUE(want == PIDSHIM_BACKEND_SIGNALFD || want == -ENOSYS)
			{
				TH_LOG("%s: fds exhausted, probe said %d (want "
				       "-EMFILE/-ENFILE)",
				       name ?: "unforced", res[0]);
			}
			EXPECT_EQ(want, res[0]);
		}
		EXPECT_EQ(want, res[1])
		{
			TH_LOG("%s: after freeing fds got %d, want %d (EMFILE cached?)",
			       name ?: "unforced", res[1], want);
		}
	}
}

/* ---- seccomp: what "missing" looks like in containers ------------------- */

#ifdef PS_AUDIT_ARCH
/*
 * Installs a filter: pidfd_open and pidfd_send_signal answer open_action
 * (0: allowed), clone3 ENOSYS (as Docker, so glibc falls back to clone),
 * waitid(P_PIDFD, ...) answers -waitid_errno (0: allowed).
 */
static int install_filter(unsigned int open_action, int waitid_errno)
{
	struct sock_filter f[] = {
		PS_BPF_OUR_ARCH_THEN_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pidfd_open, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, open_action ? open_action : SECCOMP_RET_ALLOW),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pidfd_send_signal, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, open_action ? open_action : SECCOMP_RET_ALLOW),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_waitid, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, PS_ARG_LO(0)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, P_PIDFD, 0, 1),
		BPF_STMT(BPF_RET | BPF_K,
			 waitid_errno ? SECCOMP_RET_ERRNO | (unsigned int)waitid_errno
				      : SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};

	return ps_install_filter(f, sizeof(f) / sizeof(f[0]));
}

static void filtered_probe(struct __test_metadata *_metadata, unsigned int open_action,
			   int waitid_errno, int want_if_open_works)
{
	struct ps_kernel before = ps_probe_kernel(), after;
	int r, want;

	ASSERT_EQ(0, unsetenv("PIDSHIM_BACKEND"));
	r = install_filter(open_action, waitid_errno);
	if (r == -EINVAL || r == -ENOSYS)
		SKIP(return, "kernel lacks seccomp filters (SECCOMP_SET_MODE_FILTER)%s",
			   ps_under_valgrind() ? ": valgrind does not emulate them" : "");
	ASSERT_EQ(0, r);
	after = ps_probe_kernel();
	/* The filter worked as meant, and can only remove features. */
	if (open_action) {
		ASSERT_FALSE(after.pidfd_open);
	}
	if (waitid_errno) {
		ASSERT_FALSE(after.waitid_pidfd);
	}
	/* What the filter leaves, unless the kernel lacked it already. */
	want = want_if_open_works;
	if (!ps_kernel_serves(&before, want))
		want = PIDSHIM_BACKEND_SIGNALFD;
	ASSERT_EQ(want, ps_kernel_best(&after));
	ASSERT_EQ(want, pidshim_backend())
	{
		TH_LOG("probe under the filter chose %d", pidshim_backend());
	}
	check_backend_works(_metadata);
}

TEST(pidfd_open_enosys_selects_signalfd)
{
	filtered_probe(_metadata, SECCOMP_RET_ERRNO | ENOSYS, 0,
		       PIDSHIM_BACKEND_SIGNALFD);
}

TEST(pidfd_open_eperm_selects_signalfd)
{
	filtered_probe(_metadata, SECCOMP_RET_ERRNO | EPERM, 0, PIDSHIM_BACKEND_SIGNALFD);
}

TEST(pidfd_open_eacces_selects_signalfd)
{
	filtered_probe(_metadata, SECCOMP_RET_ERRNO | EACCES, 0,
		       PIDSHIM_BACKEND_SIGNALFD);
}

/* Android: a trap, not an error.  The process must survive the probe. */
TEST(pidfd_open_sigsys_selects_signalfd_without_dying)
{
	filtered_probe(_metadata, SECCOMP_RET_TRAP, 0, PIDSHIM_BACKEND_SIGNALFD);
}

static volatile sig_atomic_t app_sigsys;

static void on_app_sigsys(int sig)
{
	(void)sig;
	app_sigsys++;
}

/*
 * The same trap while the program has its own SIGSYS handler and blocks
 * SIGSYS in the probing thread (a blocked forced signal would kill): the
 * process survives, and its handler and mask are as before.
 */
TEST(pidfd_open_sigsys_leaves_app_handler_and_mask_alone)
{
	struct sigaction sa = { .sa_handler = on_app_sigsys }, now;
	sigset_t sys, mask;

	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	ASSERT_EQ(0, sigaction(SIGSYS, &sa, NULL));
	ASSERT_EQ(0, pthread_sigmask(SIG_BLOCK, &sys, NULL));
	filtered_probe(_metadata, SECCOMP_RET_TRAP, 0, PIDSHIM_BACKEND_SIGNALFD);
	ASSERT_EQ(0, sigaction(SIGSYS, NULL, &now));
	EXPECT_EQ((void *)on_app_sigsys, (void *)now.sa_handler);
	ASSERT_EQ(0, pthread_sigmask(SIG_SETMASK, NULL, &mask));
	EXPECT_TRUE(sigismember(&mask, SIGSYS));
}

/* Linux 5.3: pidfd_open exists, waitid(P_PIDFD) is an unknown idtype. */
TEST(waitid_pidfd_einval_selects_pidfd_poll)
{
	filtered_probe(_metadata, 0, EINVAL, PIDSHIM_BACKEND_PIDFD_POLL);
}
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif

/*
 * qemu-user (Go's pitfall): pidfd_open and waitid(P_PIDFD) work, but
 * clone3 is ENOSYS and clone(CLONE_PIDFD) EINVAL.  A library that spawns
 * with CLONE_PIDFD without probing it would fail here; the backend the
 * raw probe finds must be chosen and must work.
 */
TEST(clone_pidfd_missing_keeps_backend_working)
{
	struct sock_filter f[] = {
		PS_BPF_OUR_ARCH_THEN_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, PS_ARG_LO(0)),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_PIDFD, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct ps_kernel k;
	int r;

	ASSERT_EQ(0, unsetenv("PIDSHIM_BACKEND"));
	r = ps_install_filter(f, sizeof(f) / sizeof(f[0]));
	if (r == -EINVAL || r == -ENOSYS)
		SKIP(return, "kernel lacks seccomp filters (SECCOMP_SET_MODE_FILTER)%s",
			   ps_under_valgrind() ? ": valgrind does not emulate them" : "");
	ASSERT_EQ(0, r);
	k = ps_probe_kernel();
	EXPECT_EQ(ps_kernel_best(&k), pidshim_backend());
	check_backend_works(_metadata);
}
#endif /* PS_AUDIT_ARCH */

/* ---- forced backends ---------------------------------------------------- */

FIXTURE(probe)
{
	int unused;
};
PS_BACKEND_VARIANTS(probe);

FIXTURE_SETUP(probe)
{
	if (ps_setup_backend(_metadata, PS_VARIANT))
		return;
}

FIXTURE_TEARDOWN(probe)
{
}

/* The forced backend is reported, cached, named, and actually works. */
PS_TEST(probe, forced_backend_is_reported_and_works)
{
	EXPECT_EQ(variant->expect, pidshim_backend());
	EXPECT_STREQ(variant->backend, pidshim_backend_name(pidshim_backend()));
	check_backend_works(_metadata);
}

PS_MAIN
