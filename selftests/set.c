// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * set.c - selftests of what the sets promise (pidshim_set_wait(3)):
 * set_wait returns an exited, unreaped member or -ETIMEDOUT, never a
 * running one; members exiting together are reported in turn; a member is
 * reported until reaped or removed and never after its reap; -ECHILD for
 * a set with nothing left to report; -EEXIST, -ENOENT, -EBUSY; closing a
 * handle removes it; set_fd works in epoll and poll loops and is
 * O_CLOEXEC; freeing the set leaves the handles usable.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "pstest.h"

#define NMEM 3

FIXTURE(set)
{
	struct pidshim_set *s;
	struct pidshim *h[NMEM];
	int release[NMEM];
};
PS_BACKEND_VARIANTS(set);

FIXTURE_SETUP(set)
{
	self->s = NULL;
	for (int i = 0; i < NMEM; i++) {
		self->h[i] = NULL;
		self->release[i] = -1;
	}
	if (ps_setup_backend(_metadata, PS_VARIANT))
		return;
	ASSERT_EQ(0, pidshim_set_new(&self->s));
}

FIXTURE_TEARDOWN(set)
{
	for (int i = 0; i < NMEM; i++) {
		ps_close(&self->release[i]);
		pidshim_close(self->h[i]);
	}
	pidshim_set_free(self->s);
	ps_library_settle();
}

/* NMEM blockers (exit codes 10, 11, 12), all in the set. */
static void add_blockers(struct __test_metadata *_metadata, FIXTURE_DATA(set) * self)
{
	for (int i = 0; i < NMEM; i++) {
		ASSERT_EQ(0, ps_spawn_blocker(&self->h[i], &self->release[i], 10 + i));
		ASSERT_EQ(0, pidshim_set_add(self->s, self->h[i]));
	}
}

static int index_of(FIXTURE_DATA(set) * self, struct pidshim *h)
{
	for (int i = 0; i < NMEM; i++)
		if (self->h[i] == h)
			return i;
	return -1;
}

static void reap(struct __test_metadata *_metadata, FIXTURE_DATA(set) * self, int i)
{
	struct pidshim_exit ex;

	ASSERT_EQ(0, pidshim_try_wait(self->h[i], &ex));
	EXPECT_EQ(CLD_EXITED, ex.info.si_code);
	EXPECT_EQ(10 + i, ex.info.si_status);
}

PS_TEST(set, wait_returns_the_exited_member_unreaped)
{
	struct pidshim *ready = NULL;

	add_blockers(_metadata, self);
	ps_close(&self->release[1]);
	ASSERT_EQ(0, pidshim_set_wait(self->s, 10000 * ps_slow(), &ready));
	EXPECT_EQ(self->h[1], ready);
	/* Not reaped by the set: the handle's own wait has the status. */
	reap(_metadata, self, 1);
}

PS_TEST(set, wait_times_out_and_never_returns_running_member)
{
	static char mark;
	struct pidshim *const sentinel = (struct pidshim *)&mark;
	struct pidshim *ready = sentinel;
	int64_t t0;
	int st;

	add_blockers(_metadata, self);
	EXPECT_EQ(-ETIMEDOUT, pidshim_set_wait(self->s, 0, &ready));
	for (int i = 0; i < 3; i++) {
		/* A foreign SIGCHLD must not make a running member "ready". */
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (pid == 0)
			ps_child_exit(0);
		t0 = ps_now_ms();
		EXPECT_EQ(-ETIMEDOUT, pidshim_set_wait(self->s, 100, &ready));
		EXPECT_LE(90, ps_now_ms() - t0);
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
	}
	EXPECT_EQ(sentinel, ready);
}

/* Two members exit at once: successive calls report both, unreaped. */
PS_TEST(set, two_simultaneous_exits_reported_by_successive_calls)
{
	struct pidshim *a = NULL, *b = NULL;
	int in[2], i;

	PS_PIPE(in);
	for (i = 0; i < 2; i++) {
		char code[4];

		snprintf(code, sizeof(code), "%d", 10 + i);
		ASSERT_EQ(0, ps_spawn_helper(&self->h[i], in[0], -1, "wait", code, NULL));
		ASSERT_EQ(0, pidshim_set_add(self->s, self->h[i]));
	}
	ASSERT_EQ(0, ps_spawn_blocker(&self->h[2], &self->release[2], 12));
	ASSERT_EQ(0, pidshim_set_add(self->s, self->h[2]));
	close(in[0]);
	close(in[1]); /* both exit now */
	/* Both have exited (the handle fds say so, and the kernel: under the
	 * SIGCHLD mechanism the first exit wakes both fds) before set_wait. */
	ASSERT_TRUE(ps_readable(pidshim_fd(self->h[0]), 5000 * ps_slow()));
	ASSERT_TRUE(ps_readable(pidshim_fd(self->h[1]), 5000 * ps_slow()));
	ASSERT_TRUE(ps_exited(pidshim_pid(self->h[0]), 5000 * ps_slow()));
	ASSERT_TRUE(ps_exited(pidshim_pid(self->h[1]), 5000 * ps_slow()));
	ASSERT_EQ(0, pidshim_set_wait(self->s, 5000 * ps_slow(), &a));
	ASSERT_EQ(0, pidshim_set_wait(self->s, 5000 * ps_slow(), &b));
	EXPECT_NE(a, b)
	{
		TH_LOG("member %d reported twice while member %d also exited",
		       index_of(self, a), 1 - index_of(self, a));
	}
	EXPECT_GT(2, index_of(self, a));
	EXPECT_GT(2, index_of(self, b));
	EXPECT_LE(0, index_of(self, a));
	EXPECT_LE(0, index_of(self, b));
	/* Reaping one at a time still reports the other. */
	reap(_metadata, self, index_of(self, a));
	ASSERT_EQ(0, pidshim_set_wait(self->s, 5000 * ps_slow(), &b));
	EXPECT_NE(a, b);
	reap(_metadata, self, index_of(self, b));
	EXPECT_EQ(-ETIMEDOUT, pidshim_set_wait(self->s, 50, &b));
}

PS_TEST(set, member_reported_until_reaped_and_never_after)
{
	struct pidshim *ready = NULL;

	add_blockers(_metadata, self);
	ps_close(&self->release[0]);
	for (int i = 0; i < 3; i++) {
		ready = NULL;
		ASSERT_EQ(0, pidshim_set_wait(self->s, 5000 * ps_slow(), &ready));
		EXPECT_EQ(self->h[0], ready);
	}
	reap(_metadata, self, 0);
	EXPECT_EQ(-ETIMEDOUT, pidshim_set_wait(self->s, 100, &ready));
	/* Reaped before set_wait ever looked: never reported either. */
	ps_close(&self->release[2]);
	{
		struct pidshim_exit ex;

		ASSERT_EQ(0, pidshim_wait(self->h[2], &ex));
	}
	EXPECT_EQ(-ETIMEDOUT, pidshim_set_wait(self->s, 100, &ready));
	/* Only reaped members left besides one that exits now. */
	ps_close(&self->release[1]);
	ASSERT_EQ(0, pidshim_set_wait(self->s, 5000 * ps_slow(), &ready));
	EXPECT_EQ(self->h[1], ready);
	reap(_metadata, self, 1);
	/* Nothing left that could ever be reported. */
	EXPECT_EQ(-ECHILD, pidshim_set_wait(self->s, 100, &ready));
	EXPECT_EQ(-ECHILD, pidshim_set_wait(self->s, -1, &ready));
}

/* The library learns of an exit without anyone polling the handle's fd:
 * (a signal's look at it reaps it into the handle on the fallback). */
static void settle_unpolled(struct __test_metadata *_metadata, FIXTURE_DATA(set) * self,
			    int i)
{
	ps_close(&self->release[i]);
	ASSERT_TRUE(ps_exited(pidshim_pid(self->h[i]), 5000 * ps_slow()));
	ASSERT_EQ(0, pidshim_send_signal(self->h[i], 0));
}

/* Ready members not reaped are reported in turn: once each has been, the
 * next calls go round them, the least recently reported first. */
PS_TEST(set, members_ready_together_are_reported_in_turn)
{
	struct pidshim *ready, *order[NMEM];
	bool seen[NMEM] = { false };
	int64_t end = ps_now_ms() + 5000 * ps_slow();
	int nseen = 0;

	add_blockers(_metadata, self);
	for (int i = 0; i < NMEM; i++)
		ps_close(&self->release[i]);
	for (int i = 0; i < NMEM; i++)
		ASSERT_TRUE(ps_exited(pidshim_pid(self->h[i]), 5000 * ps_slow()));
	/* Their fds are never asked for: the set alone tells. */
	while (nseen < NMEM && ps_now_ms() < end) {
		ASSERT_EQ(0, pidshim_set_wait(self->s, 5000 * ps_slow(), &ready));
		ASSERT_LE(0, index_of(self, ready));
		if (!seen[index_of(self, ready)])
			nseen++;
		seen[index_of(self, ready)] = true;
	}
	ASSERT_EQ(NMEM, nseen);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < NMEM; i++) {
			ASSERT_EQ(0, pidshim_set_wait(self->s, 5000 * ps_slow(), &ready));
			for (int j = 0; j < i; j++)
				ASSERT_NE(order[j], ready)
				{
					TH_LOG("round %d: member %d reported again "
					       "before "
					       "the others",
					       round, index_of(self, ready));
				}
			if (round > 0)
				EXPECT_EQ(order[i], ready);
			order[i] = ready;
		}
	}
	for (int i = 0; i < NMEM; i++)
		reap(_metadata, self, i);
	EXPECT_EQ(-ECHILD, pidshim_set_wait(self->s, 0, &ready));
}

/* RLIMIT_NOFILE lowered to 64 and every slot under it taken by a copy of
 * base (at most 128, in held): how many, or -1. */
static int fill_fds(int base, int held[128])
{
	struct rlimit rl;
	int n = 0, fd;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	rl.rlim_cur = 64;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	while (n < 128 && (fd = fcntl(base, F_DUPFD_CLOEXEC, 0)) >= 0)
		held[n++] = fd;
	return n;
}

/* A member reported but not reaped yet must not hide one that ends
 * later: the later one is reported within a few calls. */
PS_TEST(set, member_reported_and_not_reaped_hides_no_later_exit)
{
	struct pidshim *ready = NULL;
	bool later = false;

	add_blockers(_metadata, self);
	ps_close(&self->release[0]);
	ASSERT_EQ(0, pidshim_set_wait(self->s, 5000 * ps_slow(), &ready));
	ASSERT_EQ(self->h[0], ready);
	ps_close(&self->release[1]);
	ASSERT_TRUE(ps_exited(pidshim_pid(self->h[1]), 5000 * ps_slow()));
	for (int i = 0; i < 100 && !later; i++) {
		ASSERT_EQ(0, pidshim_set_wait(self->s, 5000 * ps_slow(), &ready));
		ASSERT_NE(self->h[2], ready);
		later = ready == self->h[1];
		if (!later)
			ps_sleep_ms(10); /* time for the thread mechanism's watcher */
	}
	EXPECT_TRUE(later)
	{
		TH_LOG("100 calls reported only member 0, which waits to be reaped");
	}
	reap(_metadata, self, 0);
	reap(_metadata, self, 1);
}

/* A member whose exit the library knew before it joined is reported at
 * once, and one that joins and leaves again never. */
PS_TEST(set, member_that_ended_before_it_joined_is_reported_at_once)
{
	struct pidshim *ready = NULL;

	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, ps_spawn_blocker(&self->h[i], &self->release[i], 10 + i));
	settle_unpolled(_metadata, self, 0);
	settle_unpolled(_metadata, self, 1);
	ASSERT_EQ(0, pidshim_set_add(self->s, self->h[1]));
	ASSERT_EQ(0, pidshim_set_remove(self->s, self->h[1]));
	EXPECT_EQ(-ECHILD, pidshim_set_wait(self->s, 0, &ready));
	ASSERT_EQ(0, pidshim_set_add(self->s, self->h[0]));
	ASSERT_EQ(0, pidshim_set_wait(self->s, 0, &ready));
	EXPECT_EQ(self->h[0], ready);
	EXPECT_TRUE(ps_readable(pidshim_set_fd(self->s), 0));
	reap(_metadata, self, 0);
	EXPECT_FALSE(ps_readable(pidshim_set_fd(self->s), 0));
	EXPECT_EQ(-ECHILD, pidshim_set_wait(self->s, 0, &ready));
	reap(_metadata, self, 1);
}

/* A handle's fd asked for only after its process ended is readable at
 * once, in a set or not. */
PS_TEST(set, fd_asked_for_after_the_exit_is_readable)
{
	struct pidshim *ready = NULL;

	add_blockers(_metadata, self);
	ASSERT_EQ(0, pidshim_set_remove(self->s, self->h[2]));
	settle_unpolled(_metadata, self, 2);
	EXPECT_TRUE(ps_readable(pidshim_fd(self->h[2]), 0));
	ps_close(&self->release[0]);
	ASSERT_EQ(0, pidshim_set_wait(self->s, 5000 * ps_slow(), &ready));
	EXPECT_EQ(self->h[0], ready);
	EXPECT_TRUE(ps_readable(pidshim_fd(self->h[0]), 0));
	EXPECT_FALSE(ps_readable(pidshim_fd(self->h[1]), 0));
	reap(_metadata, self, 0);
	reap(_metadata, self, 2);
}

/*
 * A set that cannot make the fds it listens with under the SIGCHLD
 * mechanism (none free) still takes the member, into its epoll; once fds
 * are free again the next member is queued by the service instead.  Both
 * kinds in one set are reported, in turn, and nothing leaks.
 */
PS_TEST(set, member_added_with_no_fd_free_is_reported_beside_the_others)
{
	struct pidshim *ready, *last = NULL;
	bool seen[2] = { false };
	int held[128], n, base, fds;
	struct rlimit saved;
	int64_t end;

	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, ps_spawn_blocker(&self->h[i], &self->release[i], 10 + i));
	base = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, base);
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &saved));
	n = fill_fds(base, held);
	ASSERT_LE(0, n);
	EXPECT_EQ(0, pidshim_set_add(self->s, self->h[0]));
	/* One fd free: still short of the two the set would need. */
	close(held[--n]);
	EXPECT_EQ(-EEXIST, pidshim_set_add(self->s, self->h[0]));
	while (n > 0)
		close(held[--n]);
	setrlimit(RLIMIT_NOFILE, &saved);
	ASSERT_EQ(0, pidshim_set_add(self->s, self->h[1]));
	for (int i = 0; i < 2; i++)
		ps_close(&self->release[i]);
	end = ps_now_ms() + 5000 * ps_slow();
	while (!(seen[0] && seen[1]) && ps_now_ms() < end) {
		ASSERT_EQ(0, pidshim_set_wait(self->s, 5000 * ps_slow(), &ready));
		ASSERT_LE(0, index_of(self, ready));
		ASSERT_GT(2, index_of(self, ready));
		seen[index_of(self, ready)] = true;
		last = ready;
	}
	ASSERT_TRUE(seen[0] && seen[1])
	{
		TH_LOG("reported: member 0 %s, member 1 %s", seen[0] ? "yes" : "no",
		       seen[1] ? "yes" : "no");
	}
	/* Both ready, neither reaped: the other one comes next. */
	ASSERT_EQ(0, pidshim_set_wait(self->s, 0, &ready));
	EXPECT_NE(last, ready);
	reap(_metadata, self, 0);
	reap(_metadata, self, 1);
	EXPECT_EQ(-ECHILD, pidshim_set_wait(self->s, 0, &ready));
	close(base);
	/* The set's fds go back to the program with it. */
	fds = ps_fd_count();
	pidshim_set_free(self->s);
	self->s = NULL;
	EXPECT_GE(fds - 2, ps_fd_count());
}

PS_TEST(set, empty_set_gives_echild)
{
	struct pidshim *ready = NULL;

	EXPECT_EQ(-ECHILD, pidshim_set_wait(self->s, 0, &ready));
	EXPECT_EQ(-ECHILD, pidshim_set_wait(self->s, 100, &ready));
	EXPECT_EQ(-ECHILD, pidshim_set_wait(self->s, -1, &ready));
	EXPECT_NULL(ready);
}

PS_TEST(set, add_twice_eexist_other_set_ebusy_remove_nonmember_enoent)
{
	struct pidshim_set *other = NULL;
	struct pidshim *ready = NULL;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h[0], &self->release[0], 10));
	ASSERT_EQ(0, ps_spawn_blocker(&self->h[1], &self->release[1], 11));
	ASSERT_EQ(0, pidshim_set_add(self->s, self->h[0]));
	EXPECT_EQ(-EEXIST, pidshim_set_add(self->s, self->h[0]));
	ASSERT_EQ(0, pidshim_set_new(&other));
	EXPECT_EQ(-EBUSY, pidshim_set_add(other, self->h[0]));
	EXPECT_EQ(-ENOENT, pidshim_set_remove(self->s, self->h[1]));
	EXPECT_EQ(-ENOENT, pidshim_set_remove(other, self->h[0]));
	EXPECT_EQ(-EINVAL, pidshim_set_add(NULL, self->h[0]));
	EXPECT_EQ(-EINVAL, pidshim_set_add(self->s, NULL));
	EXPECT_EQ(-EINVAL, pidshim_set_remove(self->s, NULL));
	EXPECT_EQ(-EINVAL, pidshim_set_wait(NULL, 0, &ready));
	EXPECT_EQ(-EINVAL, pidshim_set_wait(self->s, 0, NULL));
	EXPECT_EQ(-EINVAL, pidshim_set_fd(NULL));
	/* Remove, then it may join the other set. */
	EXPECT_EQ(0, pidshim_set_remove(self->s, self->h[0]));
	EXPECT_EQ(-ENOENT, pidshim_set_remove(self->s, self->h[0]));
	EXPECT_EQ(0, pidshim_set_add(other, self->h[0]));
	ps_close(&self->release[0]);
	ASSERT_EQ(0, pidshim_set_wait(other, 5000 * ps_slow(), &ready));
	EXPECT_EQ(self->h[0], ready);
	/* The removed member is not reported by its former set. */
	EXPECT_EQ(-ECHILD, pidshim_set_wait(self->s, 100, &ready));
	pidshim_set_free(other);
}

/*
 * The error filter at the public boundary: epoll_wait's EBADF, after the
 * program closed the set's fd, is not an error pidshim_set_wait lists, so
 * it reaches the caller as -EFAULT (it used to be -EINVAL, which means a
 * NULL argument here).  A copy of the fd keeps the epoll to put it back.
 */
PS_TEST(set, closed_set_fd_gives_efault_and_changes_nothing)
{
	struct pidshim *ready = NULL;
	int fd, keep, r;

	add_blockers(_metadata, self);
	fd = pidshim_set_fd(self->s);
	ASSERT_LE(0, fd);
	keep = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	ASSERT_LE(0, keep);
	ASSERT_EQ(0, close(fd));
	r = pidshim_set_wait(self->s, 100, &ready);
	ASSERT_EQ(fd, dup3(keep, fd, O_CLOEXEC));
	close(keep);
	EXPECT_EQ(-EFAULT, r);
	EXPECT_NULL(ready);
	ps_close(&self->release[1]);
	ASSERT_EQ(0, pidshim_set_wait(self->s, 5000 * ps_slow(), &ready));
	EXPECT_EQ(self->h[1], ready);
	reap(_metadata, self, 1);
}

PS_TEST(set, removed_member_is_not_reported)
{
	struct pidshim *ready = NULL;

	add_blockers(_metadata, self);
	ASSERT_EQ(0, pidshim_set_remove(self->s, self->h[0]));
	ps_close(&self->release[0]);
	EXPECT_EQ(-ETIMEDOUT, pidshim_set_wait(self->s, 200, &ready));
	reap(_metadata, self, 0);
}

PS_TEST(set, close_removes_handle_from_its_set)
{
	struct pidshim *ready = NULL;

	add_blockers(_metadata, self);
	ps_close(&self->release[0]);
	ASSERT_EQ(0, pidshim_set_wait(self->s, 5000 * ps_slow(), &ready));
	EXPECT_EQ(self->h[0], ready);
	pidshim_close(self->h[0]); /* exited, unreaped, still a member */
	self->h[0] = NULL;
	EXPECT_EQ(-ETIMEDOUT, pidshim_set_wait(self->s, 100, &ready));
	pidshim_close(self->h[1]); /* running */
	self->h[1] = NULL;
	ps_close(&self->release[1]);
	EXPECT_EQ(-ETIMEDOUT, pidshim_set_wait(self->s, 200, &ready));
	pidshim_close(self->h[2]);
	self->h[2] = NULL;
	EXPECT_EQ(-ECHILD, pidshim_set_wait(self->s, 0, &ready));
}

/* set_fd drives an epoll loop (and a poll) to all exits, with no spin. */
PS_TEST(set, set_fd_in_epoll_loop_reports_every_exit)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct pidshim *ready;
	int ep, fd, seen = 0, wakeups = 0;
	int64_t end;

	add_blockers(_metadata, self);
	fd = pidshim_set_fd(self->s);
	ASSERT_LE(0, fd);
	EXPECT_TRUE(ps_cloexec(fd));
	if (variant->expect != PIDSHIM_BACKEND_SIGNALFD) {
		EXPECT_FALSE(ps_readable(fd, 50));
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	for (int i = 0; i < NMEM; i++)
		ps_close(&self->release[i]);
	end = ps_now_ms() + 10000 * ps_slow();
	while (seen < NMEM && ps_now_ms() < end) {
		if (epoll_wait(ep, &out, 1, 1000) <= 0)
			continue;
		wakeups++;
		ready = NULL;
		if (pidshim_set_wait(self->s, 0, &ready) == 0) {
			int i = index_of(self, ready);

			ASSERT_LE(0, i);
			reap(_metadata, self, i);
			seen++;
		}
	}
	EXPECT_EQ(NMEM, seen);
	EXPECT_GE(4 * NMEM, wakeups);
	/* Everything reaped: the fd is quiet (a spin would show here). */
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 100));
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(ep);
}

PS_TEST(set, set_fd_readable_in_poll_when_member_exits)
{
	struct pidshim *ready = NULL;

	add_blockers(_metadata, self);
	ps_close(&self->release[2]);
	EXPECT_TRUE(ps_readable(pidshim_set_fd(self->s), 5000 * ps_slow()));
	ASSERT_EQ(0, pidshim_set_wait(self->s, 0, &ready));
	EXPECT_EQ(self->h[2], ready);
	reap(_metadata, self, 2);
}

/* How many epoll instances of this process poll a signalfd: each is
 * woken at every SIGCHLD (read from /proc/self/fdinfo). */
static int epolls_hearing_sigchld(void)
{
	char path[300], link[64], line[256];
	struct dirent *e;
	int n = 0;
	DIR *d = opendir("/proc/self/fd");

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		FILE *f;
		ssize_t l;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		l = readlink(path, link, sizeof(link) - 1);
		if (l < 0)
			continue;
		link[l] = '\0';
		if (strcmp(link, "anon_inode:[eventpoll]"))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			int tfd;

			if (sscanf(line, "tfd: %d", &tfd) != 1)
				continue;
			snprintf(path, sizeof(path), "/proc/self/fd/%d", tfd);
			l = readlink(path, link, sizeof(link) - 1);
			if (l < 0)
				continue;
			link[l] = '\0';
			if (!strcmp(link, "anon_inode:[signalfd]")) {
				n++;
				break;
			}
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

/*
 * Noticing an exit costs O(1) whatever the number of members: under the
 * SIGCHLD mechanism a set of members whose fds nobody polls on their own
 * is woken once per SIGCHLD, not once per member (each epoll that polls a
 * signalfd is woken at every SIGCHLD; with NMEM members that used to be
 * NMEM epolls).  A member's fd asked for with pidshim_fd hears SIGCHLD on
 * its own again, and turns readable when its process exits with no call
 * on the set.
 */
PS_TEST(set, members_hear_sigchld_once_through_the_set)
{
	struct pidshim *ready = NULL;
	int fd;

	add_blockers(_metadata, self);
	ASSERT_LE(epolls_hearing_sigchld(), 1); /* the set's, or none */
	fd = pidshim_fd(self->h[1]);
	ASSERT_GE(fd, 0);
	if (variant->sigchld)
		ASSERT_EQ(2, epolls_hearing_sigchld());
	ps_close(&self->release[1]);
	EXPECT_TRUE(ps_readable(fd, 5000 * ps_slow()));
	ps_close(&self->release[0]);
	ASSERT_EQ(0, pidshim_set_wait(self->s, 5000 * ps_slow(), &ready));
	ASSERT_TRUE(ready == self->h[0] || ready == self->h[1]);
	reap(_metadata, self, index_of(self, ready));
	ASSERT_EQ(0, pidshim_set_wait(self->s, 5000 * ps_slow(), &ready));
	ASSERT_TRUE(ready == self->h[0] || ready == self->h[1]);
	reap(_metadata, self, index_of(self, ready));
	EXPECT_EQ(-ETIMEDOUT, pidshim_set_wait(self->s, 0, &ready));
}

/* A member's own blocking wait still ends at its exit, and a member
 * removed from its set and waited on its own still hears SIGCHLD. */
PS_TEST(set, member_waited_on_its_own_still_wakes)
{
	struct pidshim_exit ex;

	add_blockers(_metadata, self);
	ASSERT_EQ(0, pidshim_set_remove(self->s, self->h[2]));
	ps_close(&self->release[0]);
	ps_close(&self->release[2]);
	ASSERT_EQ(0, pidshim_wait_timeout(self->h[0], 5000 * ps_slow(), &ex));
	EXPECT_EQ(10, ex.info.si_status);
	ASSERT_EQ(0, pidshim_wait_timeout(self->h[2], 5000 * ps_slow(), &ex));
	EXPECT_EQ(12, ex.info.si_status);
}

struct spinner {
	volatile int stop;
	int errors;
};

/* Spawns and reaps children non-stop: their exec windows hold fd copies. */
static void *spawn_loop(void *arg)
{
	struct spinner *sp = arg;
	struct pidshim_exit ex;

	while (!__atomic_load_n(&sp->stop, __ATOMIC_SEQ_CST)) {
		struct pidshim *h = NULL;

		if (ps_spawn_helper(&h, -1, -1, "exit", "0", NULL) ||
		    pidshim_wait(h, &ex))
			sp->errors++;
		pidshim_close(h);
	}
	return NULL;
}

/*
 * A closed member is never reported, even when a posix_spawn child of
 * another thread held a copy of its fd at the time of the close (an epoll
 * entry outlives close() unless it is removed first): set_wait must not
 * hand back the freed handle when that process exits.
 */
PS_TEST(set, closed_member_never_reported_while_other_thread_spawns)
{
	struct spinner sp = { 0, 0 };
	struct pidshim *ready;
	pthread_t t;
	int rounds = ps_scaled(50), i, r;

	ASSERT_EQ(0, ps_spawn_blocker(&self->h[0], &self->release[0], 10));
	ASSERT_EQ(0, pidshim_set_add(self->s, self->h[0])); /* stays running */
	ASSERT_EQ(0, pthread_create(&t, NULL, spawn_loop, &sp));
	for (i = 0; i < rounds; i++) {
		ASSERT_EQ(0, ps_spawn_blocker(&self->h[1], &self->release[1], 11));
		ASSERT_EQ(0, pidshim_set_add(self->s, self->h[1]));
		pidshim_close(self->h[1]);
		self->h[1] = NULL;
		ps_close(&self->release[1]);
		ready = NULL;
		r = pidshim_set_wait(self->s, 30, &ready);
		EXPECT_EQ(-ETIMEDOUT, r)
		{
			TH_LOG("round %d: set_wait gave %d, member %p (the running one "
			       "is %p)",
			       i, r, (void *)ready, (void *)self->h[0]);
		}
		if (r != -ETIMEDOUT)
			break;
	}
	__atomic_store_n(&sp.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	EXPECT_EQ(0, sp.errors);
}

PS_TEST(set, free_leaves_member_handles_usable)
{
	struct pidshim_exit ex;

	add_blockers(_metadata, self);
	pidshim_set_free(self->s);
	self->s = NULL;
	pidshim_set_free(NULL);
	for (int i = 0; i < NMEM; i++) {
		ps_close(&self->release[i]);
		ASSERT_EQ(0, pidshim_wait(self->h[i], &ex));
		EXPECT_EQ(10 + i, ex.info.si_status);
	}
}

/*
 * A set takes two fds (its epoll and the eventfd in it): with none or one
 * free, set_new gives -EMFILE and leaves nothing open; with two it works.
 */
PS_TEST(set, new_needs_two_fds_and_leaks_none_when_short)
{
	struct pidshim_set *s = NULL;
	struct rlimit saved;
	int held[128], n, base, fd;

	base = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, base);
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &saved));
	n = fill_fds(base, held);
	ASSERT_LE(0, n);
	for (int spare = 0; spare <= 2; spare++) {
		int back = 0;

		for (int i = 0; i < spare; i++)
			close(held[--n]);
		s = NULL;
		if (spare < 2) {
			EXPECT_EQ(-EMFILE, pidshim_set_new(&s));
			EXPECT_EQ(NULL, s);
		} else {
			EXPECT_EQ(0, pidshim_set_new(&s));
			pidshim_set_free(s);
		}
		/* Every slot freed above is free again. */
		while (n < 128 && (fd = fcntl(base, F_DUPFD_CLOEXEC, 0)) >= 0) {
			held[n++] = fd;
			back++;
		}
		EXPECT_EQ(spare, back)
		{
			TH_LOG("%d fd(s) free: %d free after set_new", spare, back);
		}
	}
	while (n > 0)
		close(held[--n]);
	close(base);
	setrlimit(RLIMIT_NOFILE, &saved);
}

PS_MAIN
