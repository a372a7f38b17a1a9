// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * heavy.c - the load tests of the promises in pidshim(7) (100 / 20 children with
 * PIDSHIM_TEST_QUICK=1): 1000 children exiting at once, where SIGCHLD
 * coalesces, must all be noticed (every fd readable, every wait the true
 * status, and the same through one set); and 8 threads each spawning and
 * waiting 200 children at the same time get 1600 correct statuses.
 */
#include "pstest.h"

FIXTURE(heavy)
{
	int n;
	struct pidshim **h;
};
PS_BACKEND_VARIANTS(heavy);

FIXTURE_SETUP(heavy)
{
	self->n = 0;
	self->h = NULL;
	if (ps_setup_backend(_metadata, PS_VARIANT))
		return;
}

FIXTURE_TEARDOWN(heavy)
{
	for (int i = 0; i < self->n; i++)
		pidshim_close(self->h[i]);
	free(self->h);
	ps_library_settle(); /* closed handles' children reaped, their fds closed */
}

/*
 * Spawns want children all reading one pipe; returns the write end.  The
 * fd limit is raised for the handles (2 fds each at most).
 */
static int spawn_herd(struct __test_metadata *_metadata, FIXTURE_DATA(heavy) * self,
		      int want)
{
	int in[2], i;
	char code[8];

	ASSERT_LE((rlim_t)(3 * want + 64), ps_raise_nofile(3 * want + 64))
	{
		TH_LOG("RLIMIT_NOFILE hard limit too low for %d handles", want);
	}
	self->h = calloc(want, sizeof(*self->h));
	ASSERT_NE(NULL, self->h);
	PS_PIPE(in);
	for (i = 0; i < want; i++) {
		snprintf(code, sizeof(code), "%d", i % 200);
		ASSERT_EQ(0, ps_spawn_helper(&self->h[i], in[0], -1, "wait", code, NULL))
		{
			TH_LOG("spawn %d of %d failed", i, want);
		}
		self->n++;
	}
	close(in[0]);
	return in[1];
}

PS_TEST_T(heavy, thousand_children_exiting_at_once_all_reported, 300)
{
	int n = ps_scaled(1000), i, ready = 0, r;
	struct pollfd *p;
	struct pidshim_exit ex;
	int64_t end;

	close(spawn_herd(_metadata, self, n)); /* all exit now */
	p = calloc(n, sizeof(*p));
	ASSERT_NE(NULL, p);
	for (i = 0; i < n; i++) {
		p[i].fd = pidshim_fd(self->h[i]);
		p[i].events = POLLIN;
	}
	/* Every fd becomes readable with no library call in between. */
	end = ps_now_ms() + 20000 * ps_slow();
	while (ready < n && ps_now_ms() < end) {
		if (poll(p, n, 1000) <= 0)
			continue;
		for (i = 0; i < n; i++)
			if (p[i].fd >= 0 && (p[i].revents & POLLIN)) {
				p[i].fd = -1; /* poll skips it from now on */
				ready++;
			}
	}
	EXPECT_EQ(n, ready);
	free(p);
	for (i = 0; i < n; i++) {
		r = pidshim_wait_timeout(self->h[i], 10000 * ps_slow(), &ex);
		EXPECT_EQ(0, r)
		{
			TH_LOG("exit of child %d missed (%d)", i, r);
		}
		if (r)
			break;
		EXPECT_EQ(CLD_EXITED, ex.info.si_code);
		EXPECT_EQ(i % 200, ex.info.si_status);
		EXPECT_EQ(pidshim_pid(self->h[i]), ex.info.si_pid);
	}
	EXPECT_TRUE(ps_no_children());
}

PS_TEST_T(heavy, thousand_children_exiting_at_once_reported_once_each_by_set, 300)
{
	int n = ps_scaled(1000), i, seen = 0, r;
	struct pidshim_set *s = NULL;
	struct pidshim *ready;
	struct pidshim_exit ex;
	char *got;
	int rel;

	rel = spawn_herd(_metadata, self, n);
	ASSERT_EQ(0, pidshim_set_new(&s));
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, pidshim_set_add(s, self->h[i]));
	got = calloc(n, 1);
	ASSERT_NE(NULL, got);
	close(rel);
	while (seen < n) {
		ready = NULL;
		r = pidshim_set_wait(s, 10000 * ps_slow(), &ready);
		EXPECT_EQ(0, r)
		{
			TH_LOG("set_wait after %d of %d: %d", seen, n, r);
		}
		if (r)
			break;
		for (i = 0; i < n && self->h[i] != ready; i++)
			;
		ASSERT_GT(n, i);
		EXPECT_EQ(0, got[i]);
		got[i] = 1;
		ASSERT_EQ(0, pidshim_try_wait(ready, &ex));
		EXPECT_EQ(i % 200, ex.info.si_status);
		seen++;
	}
	EXPECT_EQ(n, seen);
	EXPECT_EQ(-ECHILD, pidshim_set_wait(s, 100, &ready));
	free(got);
	pidshim_set_free(s);
}

/*
 * SIGCHLD coalesces: with A's SIGCHLD pending, B's exit queues none.  A
 * look that takes A's signal and reaps A must still leave B noticed: B's
 * fd readable with no further call, or a set holding B waking for it.
 * With 64 other children tracked (65 running handles once A is reaped):
 * from 64 on, the fallback's SIGCHLD mechanism puts its walk for unnamed
 * zombies off to the next look (WALK_LATER_LIVE, service.c), and this is
 * that path (both tests fail when it does not queue its own SIGCHLD).
 */
#define COALESCE_IDLE 64

/* COALESCE_IDLE idle children, then a and b (exit codes 3 and 4, each
 * once its release end closes); returns the idle children's release. */
static int herd_and_two(struct __test_metadata *_metadata, FIXTURE_DATA(heavy) * self,
			struct pidshim **a, int *rel_a, struct pidshim **b, int *rel_b)
{
	int rel_idle = spawn_herd(_metadata, self, COALESCE_IDLE);

	ASSERT_EQ(0, ps_spawn_blocker(a, rel_a, 3));
	ASSERT_EQ(0, ps_spawn_blocker(b, rel_b, 4));
	return rel_idle;
}

static void exit_in_turn(struct __test_metadata *_metadata, struct pidshim *a, int *rel_a,
			 struct pidshim *b, int *rel_b)
{
	ps_close(rel_a);
	ASSERT_TRUE(ps_exited(pidshim_pid(a), 10000 * ps_slow()));
	ps_close(rel_b);
	ASSERT_TRUE(ps_exited(pidshim_pid(b), 10000 * ps_slow()));
}

PS_TEST_T(heavy, exit_whose_sigchld_coalesced_turns_its_fd_readable, 120)
{
	struct pidshim *a = NULL, *b = NULL;
	int rel_idle, rel_a = -1, rel_b = -1;
	struct pidshim_exit ex;

	rel_idle = herd_and_two(_metadata, self, &a, &rel_a, &b, &rel_b);
	exit_in_turn(_metadata, a, &rel_a, b, &rel_b);
	ASSERT_EQ(0, pidshim_try_wait(a, &ex));
	EXPECT_EQ(3, ex.info.si_status);
	EXPECT_TRUE(ps_readable(pidshim_fd(b), 2000 * ps_slow()))
	{
		TH_LOG("B's fd stayed unreadable after A's signal was taken");
	}
	EXPECT_EQ(0, pidshim_try_wait(b, &ex));
	EXPECT_EQ(4, ex.info.si_status);
	pidshim_close(a);
	pidshim_close(b);
	close(rel_idle);
}

PS_TEST_T(heavy, exit_whose_sigchld_coalesced_wakes_its_set, 120)
{
	struct pidshim *a = NULL, *b = NULL, *ready = NULL;
	struct pidshim_set *s = NULL;
	int rel_idle, rel_a = -1, rel_b = -1;
	struct pidshim_exit ex;

	rel_idle = herd_and_two(_metadata, self, &a, &rel_a, &b, &rel_b);
	ASSERT_EQ(0, pidshim_set_new(&s));
	ASSERT_EQ(0, pidshim_set_add(s, b));
	exit_in_turn(_metadata, a, &rel_a, b, &rel_b);
	ASSERT_EQ(0, pidshim_try_wait(a, &ex));
	EXPECT_EQ(3, ex.info.si_status);
	EXPECT_EQ(0, pidshim_set_wait(s, 2000 * ps_slow(), &ready));
	EXPECT_EQ(b, ready);
	EXPECT_EQ(0, pidshim_try_wait(b, &ex));
	EXPECT_EQ(4, ex.info.si_status);
	pidshim_set_free(s);
	pidshim_close(a);
	pidshim_close(b);
	close(rel_idle);
}

/*
 * The other side of putting the walk off: a try_wait that answers
 * -EAGAIN (another child's signal was taken) must leave the fd quiet
 * until another SIGCHLD, however many children are tracked: an epoll loop
 * must never spin, nor wake twice for one exit.
 */
PS_TEST_T(heavy, try_wait_eagain_leaves_the_fd_quiet_with_many_tracked, 120)
{
	struct pidshim *h = NULL, *x = NULL;
	int rel_idle, rel_h = -1, rel_x = -1;
	struct pidshim_exit ex;

	rel_idle = herd_and_two(_metadata, self, &h, &rel_h, &x, &rel_x);
	ps_close(&rel_x);
	ASSERT_TRUE(ps_exited(pidshim_pid(x), 10000 * ps_slow()));
	/* x's SIGCHLD may wake h's fd (signalfd backend); after the
	 * -EAGAIN nothing may, until another child exits. */
	EXPECT_EQ(-EAGAIN, pidshim_try_wait(h, &ex));
	EXPECT_FALSE(ps_readable(pidshim_fd(h), 200))
	{
		TH_LOG("h's fd readable again after try_wait said -EAGAIN");
	}
	EXPECT_EQ(0, pidshim_wait(x, &ex));
	EXPECT_EQ(4, ex.info.si_status);
	ps_close(&rel_h);
	EXPECT_EQ(0, pidshim_wait(h, &ex));
	EXPECT_EQ(3, ex.info.si_status);
	pidshim_close(h);
	pidshim_close(x);
	close(rel_idle);
}

#define THREADS 8

struct worker {
	int id, n, errors, done;
	char msg[128];
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct pidshim *h[10];
	struct pidshim_exit ex;
	char code[8];
	int i, j, batch;

	for (i = 0; i < w->n; i += batch) {
		batch = w->n - i < 10 ? w->n - i : 10;
		for (j = 0; j < batch; j++) {
			snprintf(code, sizeof(code), "%d", (w->id * 31 + i + j) % 256);
			if (ps_spawn_helper(&h[j], -1, -1, "exit", code, NULL)) {
				snprintf(w->msg, sizeof(w->msg), "spawn %d failed",
					 i + j);
				w->errors++;
				batch = j;
				break;
			}
		}
		/* Wait in reverse order: exits arrive in any order. */
		for (j = batch - 1; j >= 0; j--) {
			int r = pidshim_wait(h[j], &ex);

			if (r || ex.info.si_code != CLD_EXITED ||
			    ex.info.si_status != (w->id * 31 + i + j) % 256 ||
			    ex.info.si_pid != pidshim_pid(h[j])) {
				snprintf(w->msg, sizeof(w->msg),
					 "child %d: ret %d code %d status %d", i + j, r,
					 ex.info.si_code, ex.info.si_status);
				w->errors++;
			} else {
				w->done++;
			}
			pidshim_close(h[j]);
		}
	}
	return NULL;
}

PS_TEST_T(heavy, eight_threads_200_children_each_get_correct_statuses, 300)
{
	struct worker w[THREADS];
	pthread_t t[THREADS];
	int i, done = 0;

	for (i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].id = i;
		w[i].n = ps_scaled(200);
		ASSERT_EQ(0, pthread_create(&t[i], NULL, worker, &w[i]));
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, w[i].errors)
		{
			TH_LOG("thread %d: %d errors, last: %s", i, w[i].errors,
			       w[i].msg);
		}
		done += w[i].done;
	}
	EXPECT_EQ(THREADS * ps_scaled(200), done);
	EXPECT_TRUE(ps_no_children());
}

PS_MAIN
