/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sigchld.c - which mechanism the fallback backend uses in this process,
 * and the pieces of its SIGCHLD mechanism.
 *
 * By default the fallback needs no signal: a library thread waits for
 * zombies (service.c).  A program that blocks SIGCHLD in every thread
 * before its first use of the fallback (sd-event requires that; so do
 * many single-threaded daemons built around signalfd) gets a fallback
 * with no thread at all instead: SIGCHLD stays pending for the process,
 * the library reads it from a signalfd, and its si_pid says which tracked
 * process to look at.  Each handle's fd is then an epoll instance holding
 * that signalfd (readable at any SIGCHLD: a spurious wake-up the backend
 * is allowed) and, once its process has ended, an eventfd that is always
 * readable (readyfd), so it stays readable until the handle is answered.
 * The signalfd goes in only once the fd is polled on its own (pidshim_fd
 * gave it out, or a wait polls it): the fd of a member of a set, or of a
 * handle only ever waited on directly, never holds it, and a set holds
 * one signalfd for all its members (set.c).
 *
 * The program's part of the bargain: SIGCHLD stays blocked in every
 * thread, it does not read SIGCHLD itself, and SIGCHLD is not ignored.
 * The choice is made once per process (again in a fork()ed child), by
 * reading the mask of every thread in /proc/self/task; without /proc it
 * is the thread.  Should the program break its promise later (a thread
 * with SIGCHLD unblocked, seen at the next spawn or open), the service
 * switches to the thread for good (service.c).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include "internal.h"

/* Is SIGCHLD (bit 16 of the hex SigBlk mask) blocked in thread tid? */
static bool blocked_in(const char *tid)
{
	char path[300], buf[2048], *p;
	unsigned long long mask;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%s/status", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strstr(buf, "\nSigBlk:");
	if (!p)
		return false;
	mask = strtoull(p + 8, NULL, 16);
	return mask & (1ULL << (SIGCHLD - 1));
}

/* Does the kernel reap our children itself (SIGCHLD ignored, or
 * SA_NOCLDWAIT)?  Then no zombie ever waits. */
HIDDEN bool sigchld_ignored(void)
{
	struct sigaction sa;

	return sigaction(SIGCHLD, NULL, &sa) == 0 &&
	       ((!(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_IGN) ||
		(sa.sa_flags & SA_NOCLDWAIT));
}

/* The program's promise: SIGCHLD blocked in every thread, not ignored. */
static bool sigchld_is_ours_to_read(void)
{
	struct dirent *e;
	bool all = true;
	sigset_t cur;
	DIR *d;

	if (pthread_sigmask(SIG_BLOCK, NULL, &cur) || !sigismember(&cur, SIGCHLD))
		return false;
	if (sigchld_ignored())
		return false;
	d = opendir("/proc/self/task");
	if (!d)
		return false;
	while (all && (e = readdir(d)))
		if (e->d_name[0] != '.')
			all = blocked_in(e->d_name);
	closedir(d);
	return all;
}

/* The mechanism for a process whose fallback starts now. */
HIDDEN int sigchld_decide(void)
{
	return sigchld_is_ours_to_read() ? PIDSHIM_MECHANISM_SIGNALFD
					 : PIDSHIM_MECHANISM_THREAD;
}

/* Threads of this process: /proc/self/task links "." and ".." and one
 * directory per thread (proc_task_getattr).  0 if unknown. */
static unsigned int thread_count(void)
{
	struct stat st;

	if (stat("/proc/self/task", &st) || st.st_nlink < 3)
		return 0;
	return (unsigned int)(st.st_nlink - 2);
}

/*
 * Under the SIGCHLD mechanism: does the program still keep its promise?
 * SIGCHLD not ignored, blocked in the calling thread, and, when there are
 * others, in each of them.  Every call reads every thread's mask and the
 * disposition: a thread already seen may unblock SIGCHLD at any time, and
 * the program may ignore it, with the number of threads unchanged (it
 * took a cache keyed on that number to miss both).  About 2 us in a
 * single-threaded program, 5 + 10 us per thread otherwise.
 */
HIDDEN bool sigchld_promise_kept(void)
{
	sigset_t cur;

	if (pthread_sigmask(SIG_BLOCK, NULL, &cur) || !sigismember(&cur, SIGCHLD))
		return false;
	if (thread_count() == 1) /* the caller is the only thread */
		return !sigchld_ignored();
	return sigchld_is_ours_to_read();
}

/*
 * The epoll of each handle holds a signalfd, and once its process ended an
 * always-readable eventfd.  The kernel bounds how many epoll instances may
 * lead back to one file (reverse_path_check: 1000 paths of length 1, 500
 * of length 2, 100 of 3, 50 of 4, and sets and the program's loops nest
 * the handles' epolls), so one signalfd shared by every handle would stop
 * at 1000 handles, or 50 in a set in a loop in a loop.  Handles share a
 * shard instead: a signalfd and an eventfd for at most SHARD_HANDLES
 * handles, closed when its last handle goes (the program's fd count comes
 * back).  A shard's slot never moves, and its users count is changed
 * without a lock (handles are freed under any lock or none):
 *   -1 a free slot (no fds), 0 its last user is closing it, 1.. in use.
 */
#define SHARD_HANDLES 40
#define MAX_SHARDS    1024 /* 40960 handles at once under this mechanism */

struct shard {
	int sigfd, readyfd;
	_Atomic int users;
};
static struct shard *shards[MAX_SHARDS];
static _Atomic unsigned int nshards;
static unsigned int first_shard; /* the ones below were a parent's */

static int shard_open(struct shard *sh)
{
	sigset_t chld;
	int r;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sh->sigfd = fd_new(signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC));
	sh->readyfd =
		fd_new(eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK)); /* always readable */
	if (sh->sigfd >= 0 && sh->readyfd >= 0)
		return 0;
	r = sh->sigfd < 0 ? sh->sigfd : sh->readyfd;
	if (sh->sigfd >= 0)
		close(sh->sigfd);
	if (sh->readyfd >= 0)
		close(sh->readyfd);
	return r;
}

/* Under the service lock (only one caller makes shards at a time): a
 * shard with room, opened again or made if needed. */
static int shard_get(unsigned int *idx)
{
	unsigned int n = atomic_load(&nshards), spare = n;
	struct shard *sh;
	int r;

	for (unsigned int i = first_shard; i < n; i++) {
		int u = atomic_load(&shards[i]->users);

		while (u > 0 && u < SHARD_HANDLES)
			if (atomic_compare_exchange_weak(&shards[i]->users, &u, u + 1)) {
				*idx = i;
				return 0;
			}
		if (u == -1 && spare == n)
			spare = i;
	}
	if (spare == n) {
		if (n == MAX_SHARDS)
			return -ENOSPC;
		sh = calloc(1, sizeof(*sh));
		if (!sh)
			return -ENOMEM;
		atomic_store(&sh->users, -1);
		shards[n] = sh;
		atomic_store(&nshards, n + 1);
	}
	sh = shards[spare];
	r = shard_open(sh);
	if (r < 0)
		return r;
	atomic_store(&sh->users, 1);
	*idx = spare;
	return 0;
}

/* A handle's fd: an epoll, empty until something polls it (then it holds
 * its shard's signalfd: sigchld_hook); *idx is its shard. */
HIDDEN int sigchld_handle_fd(unsigned int *idx)
{
	int fd, r = shard_get(idx);

	if (r < 0)
		return r;
	fd = fd_new(epoll_create1(EPOLL_CLOEXEC));
	if (fd < 0)
		sigchld_release(*idx);
	return fd;
}

/* The handle's process ended: its fd stays readable from now on. */
HIDDEN void sigchld_mark_ready(int handle_fd, unsigned int idx)
{
	struct epoll_event ev = { .events = EPOLLIN };

	epoll_ctl(handle_fd, EPOLL_CTL_ADD, shards[idx]->readyfd, &ev); /* EEXIST: done */
}

/* The program broke its promise: the handle's fd stops listening to
 * SIGCHLD (nobody reads it now); a mark of readiness stays. */
HIDDEN void sigchld_unhook(int handle_fd, unsigned int idx)
{
	epoll_ctl(handle_fd, EPOLL_CTL_DEL, shards[idx]->sigfd, NULL);
}

/* The handle's fd listens to SIGCHLD (its fd is polled on its own now,
 * or its set cannot listen for it): 0 (EEXIST: it did already), or
 * -errno. */
HIDDEN int sigchld_hook(int handle_fd, unsigned int idx)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (epoll_ctl(handle_fd, EPOLL_CTL_ADD, shards[idx]->sigfd, &ev) < 0 &&
	    errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * A set's own signalfd.  Every epoll that polls a signalfd hangs on the
 * one wait queue of the process's signal handlers, and a SIGCHLD wakes
 * them all: with each member's fd in the set, one exit would wake every
 * member and make the set's epoll_wait poll each of them again (O(n) in
 * the kernel per exit: 4 ms at 4000 members).  So the members of a set
 * whose fds nobody polls on their own leave their signalfd out, and the
 * set listens once for all of them (set.c).
 */
HIDDEN int sigchld_set_fd(void)
{
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	return fd_new(signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC));
}

/* A handle is freed (any thread, any lock): the last one closes the
 * shard's fds and frees the slot. */
HIDDEN void sigchld_release(unsigned int idx)
{
	struct shard *sh = shards[idx];

	if (atomic_fetch_sub(&sh->users, 1) != 1)
		return;
	if (sh->sigfd >= 0)
		close(sh->sigfd);
	if (sh->readyfd >= 0)
		close(sh->readyfd);
	sh->sigfd = sh->readyfd = -1;
	atomic_store(&sh->users, -1);
}

/* fork(): the shards' files are the parent's (epoll paths count across
 * processes): the child's own handles get new ones.  The old shards stay
 * in the table for the inert handles the child inherited, which still
 * release theirs when closed; only the child's copies of the fds go. */
HIDDEN void sigchld_forget(void)
{
	unsigned int n = atomic_load(&nshards);

	for (unsigned int i = first_shard; i < n; i++) {
		if (shards[i]->sigfd >= 0)
			close(shards[i]->sigfd);
		if (shards[i]->readyfd >= 0)
			close(shards[i]->readyfd);
		shards[i]->sigfd = shards[i]->readyfd = -1;
	}
	first_shard = n;
}

/*
 * Take every pending SIGCHLD (sigtimedwait with no wait: no fd needed,
 * SIGCHLD being blocked in the calling thread, as it is in the program's
 * and the library's threads): each exit one names goes to named(pid).
 * Returns how many were taken (0: nothing was pending).  The library's
 * own (sigchld_owe) names no exit: service.c knows it is owed.
 */
HIDDEN int sigchld_drain(void (*named)(pid_t pid))
{
	static const struct timespec zero = { 0, 0 };
	siginfo_t si;
	sigset_t chld;
	int got = 0;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	while (sigtimedwait(&chld, &si, &zero) == SIGCHLD) {
		got++;
		if (si_is_exit(&si))
			named(si.si_pid);
	}
	return got;
}

/*
 * A look for zombies no signal named is owed (service.c puts it off when
 * it is costly): queue a SIGCHLD of our own (SI_QUEUE, si_pid ours), so
 * that every signalfd of the library turns readable and no handle's fd,
 * set or blocking wait sleeps before the next pump has looked.  The
 * program keeps SIGCHLD blocked and does not read it (the mechanism's
 * promise), so it never sees this one.
 */
HIDDEN void sigchld_owe(void)
{
	int saved = errno;

	sigqueue(getpid(), SIGCHLD, (union sigval){ .sival_int = 0 });
	errno = saved;
}
