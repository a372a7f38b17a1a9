// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * trace.c - selftests of "a stop is not an exit": a program that traces
 * its own children (a debugger, a syscall sandbox, a build tracer) keeps
 * every ptrace stop, and the library reports only the true exit.
 *
 * The kernel reports a tracee's stops to every thread of its tracer's
 * process from waitid(), even when only WEXITED is asked for, and a
 * WNOWAIT look returns the same stop again and again.  Each test spawns
 * the helper in "stops" mode, PTRACE_SEIZEs it from the test thread and
 * steps it through a signal-delivery stop, syscall stops and an exec event
 * stop, while the library waits on it in another thread, polls it, holds
 * it in a set, or owns it after the handle was closed.  The tracer must see
 * every stop in its own waitpid(__WALL); the library must report nothing
 * before the exit, then the exit status.  A traced process that is not a
 * child must be treated as the non-child it is.
 */
#include <stdatomic.h>
#include <sys/ptrace.h>

#include "pstest.h"

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

FIXTURE(trace)
{
	int release;
	struct pidshim *h;
};
PS_BACKEND_VARIANTS(trace);

FIXTURE_SETUP(trace)
{
	self->release = -1;
	self->h = NULL;
	if (ps_setup_backend(_metadata, PS_VARIANT))
		return;
}

FIXTURE_TEARDOWN(trace)
{
	ps_close(&self->release);
	pidshim_close(self->h);
	ps_library_settle(); /* closed handles' children reaped, their fds closed */
}

struct stops {
	int signal, syscall, exec, other;
	bool exit_seen; /* the exit, seen without being consumed */
	bool gone;	/* reaped before the tracer looked (after all stops) */
	const char *error;
};

/* What the test checks while the tracee sits in its first stop. */
typedef void (*in_stop_fn)(struct __test_metadata *_metadata, struct pidshim *h);

static bool is_exit(int code)
{
	return code == CLD_EXITED || code == CLD_KILLED || code == CLD_DUMPED;
}

/*
 * The tracer's loop: look at the next event without consuming it; a stop
 * is then taken with waitpid(__WALL) and the tracee resumed; an exit is
 * left where it is for the library.  A stop that does not come within
 * 10 s was taken by somebody else.
 */
static void trace_to_exit(struct __test_metadata *_metadata, pid_t pid, struct pidshim *h,
			  in_stop_fn in_stop, struct stops *s)
{
	int64_t end = ps_now_ms() + 10000 * ps_slow();

	memset(s, 0, sizeof(*s));
	for (;;) {
		siginfo_t si;
		int st = 0, r;
		long sig = 0;

		memset(&si, 0, sizeof(si));
		r = waitid(P_PID, pid, &si,
			   WEXITED | WSTOPPED | WNOWAIT | WNOHANG | __WALL);
		if (r < 0) {
			s->gone = true;
			return;
		}
		if (si.si_pid == 0) {
			if (ps_now_ms() > end) {
				s->error =
					"no event for 10 s: a stop was taken by somebody "
					"else";
				return;
			}
			ps_sleep_ms(1);
			continue;
		}
		if (is_exit(si.si_code)) {
			s->exit_seen = true;
			return;
		}
		if (waitpid(pid, &st, __WALL | WNOHANG) != pid || !WIFSTOPPED(st)) {
			s->error = "a stop seen by waitid was gone for waitpid";
			return;
		}
		if (st >> 16 == PTRACE_EVENT_EXEC) {
			s->exec++;
		} else if (WSTOPSIG(st) == (SIGTRAP | 0x80)) {
			s->syscall++;
		} else if (WSTOPSIG(st) == SIGUSR1 && st >> 16 == 0) {
			if (s->signal++ == 0 && in_stop)
				in_stop(_metadata, h);
		} else {
			s->other++;
			if (st >> 16 == 0)
				sig = WSTOPSIG(st) == SIGTRAP ? 0 : WSTOPSIG(st);
		}
		r = ptrace(s->syscall < 6 && s->exec == 0 ? PTRACE_SYSCALL : PTRACE_CONT,
			   pid, 0, (void *)sig);
		if (r) {
			s->error = "ptrace resume failed";
			return;
		}
	}
}

/* Spawns the helper in "stops" mode and seizes it; false (skip) when the
 * kernel or a filter refuses ptrace here. */
static bool spawn_traced(struct __test_metadata *_metadata, FIXTURE_DATA(trace) * self,
			 struct pidshim **hp, int *err)
{
	int in[2], out[2];
	char c = 0;
	pid_t pid;

	PS_PIPE(in);
	PS_PIPE(out);
	if (ps_spawn_helper(hp, in[0], out[1], "stops", "42", NULL)) {
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		*err = EAGAIN;
		return false;
	}
	close(in[0]);
	close(out[1]);
	self->release = in[1];
	if (read(out[0], &c, 1) != 1)
		c = 0;
	close(out[0]);
	pid = pidshim_pid(*hp);
	if (c != 'r' || ptrace(PTRACE_SEIZE, pid, 0,
			       (void *)(PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD))) {
		*err = errno;
		return false;
	}
	return true;
}

#define SPAWN_TRACED(hp)                                                      \
	do {                                                                  \
		int err_ = 0;                                                 \
		if (!spawn_traced(_metadata, self, hp, &err_)) {              \
			ASSERT_NE(EAGAIN, err_);                              \
			SKIP(return,                                          \
				   "ptrace(PTRACE_SEIZE) refused here (%s): " \
				   "Yama or a seccomp filter",                \
				   strerror(err_));                           \
		}                                                             \
	} while (0)

/* Lets the tracee go: it raises SIGUSR1 and the stops begin. */
static void go(FIXTURE_DATA(trace) * self)
{
	char c = 'g';

	if (write(self->release, &c, 1) != 1)
		abort();
	ps_close(&self->release);
}

static void expect_all_stops(struct __test_metadata *_metadata, const struct stops *s)
{
	EXPECT_EQ(NULL, s->error)
	{
		TH_LOG("%s", s->error);
	}
	EXPECT_EQ(1, s->signal);
	EXPECT_EQ(6, s->syscall);
	EXPECT_EQ(1, s->exec);
	EXPECT_EQ(0, s->other);
}

static void expect_exit_42(struct __test_metadata *_metadata, int r,
			   const struct pidshim_exit *ex, pid_t pid)
{
	EXPECT_EQ(0, r);
	EXPECT_EQ(SIGCHLD, ex->info.si_signo);
	EXPECT_EQ(CLD_EXITED, ex->info.si_code)
	{
		TH_LOG("si_code %d si_status %d: a stop reported as the exit?",
		       ex->info.si_code, ex->info.si_status);
	}
	EXPECT_EQ(42, ex->info.si_status);
	EXPECT_EQ(pid, ex->info.si_pid);
}

/* In the first stop: nothing to report, nothing readable for long. */
static void nothing_yet(struct __test_metadata *_metadata, struct pidshim *h)
{
	struct pidshim_exit ex;

	ps_sleep_ms(100); /* the library's background work had its chance */
	EXPECT_EQ(-EAGAIN, pidshim_try_wait(h, &ex));
	EXPECT_EQ(-ETIMEDOUT, pidshim_wait_timeout(h, 30, &ex));
	/* A spurious wake-up is allowed on the fallback, a second one not. */
	EXPECT_FALSE(ps_readable(pidshim_fd(h), 0));
}

PS_TEST(trace, blocking_wait_in_another_thread_takes_no_stop)
{
	struct ps_bg_wait w = { 0 };
	struct stops s;
	pthread_t t;

	SPAWN_TRACED(&self->h);
	w.h = self->h;
	ASSERT_EQ(0, pthread_create(&t, NULL, ps_bg_wait_fn, &w));
	ps_sleep_ms(20);
	go(self);
	trace_to_exit(_metadata, pidshim_pid(self->h), NULL, NULL, &s);
	pthread_join(t, NULL);
	expect_all_stops(_metadata, &s);
	expect_exit_42(_metadata, w.ret, &w.ex, pidshim_pid(self->h));
}

PS_TEST(trace, timed_wait_in_another_thread_takes_no_stop)
{
	struct stops s;
	struct pidshim_exit ex;
	int r;

	SPAWN_TRACED(&self->h);
	go(self);
	trace_to_exit(_metadata, pidshim_pid(self->h), self->h, nothing_yet, &s);
	expect_all_stops(_metadata, &s);
	memset(&ex, 0, sizeof(ex));
	r = pidshim_wait_timeout(self->h, 5000 * ps_slow(), &ex);
	expect_exit_42(_metadata, r, &ex, pidshim_pid(self->h));
}

PS_TEST(trace, try_wait_during_stops_is_eagain_then_the_exit)
{
	struct pidshim_exit ex;
	struct stops s;
	int r = -EAGAIN;

	SPAWN_TRACED(&self->h);
	go(self);
	trace_to_exit(_metadata, pidshim_pid(self->h), self->h, nothing_yet, &s);
	expect_all_stops(_metadata, &s);
	for (int i = 0; i < 500 * ps_slow() && r == -EAGAIN; i++) {
		memset(&ex, 0, sizeof(ex));
		r = pidshim_try_wait(self->h, &ex);
		if (r == -EAGAIN)
			ps_sleep_ms(2);
	}
	expect_exit_42(_metadata, r, &ex, pidshim_pid(self->h));
}

struct set_waiter {
	struct pidshim_set *s;
	struct pidshim *ready;
	int r;
	int timeout_ms; /* 0: 20 s */
	_Atomic bool done;
};

static void *set_wait_fn(void *arg)
{
	struct set_waiter *w = arg;

	w->r = pidshim_set_wait(w->s, w->timeout_ms ? w->timeout_ms : 20000 * ps_slow(),
				&w->ready);
	atomic_store(&w->done, true);
	return NULL;
}

static void set_quiet(struct __test_metadata *_metadata, struct pidshim *h)
{
	(void)h;
	ps_sleep_ms(100);
}

static void set_at_exit(struct __test_metadata *_metadata, FIXTURE_DATA(trace) * self,
			int timeout_ms)
{
	struct set_waiter w = { .timeout_ms = timeout_ms };
	struct pidshim_exit ex;
	struct stops s;
	pthread_t t;

	SPAWN_TRACED(&self->h);
	ASSERT_EQ(0, pidshim_set_new(&w.s));
	ASSERT_EQ(0, pidshim_set_add(w.s, self->h));
	ASSERT_EQ(0, pthread_create(&t, NULL, set_wait_fn, &w));
	go(self);
	trace_to_exit(_metadata, pidshim_pid(self->h), self->h, set_quiet, &s);
	expect_all_stops(_metadata, &s);
	pthread_join(t, NULL);
	EXPECT_EQ(0, w.r);
	EXPECT_EQ(self->h, w.ready);
	memset(&ex, 0, sizeof(ex));
	expect_exit_42(_metadata, pidshim_wait(self->h, &ex), &ex, pidshim_pid(self->h));
	pidshim_set_free(w.s);
}

PS_TEST(trace, set_reports_the_member_only_at_the_exit)
{
	set_at_exit(_metadata, self, 0);
}

/* Blocking: on the thread mechanism the set's thread sleeps in waitid
 * itself, which reports every stop to it as the tracer; it must leave
 * them all to the program's waitpid and still report the exit. */
PS_TEST(trace, blocking_set_reports_the_member_only_at_the_exit)
{
	set_at_exit(_metadata, self, -1);
}

/*
 * The handle is closed while the tracee runs: the library owns the child
 * and reaps it once it exits, but takes none of its stops.
 */
PS_TEST(trace, closed_handle_takes_no_stop_and_leaves_no_zombie)
{
	struct stops s;
	pid_t pid;

	SPAWN_TRACED(&self->h);
	pid = pidshim_pid(self->h);
	pidshim_close(self->h);
	self->h = NULL;
	go(self);
	trace_to_exit(_metadata, pid, NULL, NULL, &s);
	expect_all_stops(_metadata, &s);
	for (int i = 0; i < 200 * ps_slow() && !ps_no_children(); i++)
		ps_sleep_ms(5);
	EXPECT_TRUE(ps_no_children())
	{
		TH_LOG("the closed handle's child %d was not reaped (state %c)", (int)pid,
		       ps_proc_state(pid) ? ps_proc_state(pid) : '-');
	}
}

/*
 * A process the program traces but did not fork (its parent is another
 * process) is not a child: pidshim_open with the owning flag is -ECHILD on
 * every backend, and without it the non-child rules apply (-ECHILD on the
 * fallback; on the pidfd backends, -EAGAIN while it runs and stops, then
 * -ECHILD or its status).  Its stops stay the tracer's.
 */
PS_TEST(trace, traced_process_that_is_not_a_child_is_not_a_child)
{
	struct pidshim *h = NULL;
	struct ps_bg_wait w = { 0 };
	struct pidshim_exit ex;
	int p[2], q[2], st, r;
	pid_t mid, b = 0;
	pthread_t t;
	siginfo_t si;
	char c;

	PS_PIPE(p);
	PS_PIPE(q);
	mid = fork();
	ASSERT_LE(0, mid);
	if (mid == 0) {
		pid_t kid;

		kid = fork();
		if (kid == 0) {
			ps_close_fds_except(q[0], -1);
			while (read(q[0], &c, 1) < 0 && errno == EINTR)
				;
			ps_child_exit(33);
		}
		if (write(p[1], &kid, sizeof(kid)) != sizeof(kid))
			ps_child_exit(1);
		ps_close_fds_except(-1, -1);
		ps_child_exit(waitpid(kid, &st, 0) == kid && WIFEXITED(st)
				      ? WEXITSTATUS(st)
				      : 99);
	}
	close(q[0]);
	close(p[1]);
	ASSERT_EQ((ssize_t)sizeof(b), read(p[0], &b, sizeof(b)));
	close(p[0]);
	if (ptrace(PTRACE_SEIZE, b, 0, 0)) {
		int err = errno;

		close(q[1]);
		waitpid(mid, &st, 0);
		SKIP(return, "ptrace(PTRACE_SEIZE) refused here (%s)", strerror(err));
	}
	EXPECT_EQ(-ECHILD, pidshim_open(b, PIDSHIM_OPEN_OWN, &h));
	r = pidshim_open(b, 0, &h);
	if (variant->expect == PIDSHIM_BACKEND_SIGNALFD) {
		EXPECT_EQ(-ECHILD, r);
	} else {
		ASSERT_EQ(0, r);
		EXPECT_EQ(-EAGAIN, pidshim_try_wait(h, &ex));
		w.h = h;
		ASSERT_EQ(0, pthread_create(&t, NULL, ps_bg_wait_fn, &w));
	}
	/* A stop of the tracee: the tracer, and only the tracer, sees it. */
	ASSERT_EQ(0, ptrace(PTRACE_INTERRUPT, b, 0, 0));
	memset(&si, 0, sizeof(si));
	ASSERT_EQ(0, waitid(P_PID, b, &si, WSTOPPED | WEXITED | WNOWAIT | __WALL));
	EXPECT_EQ(CLD_TRAPPED, si.si_code);
	ps_sleep_ms(100);
	if (h)
		EXPECT_EQ(-EAGAIN, pidshim_try_wait(h, &ex));
	ASSERT_EQ(b, waitpid(b, &st, __WALL));
	EXPECT_TRUE(WIFSTOPPED(st) && st >> 16 == PTRACE_EVENT_STOP)
	{
		TH_LOG("the tracer's waitpid gave 0x%x, not the stop", st);
	}
	ASSERT_EQ(0, ptrace(PTRACE_CONT, b, 0, 0));
	close(q[1]); /* it exits now; the tracer sees that first */
	ASSERT_EQ(b, waitpid(b, &st, __WALL));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 33);
	ASSERT_EQ(mid, waitpid(mid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 33);
	if (h) {
		pthread_join(t, NULL);
		EXPECT_TRUE(w.ret == -ECHILD ||
			    (w.ret == 0 && w.ex.info.si_code == CLD_EXITED &&
			     w.ex.info.si_status == 33))
		{
			TH_LOG("wait on the traced non-child: %d (si_code %d status %d)",
			       w.ret, w.ex.info.si_code, w.ex.info.si_status);
		}
		pidshim_close(h);
	}
}

PS_MAIN
