// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * hostile.c - selftests of "Coexistence with a hostile program": the
 * library lives inside programs it does not control, and its one promise
 * (a handle is never confused with another process: never a made-up
 * status, never a stranger signalled or reaped) must hold there too.
 *
 * Each test plays one thing real programs do: reap children in a SIGCHLD
 * handler or ignore SIGCHLD, let the PID of a reaped child be reused (in a
 * private pid namespace, through ns_last_pid), cancel a thread inside a
 * library call, fork with handles and sets open, open two handles on one
 * process, wait on one handle from two threads, open a thread id.
 */
#include <sched.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/mount.h>

#include "pstest.h"

FIXTURE(hostile)
{
	int release;
	struct pidshim *h;
};
PS_BACKEND_VARIANTS(hostile);

FIXTURE_SETUP(hostile)
{
	self->release = -1;
	self->h = NULL;
	if (ps_setup_backend(_metadata, PS_VARIANT))
		return;
}

static void remove_reaper(void);

FIXTURE_TEARDOWN(hostile)
{
	ps_close(&self->release);
	pidshim_close(self->h);
	remove_reaper();
	ps_library_settle();
}

/* ---- a private pid namespace -------------------------------------------- */

/*
 * Inside the namespace the kselftest assertions cannot be used (they act on
 * the test's own process); failures are counted and printed instead, and
 * the namespace's init exits with their number.
 */
static int ns_fails;
#define NS_EXPECT(cond, ...)                                                         \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "# %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                \
			fputc('\n', stderr);                                         \
			ns_fails++;                                                  \
		}                                                                    \
	} while (0)

/* A process on pid that exits with code at once, or (release != NULL)
 * when *release is closed.  Returns its pid (check it!) or -1.  The
 * kernel frees a reaped child's number a moment after kill() stops
 * finding it: a process that got another pid is discarded and the
 * attempt repeated. */
static pid_t fork_at(pid_t pid, int code, int *release)
{
	/* Bounded in time, not in tries: on a loaded machine the number
	 * comes free late, and the library's own threads take numbers too. */
	int64_t end = ps_now_ms() + 1000 * ps_slow();

	while (ps_now_ms() < end) {
		int p[2] = { -1, -1 }, st;
		pid_t r;
		char c;

		if (release && pipe2(p, O_CLOEXEC))
			return -1;
		if (ps_set_next_pid(pid) < 0)
			return -1;
		r = fork();
		if (r == 0) {
			if (release) {
				ps_close_fds_except(p[0], -1);
				while (read(p[0], &c, 1) < 0 && errno == EINTR)
					;
			}
			ps_child_exit(code);
		}
		if (release)
			close(p[0]);
		if (r == pid || r < 0) {
			if (release)
				*release = p[1];
			return r;
		}
		kill(r, SIGKILL);
		waitpid(r, &st, 0);
		if (release)
			close(p[1]);
		ps_sleep_ms(2);
	}
	return -1;
}

/*
 * A child of the program that lives through the whole scenario.  Without
 * one, a library that waits for "any child" would learn of a lost child
 * only because none is left (ECHILD), which real programs, with children
 * of their own, never offer.
 */
static void bystander(void)
{
	int rel;

	if (ps_fork_blocker(&rel, 0) < 0)
		abort();
	/* rel stays open: the bystander lives until the namespace ends. */
}

/* Waits up to 2 s until pid no longer exists (reaped). */
static bool gone(pid_t pid)
{
	for (int i = 0; i < 400 * ps_slow(); i++) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return true;
		ps_sleep_ms(5);
	}
	return false;
}

static const char *describe(int r, const struct pidshim_exit *ex)
{
	static char buf[96];

	if (r < 0)
		snprintf(buf, sizeof(buf), "%d (%s)", r, strerror(-r));
	else
		snprintf(buf, sizeof(buf), "0 with si_pid %d si_code %d si_status %d",
			 (int)ex->info.si_pid, ex->info.si_code, ex->info.si_status);
	return buf;
}

/* The newcomer on pid: exited with 7, and the library did not reap it. */
static void expect_newcomer_left_alone(pid_t d)
{
	int st = -1;
	pid_t r = waitpid(d, &st, WNOHANG);

	NS_EXPECT(r == d && WIFEXITED(st) && WEXITSTATUS(st) == 7,
		  "the program's waitpid(%d) gave %d (%s), status 0x%x: the library "
		  "reaped or reported the newcomer",
		  (int)d, (int)r, r < 0 ? strerror(errno) : "-", st);
}

/* h's process was reaped by other code and d took its PID: h waits out
 * with -ECHILD, signals nobody, and d stays the program's. */
static void expect_stale_handle_leaves_newcomer(struct pidshim *h, pid_t d)
{
	struct pidshim_exit ex;
	int r;

	memset(&ex, 0, sizeof(ex));
	r = pidshim_wait_timeout(h, 1000, &ex);
	NS_EXPECT(r == -ECHILD, "wait_timeout on the stale handle: %s", describe(r, &ex));
	NS_EXPECT((r = pidshim_send_signal(h, SIGTERM)) == -ESRCH, "send_signal: %d", r);
	expect_newcomer_left_alone(d);
}

/*
 * SIGCHLD ignored: the kernel reaps a spawned child at once, and a new
 * child D takes its PID and exits 7.  The stale handle gives -ECHILD, never
 * D's status, and the program's own waitpid(D) gets D's status.
 */
static int ns_sig_ign_spawned(void)
{
	struct pidshim_exit ex;
	struct pidshim *h;
	int rel = -1, r;
	pid_t pid, d;

	bystander();
	NS_EXPECT(0 == (r = ps_spawn_blocker(&h, &rel, 5)), "spawn: %d", r);
	if (r)
		return 1;
	pid = pidshim_pid(h);
	signal(SIGCHLD, SIG_IGN);
	close(rel);
	NS_EXPECT(gone(pid), "child %d not auto-reaped", (int)pid);
	signal(SIGCHLD, SIG_DFL);
	d = fork_at(pid, 7, NULL);
	NS_EXPECT(d == pid, "newcomer got pid %d, not %d", (int)d, (int)pid);
	NS_EXPECT(ps_wait_zombie(d, 2000 * ps_slow()), "newcomer no zombie");
	ps_sleep_ms(150); /* room for anything in the background to go wrong */
	memset(&ex, 0, sizeof(ex));
	r = pidshim_wait_timeout(h, 1000, &ex);
	NS_EXPECT(r == -ECHILD, "wait_timeout on the stale handle: %s", describe(r, &ex));
	NS_EXPECT((r = pidshim_send_signal(h, 0)) == -ESRCH, "send_signal(0): %d", r);
	expect_newcomer_left_alone(d);
	pidshim_close(h);
	return ns_fails;
}

PS_TEST(hostile, sig_ign_reaped_spawned_child_and_reused_pid_gives_echild)
{
	PS_RUN_IN_PIDNS(ns_sig_ign_spawned);
}

/* The program reaps a child it opened with pidshim_open(pid, 0) itself;
 * D takes the PID and exits 7. */
static int ns_program_reaped_opened(void)
{
	struct pidshim *h = NULL;
	int rel = -1, r, st;
	pid_t pid, d;

	bystander();
	pid = ps_fork_blocker(&rel, 5);
	NS_EXPECT(pid > 0, "fork");
	NS_EXPECT(0 == (r = pidshim_open(pid, 0, &h)), "open: %d", r);
	if (r)
		return 1;
	close(rel);
	NS_EXPECT(waitpid(pid, &st, 0) == pid && WEXITSTATUS(st) == 5, "own reap");
	d = fork_at(pid, 7, NULL);
	NS_EXPECT(d == pid, "newcomer got pid %d, not %d", (int)d, (int)pid);
	NS_EXPECT(ps_wait_zombie(d, 2000 * ps_slow()), "newcomer no zombie");
	ps_sleep_ms(150);
	expect_stale_handle_leaves_newcomer(h, d);
	pidshim_close(h);
	return ns_fails;
}

PS_TEST(hostile, program_reaped_opened_child_and_reused_pid_gives_echild)
{
	PS_RUN_IN_PIDNS(ns_program_reaped_opened);
}

/*
 * A child the program forked, opened (never the library's to reap) and put
 * in a new set; the program reaps it itself and a newcomer takes its PID
 * (exits 7 at once, or, with drel, when *drel is closed).  Returns the
 * newcomer's pid, or -1 (the scenario could not be set up).
 */
static pid_t opened_member_reaped_then_reused(struct pidshim **h, struct pidshim_set **s,
					      int *drel)
{
	int rel = -1, r, st;
	pid_t pid, d;

	bystander();
	pid = ps_fork_blocker(&rel, 5);
	NS_EXPECT(0 == (r = pidshim_open(pid, 0, h)), "open: %d", r);
	NS_EXPECT(0 == pidshim_set_new(s), "set_new");
	if (r || !*s)
		return -1;
	NS_EXPECT(0 == pidshim_set_add(*s, *h), "set_add");
	close(rel);
	NS_EXPECT(waitpid(pid, &st, 0) == pid, "own reap");
	d = fork_at(pid, 7, drel);
	NS_EXPECT(d == pid, "newcomer got pid %d, not %d", (int)d, (int)pid);
	return d;
}

/* Same, try_wait and a set: neither reports the newcomer. */
static int ns_program_reaped_try_wait_and_set(void)
{
	struct pidshim_exit ex;
	struct pidshim_set *s = NULL;
	struct pidshim *h = NULL, *ready = NULL;
	pid_t d = opened_member_reaped_then_reused(&h, &s, NULL);
	int r;

	if (d < 0)
		return 1;
	NS_EXPECT(ps_wait_zombie(d, 2000 * ps_slow()), "newcomer no zombie");
	ps_sleep_ms(150);
	/* The set may report the member (its process ended), once. */
	r = pidshim_set_wait(s, 1200, &ready);
	NS_EXPECT(r == 0 || r == -ECHILD, "set_wait: %d", r);
	memset(&ex, 0, sizeof(ex));
	r = pidshim_try_wait(h, &ex);
	NS_EXPECT(r == -ECHILD, "try_wait on the stale handle: %s", describe(r, &ex));
	r = pidshim_set_wait(s, 100, &ready);
	NS_EXPECT(r == -ECHILD, "set_wait after the member ended: %d", r);
	expect_newcomer_left_alone(d);
	pidshim_set_free(s);
	pidshim_close(h);
	return ns_fails;
}

PS_TEST(hostile, reused_pid_is_never_reported_by_try_wait_or_a_set)
{
	PS_RUN_IN_PIDNS(ns_program_reaped_try_wait_and_set);
}

/*
 * A member of a set (a child the program forked and opened) whose process
 * the program reaps itself, and a new child that keeps running takes its
 * PID: set_wait still reports the member within a second (then try_wait
 * gives -ECHILD), and the newcomer is left alone.  Under the SIGCHLD
 * mechanism no thread runs: only the look at the signal that named the PID
 * can find that the process behind it is no longer the member's, and it
 * must prove the PID before it trusts waitid's "running".
 */
static int ns_member_reaped_running_newcomer(void)
{
	struct pidshim_exit ex;
	struct pidshim_set *s = NULL;
	struct pidshim *h = NULL, *ready = NULL;
	int drel = -1, r, st;
	pid_t d = opened_member_reaped_then_reused(&h, &s, &drel);
	int64_t t0, dt;

	if (d < 0)
		return 1;
	t0 = ps_now_ms();
	r = pidshim_set_wait(s, 1500 * ps_slow(), &ready);
	dt = ps_now_ms() - t0;
	NS_EXPECT(r == 0 && ready == h, "set_wait: %d after %lld ms", r, (long long)dt);
	NS_EXPECT(dt <= 1000 * ps_slow() + 100, "took %lld ms", (long long)dt);
	memset(&ex, 0, sizeof(ex));
	r = pidshim_try_wait(h, &ex);
	NS_EXPECT(r == -ECHILD, "try_wait on the stale member: %s", describe(r, &ex));
	close(drel);
	NS_EXPECT(waitpid(d, &st, 0) == d && WIFEXITED(st) && WEXITSTATUS(st) == 7,
		  "newcomer status 0x%x: signalled or reaped by the library?", st);
	pidshim_set_free(s);
	pidshim_close(h);
	return ns_fails;
}

PS_TEST(hostile, set_reports_a_member_other_code_reaped_while_a_newcomer_runs)
{
	PS_RUN_IN_PIDNS(ns_member_reaped_running_newcomer);
}

/*
 * A spawned handle closed while its child runs: the library owns the
 * child.  SIGCHLD is then ignored, the kernel reaps the child, D takes
 * the PID and exits 7: the library must not reap D.
 */
static int ns_orphan_autoreaped(void)
{
	struct pidshim *h;
	int rel = -1, r;
	pid_t pid, d;

	bystander();
	NS_EXPECT(0 == (r = ps_spawn_blocker(&h, &rel, 5)), "spawn: %d", r);
	if (r)
		return 1;
	pid = pidshim_pid(h);
	pidshim_close(h);
	signal(SIGCHLD, SIG_IGN);
	close(rel);
	NS_EXPECT(gone(pid), "child %d not auto-reaped", (int)pid);
	signal(SIGCHLD, SIG_DFL);
	d = fork_at(pid, 7, NULL);
	NS_EXPECT(d == pid, "newcomer got pid %d, not %d", (int)d, (int)pid);
	NS_EXPECT(ps_wait_zombie(d, 2000 * ps_slow()), "newcomer no zombie");
	ps_sleep_ms(400); /* the library's background reaping had its chance */
	expect_newcomer_left_alone(d);
	return ns_fails;
}

PS_TEST(hostile, closed_handle_of_auto_reaped_child_never_reaps_the_newcomer)
{
	PS_RUN_IN_PIDNS(ns_orphan_autoreaped);
}

/*
 * The program reaps a child it opened; a new child that keeps running
 * takes the PID.  A timed wait on the stale handle ends with -ECHILD
 * within a second, without burning CPU, and never signals the newcomer.
 */
static int ns_running_newcomer(void)
{
	struct pidshim_exit ex;
	struct pidshim *h = NULL;
	int rel = -1, drel = -1, r, st;
	int64_t t0, cpu0, dt, cpu;
	pid_t pid, d;

	bystander();
	pid = ps_fork_blocker(&rel, 5);
	NS_EXPECT(0 == (r = pidshim_open(pid, 0, &h)), "open: %d", r);
	if (r)
		return 1;
	close(rel);
	ps_sleep_ms(50); /* the library may see the zombie before the program reaps */
	NS_EXPECT(waitpid(pid, &st, 0) == pid, "own reap");
	d = fork_at(pid, 7, &drel);
	NS_EXPECT(d == pid, "newcomer got pid %d, not %d", (int)d, (int)pid);
	t0 = ps_now_ms();
	cpu0 = ps_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	memset(&ex, 0, sizeof(ex));
	r = pidshim_wait_timeout(h, 1500 * ps_slow(), &ex);
	dt = ps_now_ms() - t0;
	cpu = (ps_clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / 1000000;
	NS_EXPECT(r == -ECHILD, "wait_timeout on the stale handle: %s", describe(r, &ex));
	NS_EXPECT(dt <= 1000 * ps_slow() + 100, "took %lld ms", (long long)dt);
	NS_EXPECT(cpu <= 150 * ps_slow(), "burned %lld ms of CPU", (long long)cpu);
	NS_EXPECT((r = pidshim_send_signal(h, SIGTERM)) == -ESRCH, "send_signal: %d", r);
	r = pidshim_try_wait(h, &ex);
	NS_EXPECT(r == -ECHILD, "try_wait: %d", r);
	close(drel);
	NS_EXPECT(waitpid(d, &st, 0) == d && WIFEXITED(st) && WEXITSTATUS(st) == 7,
		  "newcomer status 0x%x: signalled?", st);
	pidshim_close(h);
	return ns_fails;
}

PS_TEST(hostile, stale_handle_of_running_newcomer_waits_out_with_echild)
{
	PS_RUN_IN_PIDNS(ns_running_newcomer);
}

/* The same with a spawned child that SIGCHLD=SIG_IGN auto-reaped. */
static int ns_running_newcomer_spawned(void)
{
	struct pidshim_exit ex;
	struct pidshim *h = NULL;
	int rel = -1, drel = -1, r, st;
	int64_t t0, dt;
	pid_t pid, d;

	bystander();
	NS_EXPECT(0 == (r = ps_spawn_blocker(&h, &rel, 5)), "spawn: %d", r);
	if (r)
		return 1;
	pid = pidshim_pid(h);
	signal(SIGCHLD, SIG_IGN);
	close(rel);
	NS_EXPECT(gone(pid), "child %d not auto-reaped", (int)pid);
	signal(SIGCHLD, SIG_DFL);
	d = fork_at(pid, 7, &drel);
	NS_EXPECT(d == pid, "newcomer got pid %d, not %d", (int)d, (int)pid);
	t0 = ps_now_ms();
	memset(&ex, 0, sizeof(ex));
	r = pidshim_wait(h, &ex);
	dt = ps_now_ms() - t0;
	NS_EXPECT(r == -ECHILD, "wait on the stale handle: %s", describe(r, &ex));
	NS_EXPECT(dt <= 1000 * ps_slow() + 100, "took %lld ms", (long long)dt);
	NS_EXPECT((r = pidshim_send_signal(h, SIGTERM)) == -ESRCH, "send_signal: %d", r);
	close(drel);
	NS_EXPECT(waitpid(d, &st, 0) == d && WIFEXITED(st) && WEXITSTATUS(st) == 7,
		  "newcomer status 0x%x: signalled or reaped by the library?", st);
	pidshim_close(h);
	return ns_fails;
}

PS_TEST(hostile, blocking_wait_on_auto_reaped_child_ignores_running_newcomer)
{
	PS_RUN_IN_PIDNS(ns_running_newcomer_spawned);
}

/* ---- spawn while other code reaps ---------------------------------------- */

static void reap_all_handler(int sig)
{
	int e = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = e;
}

/* Where SIGCHLD is blocked in every thread (the SIGCHLD mechanism's
 * programs), a handler never runs: other code that reaps is a thread
 * blocked in waitid(P_ALL) instead. */
static pthread_t reaper;
static bool reaper_is_thread;

static void *reap_all_thread(void *arg)
{
	(void)arg;
	for (;;) {
		siginfo_t si;

		if (waitid(P_ALL, 0, &si, WEXITED) < 0) /* a cancellation point */
			ps_sleep_ms(1);
	}
	return NULL;
}

static void install_reaper(bool sigchld_blocked)
{
	struct sigaction sa;

	reaper_is_thread = sigchld_blocked;
	if (sigchld_blocked) {
		pthread_create(&reaper, NULL, reap_all_thread, NULL);
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = reap_all_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
}

static void remove_reaper(void)
{
	if (reaper_is_thread) {
		pthread_cancel(reaper);
		pthread_join(reaper, NULL);
		reaper_is_thread = false;
	}
	signal(SIGCHLD, SIG_DFL);
}

/*
 * Once the program has run, spawn never fails with an error that invites
 * a retry: with a SIGCHLD handler reaping everything (or SIG_IGN), every
 * spawn returns 0 and the wait gives the true status or -ECHILD.
 */
static void spawn_while_reaped(struct __test_metadata *_metadata, bool ign, bool actions,
			       bool sigchld_blocked)
{
	char *argv[] = { (char *)ps_helper(), (char *)"exit", (char *)"0", NULL };
	posix_spawn_file_actions_t fa;
	int n = ps_scaled(200), bad_spawn = 0, bad_wait = 0, fds0 = ps_fd_count();

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (ign)
		signal(SIGCHLD, SIG_IGN);
	else
		install_reaper(sigchld_blocked);
	for (int i = 0; i < n; i++) {
		struct pidshim_exit ex;
		struct pidshim *h = NULL;
		int r = pidshim_spawn(&h, argv[0], actions ? &fa : NULL, NULL, argv,
				      NULL);

		if (r != 0) {
			if (bad_spawn++ < 3)
				TH_LOG("spawn %d of %d: %d (%s)", i, n, r, strerror(-r));
			continue;
		}
		memset(&ex, 0, sizeof(ex));
		r = pidshim_wait(h, &ex);
		if (!(r == -ECHILD ||
		      (r == 0 && ex.info.si_code == CLD_EXITED &&
		       ex.info.si_status == 0 && ex.info.si_pid == pidshim_pid(h)))) {
			if (bad_wait++ < 3)
				TH_LOG("wait %d: %s", i, describe(r, &ex));
		}
		pidshim_close(h);
	}
	remove_reaper();
	posix_spawn_file_actions_destroy(&fa);
	EXPECT_EQ(0, bad_spawn);
	EXPECT_EQ(0, bad_wait);
	EXPECT_EQ(fds0, ps_fd_count());
	EXPECT_TRUE(ps_no_children());
}

PS_TEST(hostile, spawn_never_fails_after_the_run_while_a_handler_reaps)
{
	spawn_while_reaped(_metadata, false, false, variant->sigchld);
}

PS_TEST(hostile, spawn_with_file_actions_never_fails_while_a_handler_reaps)
{
	spawn_while_reaped(_metadata, false, true, variant->sigchld);
}

PS_TEST(hostile, spawn_never_fails_after_the_run_with_sigchld_ignored)
{
	spawn_while_reaped(_metadata, true, false, variant->sigchld);
}

/*
 * The hardest race: a thread reaps each spawned child the moment it ends
 * and at once starts a sentinel on the same PID.  Every spawn returns 0,
 * and no handle ever signals, reports or reaps a sentinel.
 */
#define MAX_SENTINELS 256
static struct {
	pid_t pid[MAX_SENTINELS];
	int rel[MAX_SENTINELS];
	_Atomic int n;
	/* Sentinels that ended before their release, as the reaper saw them
	 * (the first one's status kept): a library that signals a stranger
	 * shows here, and the final wait below skips them (their PID may
	 * have been given to a later sentinel). */
	_Atomic int early;
	siginfo_t first_early;
} sentinels;

/* A sentinel ended before its release: note it, keep its slot from the
 * final wait.  Returns whether si was one. */
static bool sentinel_ended_early(const siginfo_t *si)
{
	int n = atomic_load(&sentinels.n);

	for (int i = 0; i < n; i++) {
		if (sentinels.pid[i] != si->si_pid)
			continue;
		if (atomic_fetch_add(&sentinels.early, 1) == 0)
			sentinels.first_early = *si;
		sentinels.pid[i] = 0;
		return true;
	}
	return false;
}

static void *reuse_thread(void *arg)
{
	(void)arg;
	/* Cancellable only while it sleeps in waitid: every sentinel made is
	 * recorded. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	for (;;) {
		siginfo_t si;
		int p[2], i, r;
		pid_t s;

		memset(&si, 0, sizeof(si));
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		r = waitid(P_ALL, 0, &si, WEXITED);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		if (r < 0) {
			pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
			ps_sleep_ms(1); /* no child yet */
			pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
			continue;
		}
		if (sentinel_ended_early(&si))
			continue; /* its PID goes to no new sentinel */
		i = atomic_load(&sentinels.n);
		if (i >= MAX_SENTINELS || pipe2(p, O_CLOEXEC))
			continue;
		ps_set_next_pid(si.si_pid);
		s = fork();
		if (s == 0) {
			/* The helper waits for EOF on stdin: every other fd
			 * of ours is close-on-exec, so no sentinel holds
			 * another's pipe open.  (Closing them here instead
			 * raced with the library's own fds under valgrind
			 * --track-fds, whose error exit then looked like a
			 * signalled sentinel.) */
			if (dup2(p[0], 0) == 0)
				execl(ps_helper(), ps_helper(), "wait", "0",
				      (char *)NULL);
			_exit(127);
		}
		close(p[0]);
		sentinels.pid[i] = s;
		sentinels.rel[i] = p[1];
		atomic_store(&sentinels.n, i + 1);
	}
	return NULL;
}

static int ns_spawn_reuse_race(void)
{
	char *argv[] = { (char *)ps_helper(), (char *)"exit", (char *)"0", NULL };
	int n = ps_scaled(200), bound = 0;
	pthread_t t;

	bystander();
	pthread_create(&t, NULL, reuse_thread, NULL);
	for (int i = 0; i < n && atomic_load(&sentinels.n) < MAX_SENTINELS; i++) {
		struct pidshim_exit ex;
		struct pidshim *h = NULL;
		int r = pidshim_spawn(&h, argv[0], NULL, NULL, argv, NULL);

		NS_EXPECT(r == 0, "spawn %d: %d", i, r);
		if (r)
			continue;
		r = pidshim_send_signal(h, SIGTERM);
		NS_EXPECT(r == 0 || r == -ESRCH, "send_signal: %d", r);
		memset(&ex, 0, sizeof(ex));
		r = pidshim_wait(h, &ex);
		NS_EXPECT(r == -ECHILD || (r == 0 && ex.info.si_pid == pidshim_pid(h) &&
					   ((ex.info.si_code == CLD_EXITED &&
					     ex.info.si_status == 0) ||
					    (ex.info.si_code == CLD_KILLED &&
					     ex.info.si_status == SIGTERM))),
			  "wait %d: %s", i, describe(r, &ex));
		pidshim_close(h);
	}
	pthread_cancel(t);
	pthread_join(t, NULL);
	NS_EXPECT(atomic_load(&sentinels.early) == 0,
		  "%d sentinels ended before their release, the first %d: code %d status "
		  "%d",
		  atomic_load(&sentinels.early), (int)sentinels.first_early.si_pid,
		  sentinels.first_early.si_code, sentinels.first_early.si_status);
	for (int i = 0; i < atomic_load(&sentinels.n); i++) {
		int st = -1;

		close(sentinels.rel[i]);
		if (!sentinels.pid[i])
			continue; /* ended early: counted above */
		NS_EXPECT(waitpid(sentinels.pid[i], &st, 0) == sentinels.pid[i] &&
				  WIFEXITED(st) && WEXITSTATUS(st) == 0,
			  "sentinel %d: status 0x%x (signalled or reaped by the library)",
			  (int)sentinels.pid[i], st);
		bound += st != 0;
	}
	fprintf(stderr, "# %d sentinels took a reaped child's pid, %d were hit\n",
		atomic_load(&sentinels.n), bound);
	return ns_fails;
}

PS_TEST(hostile, spawn_racing_a_reaper_that_reuses_the_pid_never_binds_a_stranger)
{
	PS_RUN_IN_PIDNS(ns_spawn_reuse_race);
}

/* ---- the SIGCHLD mechanism's deferred walk meets a reused PID ------------ */

/*
 * From 64 running handles on, a pump of the SIGCHLD mechanism whose signal
 * answered its caller puts its walk for coalesced signals off (a SIGCHLD
 * of its own stands for the debt) and the next call walks.  Here what that
 * walk finds is a stranger on a tracked PID: A exits first (the one
 * SIGCHLD left pending names A), then the program reaps P, which a handle
 * h owns, and D takes P's PID and exits 7, both signals coalesced into
 * A's.  try_wait(A) answers from A's signal and owes the walk; the next
 * call finds D's zombie on h's PID.  h gives -ECHILD, D stays the
 * program's.  64 idle children keep the count up and must each report
 * their own status at the end.
 */
#define CROWD 64

static int ns_deferred_walk_meets_reused_pid(void)
{
	struct pidshim *crowd[CROWD], *a = NULL, *h = NULL;
	int crel[CROWD], arel = -1, prel = -1, n, r, st;
	bool won;
	struct pidshim_exit ex;
	pid_t p, d;

	bystander();
	for (n = 0; n < CROWD; n++) {
		r = ps_spawn_blocker(&crowd[n], &crel[n], 0);
		NS_EXPECT(r == 0, "crowd spawn %d: %d", n, r);
		if (r)
			break;
	}
	p = ps_fork_blocker(&prel, 5);
	NS_EXPECT(p > 0, "fork");
	/* Owned: the library would reap what it takes for P. */
	NS_EXPECT(0 == (r = pidshim_open(p, PIDSHIM_OPEN_OWN, &h)), "open: %d", r);
	NS_EXPECT(0 == (r = ps_spawn_blocker(&a, &arel, 3)), "spawn A: %d", r);
	if (p <= 0 || !h || !a)
		return 1;
	close(arel);
	/* Ended (the thread mechanism's watcher may have reaped it already). */
	NS_EXPECT(ps_readable(pidshim_fd(a), 2000 * ps_slow()), "A's fd not readable");
	close(prel);
	/* The thread mechanism's watcher may reap P for h first: then h has
	 * P's own status, and D still must not become h's. */
	won = waitpid(p, &st, 0) == p;
	NS_EXPECT(won ? WEXITSTATUS(st) == 5 : errno == ECHILD, "own reap of P: %s",
		  won ? "status not 5" : strerror(errno));
	d = fork_at(p, 7, NULL);
	NS_EXPECT(d == p, "newcomer got pid %d, not %d", (int)d, (int)p);
	NS_EXPECT(ps_wait_zombie(d, 2000 * ps_slow()), "newcomer no zombie");
	memset(&ex, 0, sizeof(ex));
	r = pidshim_try_wait(a, &ex);
	NS_EXPECT(r == 0 && ex.info.si_code == CLD_EXITED && ex.info.si_status == 3,
		  "try_wait(A): %s", describe(r, &ex));
	memset(&ex, 0, sizeof(ex));
	r = pidshim_try_wait(h, &ex);
	NS_EXPECT(won ? r == -ECHILD || r == -EAGAIN
		      : r == 0 && ex.info.si_pid == p && ex.info.si_code == CLD_EXITED &&
				  ex.info.si_status == 5,
		  "try_wait on the stale handle (%s reaped P): %s",
		  won ? "the program" : "h", describe(r, &ex));
	NS_EXPECT(ps_readable(pidshim_fd(h), 1000 * ps_slow() + 200),
		  "the stale handle's fd never turned readable");
	expect_stale_handle_leaves_newcomer(h, d);
	pidshim_close(a);
	pidshim_close(h);
	for (int i = 0; i < n; i++) {
		close(crel[i]);
		memset(&ex, 0, sizeof(ex));
		r = pidshim_wait(crowd[i], &ex);
		NS_EXPECT(r == 0 && ex.info.si_code == CLD_EXITED &&
				  ex.info.si_status == 0 &&
				  ex.info.si_pid == pidshim_pid(crowd[i]),
			  "crowd wait %d: %s", i, describe(r, &ex));
		pidshim_close(crowd[i]);
	}
	return ns_fails;
}

PS_TEST(hostile, deferred_walk_of_coalesced_signals_never_takes_a_reused_pid)
{
	PS_RUN_IN_PIDNS(ns_deferred_walk_meets_reused_pid);
}

/* ---- other code reaps first: readiness ----------------------------------- */

/*
 * A SIGCHLD handler reaps every child, often before the library sees the
 * exit.  The handle's fd still turns readable, and a set still reports
 * the member, within a second of the exit; the wait then gives -ECHILD
 * (or the status, if the library won the race).
 */
PS_TEST(hostile, fd_and_set_report_a_child_other_code_reaped_first)
{
	int rounds = ps_scaled(10) < 3 ? 3 : ps_scaled(10), late = 0, brel = -1;

	/* A child of the program's own keeps "no child left" from telling. */
	ASSERT_LT(0, ps_fork_blocker(&brel, 0));
	install_reaper(variant->sigchld);
	for (int i = 0; i < rounds; i++) {
		struct pidshim_set *s = NULL;
		struct pidshim *ready = NULL;
		struct pidshim_exit ex;
		int64_t t0, dt;
		int r;

		ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 3));
		ASSERT_EQ(0, pidshim_set_new(&s));
		ASSERT_EQ(0, pidshim_set_add(s, self->h));
		t0 = ps_now_ms();
		ps_close(&self->release);
		EXPECT_TRUE(ps_readable(pidshim_fd(self->h), 1000 * ps_slow() + 200))
		{
			TH_LOG("round %d: fd not readable within 1 s of the exit", i);
			late++;
		}
		r = pidshim_set_wait(s, 1000 * ps_slow() + 200, &ready);
		dt = ps_now_ms() - t0;
		EXPECT_EQ(0, r)
		{
			TH_LOG("round %d: set_wait %d after %lld ms", i, r,
			       (long long)dt);
		}
		if (r == 0)
			EXPECT_EQ(self->h, ready);
		memset(&ex, 0, sizeof(ex));
		r = pidshim_wait(self->h, &ex);
		EXPECT_TRUE(r == -ECHILD || (r == 0 && ex.info.si_status == 3))
		{
			TH_LOG("wait: %s", describe(r, &ex));
		}
		pidshim_set_free(s);
		pidshim_close(self->h);
		self->h = NULL;
	}
	EXPECT_EQ(0, late);
	close(brel);
	remove_reaper();
}

/*
 * The same for a blocking pidshim_wait, started before the exit: it may be
 * asleep in the kernel when other code reaps the child (under the thread
 * mechanism it sleeps in waitid itself, see svc_wait_direct), and a child
 * of the program's keeps running, so nothing else would wake it.  It
 * still returns, -ECHILD or the true status, within a second.
 */
static void blocking_wait_other_reaps(struct __test_metadata *_metadata,
				      FIXTURE_DATA(hostile) * self,
				      const FIXTURE_VARIANT(hostile) * variant,
				      bool in_set)
{
	int rounds = ps_scaled(10) < 3 ? 3 : ps_scaled(10), late = 0, brel = -1;

	ASSERT_LT(0, ps_fork_blocker(&brel, 0));
	/* A handler first; then a thread asleep in waitid(P_ALL), which can
	 * take the zombie while the wait is still in the kernel. */
	install_reaper(variant->sigchld);
	for (int i = 0; i < rounds; i++) {
		struct pidshim_set *s = NULL;
		struct pidshim *ready = NULL;
		struct pidshim_exit ex;
		int64_t t0, dt;
		int r;

		if (i == rounds / 2) {
			remove_reaper();
			install_reaper(true);
		}
		ASSERT_EQ(0, ps_spawn_helper(&self->h, -1, -1, "sleep", "30", "4", NULL));
		t0 = ps_now_ms();
		memset(&ex, 0, sizeof(ex));
		if (in_set) {
			ASSERT_EQ(0, pidshim_set_new(&s));
			ASSERT_EQ(0, pidshim_set_add(s, self->h));
			r = pidshim_set_wait(s, -1, &ready);
			EXPECT_EQ(0, r);
			EXPECT_EQ(self->h, ready);
		}
		dt = ps_now_ms() - t0;
		r = pidshim_wait(self->h, &ex);
		if (!in_set)
			dt = ps_now_ms() - t0;
		EXPECT_TRUE(r == -ECHILD || (r == 0 && ex.info.si_status == 4 &&
					     ex.info.si_pid == pidshim_pid(self->h)))
		{
			TH_LOG("round %d: wait: %s", i, describe(r, &ex));
		}
		if (dt > 30 + 1000 * ps_slow() + 200) {
			TH_LOG("round %d: %s returned %lld ms after the spawn", i,
			       in_set ? "set_wait" : "wait", (long long)dt);
			late++;
		}
		pidshim_set_free(s);
		pidshim_close(self->h);
		self->h = NULL;
	}
	EXPECT_EQ(0, late);
	close(brel);
	remove_reaper();
}

PS_TEST(hostile, blocking_wait_returns_when_other_code_reaps_first)
{
	blocking_wait_other_reaps(_metadata, self, variant, false);
}

/* The same for a blocking pidshim_set_wait (which sleeps in waitid itself
 * too under the thread mechanism, see svc_set_sleep): it reports the
 * member within a second. */
PS_TEST(hostile, blocking_set_wait_returns_when_other_code_reaps_first)
{
	blocking_wait_other_reaps(_metadata, self, variant, true);
}

/* ---- pthread_cancel -------------------------------------------------------- */

struct canc {
	struct pidshim *h;
	struct pidshim_set *s;
	int what;
	_Atomic int state; /* 1 entered, 2 returned */
	_Atomic bool go;
};

static void *cancellable_call(void *arg)
{
	struct canc *c = arg;
	struct pidshim_exit ex;
	struct pidshim *ready;

	atomic_store(&c->state, 1);
	switch (c->what) {
	case 0:
		pidshim_wait(c->h, &ex);
		break;
	case 1:
		pidshim_wait_timeout(c->h, 60000, &ex);
		break;
	case 2:
		pidshim_set_wait(c->s, -1, &ready);
		break;
	}
	atomic_store(&c->state, 2);
	return NULL;
}

static bool timed_join(pthread_t t, void **ret, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(t, ret, &ts) == 0;
}

/*
 * pidshim_wait, pidshim_wait_timeout and pidshim_set_wait are
 * cancellation points: a thread cancelled in them ends at once, and the
 * library stays usable (no lock held), no fd is left open and the child
 * is still the handle's to wait for.
 */
static void cancel_blocked(struct __test_metadata *_metadata,
			   FIXTURE_DATA(hostile) * self, int what)
{
	struct canc c = { .what = what };
	struct pidshim_exit ex;
	struct pidshim *other = NULL;
	void *ret = NULL;
	pthread_t t;
	int fds0;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 9));
	ASSERT_EQ(0, pidshim_set_new(&c.s));
	ASSERT_EQ(0, pidshim_set_add(c.s, self->h));
	fds0 = ps_fd_count();
	c.h = self->h;
	ASSERT_EQ(0, pthread_create(&t, NULL, cancellable_call, &c));
	while (atomic_load(&c.state) == 0)
		ps_sleep_ms(1);
	ps_sleep_ms(50); /* well inside the blocking call */
	ASSERT_EQ(0, pthread_cancel(t));
	ASSERT_TRUE(timed_join(t, &ret, 2000 * ps_slow()))
	{
		TH_LOG("the cancelled thread did not end within 2 s");
		abort(); /* a hung thread would hang the teardown too */
	}
	EXPECT_EQ(PTHREAD_CANCELED, ret);
	EXPECT_EQ(1, atomic_load(&c.state));
	EXPECT_EQ(fds0, ps_fd_count());
	/* Nothing is locked: the library still serves this thread. */
	ASSERT_EQ(0, ps_spawn_helper(&other, -1, -1, "exit", "4", NULL));
	EXPECT_EQ(0, pidshim_wait(other, &ex));
	EXPECT_EQ(4, ex.info.si_status);
	pidshim_close(other);
	/* And the handle still gets its child's status. */
	EXPECT_EQ(-ETIMEDOUT, pidshim_wait_timeout(self->h, 20, &ex));
	ps_close(&self->release);
	EXPECT_EQ(0, pidshim_wait(self->h, &ex));
	EXPECT_EQ(9, ex.info.si_status);
	pidshim_set_free(c.s);
}

PS_TEST(hostile, cancel_inside_wait_ends_the_thread_and_keeps_the_child)
{
	cancel_blocked(_metadata, self, 0);
}

PS_TEST(hostile, cancel_inside_wait_timeout_ends_the_thread_and_keeps_the_child)
{
	cancel_blocked(_metadata, self, 1);
}

PS_TEST(hostile, cancel_inside_set_wait_ends_the_thread_and_keeps_the_child)
{
	cancel_blocked(_metadata, self, 2);
}

/*
 * A thread with a cancellation request pending runs pidshim calls that
 * are not cancellation points to completion: spawn, try_wait,
 * send_signal, close of a handle whose child runs, set_free.  The next
 * real cancellation point then ends it.  Nothing deadlocks, no fd leaks,
 * and the closed handle's child is still reaped by the library.
 */
struct pending {
	struct pidshim *h;
	struct pidshim_set *s;
	_Atomic bool cancelled;
	int spawn_r, try_r, sig_r;
	pid_t spawned;
	_Atomic int done;
};

static void *pending_cancel_calls(void *arg)
{
	struct pending *p = arg;
	struct pidshim_exit ex;
	struct pidshim *h2 = NULL;
	char *argv[] = { (char *)ps_helper(), (char *)"exit", (char *)"0", NULL };

	while (!atomic_load(&p->cancelled))
		; /* no cancellation point: the request stays pending */
	p->spawn_r = pidshim_spawn(&h2, argv[0], NULL, NULL, argv, NULL);
	p->spawned = p->spawn_r == 0 ? pidshim_pid(h2) : 0;
	p->try_r = pidshim_try_wait(p->h, &ex);
	p->sig_r = pidshim_send_signal(p->h, 0);
	pidshim_close(p->h); /* its child still runs */
	pidshim_set_free(p->s);
	pidshim_close(h2); /* its child may still run */
	atomic_store(&p->done, 1);
	pthread_testcancel();
	atomic_store(&p->done, 2);
	return NULL;
}

PS_TEST(hostile, pending_cancel_lets_close_and_other_calls_finish)
{
	struct pending p = { 0 };
	void *ret = NULL;
	pid_t pid;
	pthread_t t;
	int fds0 = ps_fd_count();

	ASSERT_EQ(0, ps_spawn_blocker(&p.h, &self->release, 9));
	ASSERT_EQ(0, pidshim_set_new(&p.s));
	ASSERT_EQ(0, pidshim_set_add(p.s, p.h));
	pid = pidshim_pid(p.h);
	ASSERT_EQ(0, pthread_create(&t, NULL, pending_cancel_calls, &p));
	ASSERT_EQ(0, pthread_cancel(t));
	atomic_store(&p.cancelled, true);
	ASSERT_TRUE(timed_join(t, &ret, 3000 * ps_slow()))
	{
		TH_LOG("thread stuck with a pending cancel (done=%d)",
		       atomic_load(&p.done));
		abort();
	}
	EXPECT_EQ(PTHREAD_CANCELED, ret);
	EXPECT_EQ(1, atomic_load(&p.done));
	EXPECT_EQ(0, p.spawn_r);
	EXPECT_EQ(-EAGAIN, p.try_r);
	EXPECT_EQ(0, p.sig_r);
	/*
	 * Both children are the library's now: it reaps them, and only then
	 * closes their pidfds (and its epoll once no orphan is left), so wait
	 * for the fds as well: a slow guest (TCG) showed the reap done and
	 * the two fds still open.
	 */
	ps_close(&self->release);
	for (int i = 0;
	     i < 200 * ps_slow() && (!ps_no_children() || ps_fd_count() != fds0); i++)
		ps_sleep_ms(10);
	EXPECT_TRUE(ps_no_children())
	{
		TH_LOG("a closed handle's child was never reaped (state of %d: %c)",
		       (int)pid, ps_proc_state(pid) ? ps_proc_state(pid) : '-');
	}
	EXPECT_EQ(fds0, ps_fd_count());
}

/* ---- fork ------------------------------------------------------------------ */

/*
 * A child process that inherited a handle and a set: there they are inert
 * (wait/try_wait -ECHILD, close and free release only the child's copies),
 * and the parent sees nothing change: its set still reports the member,
 * its fd does not turn readable early.
 */
PS_TEST(hostile, forked_child_using_inherited_handles_leaves_the_parent_alone)
{
	struct pidshim_set *s = NULL;
	struct pidshim *ready = NULL;
	struct pidshim_exit ex;
	pid_t kid;
	int st, r;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 6));
	ASSERT_EQ(0, pidshim_set_new(&s));
	ASSERT_EQ(0, pidshim_set_add(s, self->h));
	kid = fork();
	ASSERT_LE(0, kid);
	if (kid == 0) {
		int bad = 0;

		bad |= (pidshim_try_wait(self->h, &ex) != -ECHILD) << 0;
		bad |= (pidshim_wait(self->h, &ex) != -ECHILD) << 1;
		bad |= (pidshim_wait_timeout(self->h, 50, &ex) != -ECHILD) << 2;
		bad |= (pidshim_set_wait(s, 50, &ready) != -ECHILD) << 3;
		bad |= (pidshim_send_signal(self->h, SIGKILL) >= 0) << 4;
		pidshim_close(self->h);
		pidshim_set_free(s);
		ps_child_exit(bad);
	}
	ASSERT_EQ(kid, waitpid(kid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
	{
		TH_LOG("in the fork child: status 0x%x (bits: try_wait, wait, "
		       "wait_timeout, set_wait, send_signal)",
		       st);
	}
	/* The fork child's own exit is a SIGCHLD: under the SIGCHLD
	 * mechanism a spurious wake-up, gone after one look. */
	if (variant->sigchld)
		EXPECT_EQ(-EAGAIN, pidshim_try_wait(self->h, &ex));
	EXPECT_FALSE(ps_readable(pidshim_fd(self->h), 100));
	EXPECT_FALSE(ps_readable(pidshim_set_fd(s), 0));
	EXPECT_EQ(-EAGAIN, pidshim_try_wait(self->h, &ex));
	EXPECT_EQ(-ETIMEDOUT, pidshim_set_wait(s, 50, &ready));
	ps_close(&self->release);
	r = pidshim_set_wait(s, 2000 * ps_slow(), &ready);
	EXPECT_EQ(0, r);
	EXPECT_EQ(self->h, ready);
	EXPECT_EQ(0, pidshim_wait(self->h, &ex));
	EXPECT_EQ(6, ex.info.si_status);
	pidshim_set_free(s);
}

/* ---- several handles, several waiters ------------------------------------ */

/*
 * A spawned handle and a pidshim_open handle on the same child: the owner
 * gets the status whichever waits first; the other turns readable at the
 * exit and gives -ECHILD.  Once both are closed, no zombie is left.
 */
static void two_handles(struct __test_metadata *_metadata, FIXTURE_DATA(hostile) * self,
			bool other_waits_first)
{
	struct pidshim *h2 = NULL;
	struct pidshim_exit ex;
	pid_t pid;
	int r;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 8));
	pid = pidshim_pid(self->h);
	ASSERT_EQ(0, pidshim_open(pid, 0, &h2));
	EXPECT_EQ(-EAGAIN, pidshim_try_wait(h2, &ex));
	ps_close(&self->release);
	EXPECT_TRUE(ps_readable(pidshim_fd(h2), 1000 * ps_slow()));
	if (other_waits_first) {
		memset(&ex, 0, sizeof(ex));
		r = pidshim_wait(h2, &ex);
		EXPECT_EQ(-ECHILD, r)
		{
			TH_LOG("second handle: %s", describe(r, &ex));
		}
	}
	memset(&ex, 0, sizeof(ex));
	r = pidshim_wait(self->h, &ex);
	EXPECT_EQ(0, r)
	{
		TH_LOG("owner: %s", describe(r, &ex));
	}
	EXPECT_EQ(8, ex.info.si_status);
	if (!other_waits_first) {
		r = pidshim_wait(h2, &ex);
		EXPECT_EQ(-ECHILD, r);
	}
	pidshim_close(h2);
	EXPECT_TRUE(ps_no_children());
}

PS_TEST(hostile, owner_gets_the_status_second_handle_echild)
{
	two_handles(_metadata, self, false);
}

PS_TEST(hostile, owner_gets_the_status_even_when_second_handle_waits_first)
{
	two_handles(_metadata, self, true);
}

PS_TEST(hostile, two_handles_closed_after_the_exit_leave_no_zombie)
{
	struct pidshim *h2 = NULL;
	pid_t pid;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 8));
	pid = pidshim_pid(self->h);
	ASSERT_EQ(0, pidshim_open(pid, 0, &h2));
	ps_close(&self->release);
	ASSERT_TRUE(ps_readable(pidshim_fd(h2), 2000 * ps_slow()));
	ASSERT_TRUE(ps_readable(pidshim_fd(self->h), 2000 * ps_slow()));
	pidshim_close(h2);
	pidshim_close(self->h);
	self->h = NULL;
	for (int i = 0; i < 100 * ps_slow() && !ps_no_children(); i++)
		ps_sleep_ms(10);
	EXPECT_TRUE(ps_no_children())
	{
		TH_LOG("zombie %d left (state %c)", (int)pid,
		       ps_proc_state(pid) ? ps_proc_state(pid) : '-');
	}
}

PS_TEST(hostile, two_threads_waiting_on_one_handle_exactly_one_gets_the_status)
{
	int rounds = ps_scaled(40) < 4 ? 4 : ps_scaled(40);

	for (int i = 0; i < rounds; i++) {
		struct ps_bg_wait w1 = { 0 }, w2 = { 0 };
		pthread_t t1, t2;

		ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 12));
		w1.h = w2.h = self->h;
		ASSERT_EQ(0, pthread_create(&t1, NULL, ps_bg_wait_fn, &w1));
		ASSERT_EQ(0, pthread_create(&t2, NULL, ps_bg_wait_fn, &w2));
		ps_sleep_ms(i % 3 == 0 ? 0 : 5);
		ps_close(&self->release);
		pthread_join(t1, NULL);
		pthread_join(t2, NULL);
		EXPECT_TRUE((w1.ret == 0) != (w2.ret == 0))
		{
			TH_LOG("round %d: results %d and %d", i, w1.ret, w2.ret);
		}
		EXPECT_TRUE(w1.ret == -ECHILD || w2.ret == -ECHILD);
		EXPECT_EQ(12, w1.ret == 0 ? w1.ex.info.si_status : w2.ex.info.si_status);
		pidshim_close(self->h);
		self->h = NULL;
	}
}

/*
 * The thread mechanism ends a wait left sleeping when its handle was
 * settled elsewhere (here: the other thread reaped) with a kick child
 * (service.c).  That child is the library's: it must be reaped whoever
 * ends last, also when nothing is tracked afterwards and the library's
 * threads end, or the program finds a zombie it never made.
 */
PS_TEST(hostile, threads_waiting_on_one_handle_leave_no_child_behind)
{
	for (int i = 0; i < 6; i++) {
		struct ps_bg_wait w[3] = { 0 };
		pthread_t t[3];
		int n = 2 + i % 2, j;

		ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 3));
		for (j = 0; j < n; j++) {
			w[j].h = self->h;
			ASSERT_EQ(0, pthread_create(&t[j], NULL, ps_bg_wait_fn, &w[j]));
		}
		ps_sleep_ms(20);
		ps_close(&self->release);
		for (j = 0; j < n; j++)
			pthread_join(t[j], NULL);
		pidshim_close(self->h);
		self->h = NULL;
		/* Longer than the library's threads stay idle (service.c). */
		for (j = 0; j < 100 * ps_slow() && !ps_no_children_at_all(); j++)
			ps_sleep_ms(10);
		ASSERT_TRUE(ps_no_children_at_all())
		{
			siginfo_t si = { 0 };

			waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL);
			TH_LOG("round %d, %d waiters: child %d (state %c) left 1 s after "
			       "the waits",
			       i, n, (int)si.si_pid,
			       si.si_pid && ps_proc_state(si.si_pid)
				       ? ps_proc_state(si.si_pid)
				       : '-');
		}
	}
}

/*
 * A thread blocked in pidshim_set_wait while another thread reaps the
 * member with pidshim_wait: the set's wait ends (0 with that member, or
 * -ECHILD once it is reaped) within a second, though no other child exits
 * (a child of the program's keeps running).  Every third round the member
 * is removed from the set while it runs: -ECHILD, as waitpid(-1) gives
 * when the last child is gone.
 */
struct set_waiter {
	struct pidshim_set *s;
	struct pidshim *ready;
	int ret;
};

static void *set_wait_fn(void *arg)
{
	struct set_waiter *w = arg;

	w->ret = pidshim_set_wait(w->s, -1, &w->ready);
	return NULL;
}

PS_TEST(hostile, set_wait_returns_when_another_thread_reaps_the_member)
{
	int rounds = ps_scaled(10) < 4 ? 4 : ps_scaled(10), brel = -1;

	ASSERT_LT(0, ps_fork_blocker(&brel, 0));
	for (int i = 0; i < rounds; i++) {
		struct set_waiter w = { 0 };
		struct pidshim_exit ex;
		pthread_t t;
		void *ret;

		ASSERT_EQ(0, ps_spawn_blocker(&self->h, &self->release, 5));
		ASSERT_EQ(0, pidshim_set_new(&w.s));
		ASSERT_EQ(0, pidshim_set_add(w.s, self->h));
		ASSERT_EQ(0, pthread_create(&t, NULL, set_wait_fn, &w));
		ps_sleep_ms(i % 2 ? 20 : 1);
		if (i % 3 == 2) {
			EXPECT_EQ(0, pidshim_set_remove(w.s, self->h));
		} else {
			ps_close(&self->release);
		}
		memset(&ex, 0, sizeof(ex));
		if (i % 3 != 2) {
			EXPECT_EQ(0, pidshim_wait(self->h, &ex));
			EXPECT_EQ(5, ex.info.si_status);
		}
		ASSERT_TRUE(timed_join(t, &ret, 1000 * ps_slow() + 500))
		{
			TH_LOG("round %d: set_wait still blocked 1.5 s after the member "
			       "%s",
			       i, i % 3 == 2 ? "left the set" : "was reaped");
		}
		if (i % 3 == 2) {
			EXPECT_EQ(-ECHILD, w.ret);
			ps_close(&self->release);
			EXPECT_EQ(0, pidshim_wait(self->h, &ex));
		}
		EXPECT_TRUE((w.ret == 0 && w.ready == self->h) || w.ret == -ECHILD)
		{
			TH_LOG("round %d: set_wait %d, ready %p (member %p)", i, w.ret,
			       (void *)w.ready, (void *)self->h);
		}
		pidshim_set_free(w.s);
		pidshim_close(self->h);
		self->h = NULL;
	}
	close(brel);
}

/* ---- a thread id ------------------------------------------------------------ */

static void *park(void *arg)
{
	_Atomic pid_t *tid = arg;

	atomic_store(tid, (pid_t)syscall(SYS_gettid));
	while (atomic_load(tid) != 0)
		ps_sleep_ms(1);
	return NULL;
}

PS_TEST(hostile, open_of_a_thread_id_that_leads_no_group_is_esrch)
{
	_Atomic pid_t tid = 0;
	struct pidshim *h = NULL;
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, park, &tid));
	while (atomic_load(&tid) == 0)
		ps_sleep_ms(1);
	EXPECT_EQ(-ESRCH, pidshim_open(atomic_load(&tid), 0, &h));
	EXPECT_EQ(-ESRCH, pidshim_open(atomic_load(&tid), PIDSHIM_OPEN_OWN, &h));
	EXPECT_EQ(NULL, h);
	atomic_store(&tid, 0);
	pthread_join(t, NULL);
}

PS_MAIN
