/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * set.c - pidshim_set: wait for the first of many processes, or hand one
 * epoll fd to an event loop.
 *
 * A set is an epoll instance over its members' fds, level-triggered, so a
 * member is reported until it is reaped or removed.  A member is removed
 * from the epoll (EPOLL_CTL_DEL) as soon as it is reaped and always before
 * its fd is closed: a posix_spawn child still in exec holds a copy of the
 * fd, and an epoll entry whose fd was only closed would outlive it.
 *
 * epoll data holds the member's slot and a generation number, never a
 * pointer, so an event for a member that was removed meanwhile is
 * recognised and dropped.  A member keeps its slot while it is a member
 * (freed slots are reused), so removing one costs one EPOLL_CTL_DEL and
 * nothing else.  Members that are ready together are reported in
 * turn: the one reported least recently goes first.
 *
 * Under the fallback's SIGCHLD mechanism each handle's fd is an epoll that
 * hears every SIGCHLD (sigchld.c): a set of n such fds would be woken n
 * times per exit, and even deaf ones nest an epoll in the set's (every
 * add checks the kernel's epoll paths, every exit wakes through two).
 * The set holds its own signalfd instead (data SET_SIGNAL), and such
 * members are listed, not put into the epoll (svc_set_member): an exit
 * wakes the set once, set_wait looks (svc_pump), the look queues the
 * member in the service (O(1)), and set_wait takes it from the queue
 * (svc_set_next).  An eventfd of the set's (data SET_READY) is readable
 * while that queue is not empty, so that the set's fd stays readable for
 * a program's loop, as a member's fd would keep it.
 *
 * A blocking set_wait on the fallback's thread mechanism sleeps in
 * waitid(P_ALL) itself between two looks at the epoll (svc_set_sleep), as
 * a blocking pidshim_wait does: a member's exit wakes this thread, whose
 * look reaps it for its owner and makes its fd readable; a member settled
 * by anyone else kicks it awake.  The service knows a member's set by its
 * struct set_direct (h->dset, under the service lock), never by the set.
 *
 * A set inherited through fork() is inert in the child (the epoll is the
 * parent's open file description): set_wait gives -ECHILD, add and remove
 * -ECHILD, and free only closes the child's copy of the fd.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "internal.h"

#define MAX_EVENTS 64
#define SET_SIGNAL UINT64_MAX	    /* never a member's ev_data: no slot is ~0 */
#define SET_WAKE   (UINT64_MAX - 1) /* nor ~0 - 1 */
#define SET_READY  (UINT64_MAX - 2) /* nor ~0 - 2 */

struct pidshim_set {
	int epfd;
	int sigfd;  /* SIGCHLD mechanism: the set's signalfd, or -1 */
	int wakefd; /* an eventfd in the epoll: ends the waits (see set_wake_locked) */
	pid_t creator;
	pthread_mutex_t lock;
	struct pidshim **members; /* by slot; NULL for a free slot */
	uint32_t *free_slots;	  /* stack of free slots below high */
	uint32_t high, cap;	  /* slots used so far, slots allocated */
	uint32_t nfree;
	uint32_t n; /* members */
	uint32_t gen;
	uint32_t armed; /* members that may still be reported */
	uint64_t seq;
	unsigned int waiters; /* threads inside set_wait */
	bool woken;	      /* wakefd written, not read yet */
	struct set_direct dw; /* fallback: its direct wait (service.c) */
};

static uint64_t ev_data(const struct pidshim *h)
{
	return (uint64_t)h->set_gen << 32 | h->set_idx;
}

static int set_new(struct pidshim_set **ret)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = SET_WAKE };
	struct pidshim_set *s;
	int fd, wfd;

	if (!ret)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	fd = fd_new(epoll_create1(EPOLL_CLOEXEC));
	wfd = fd < 0 ? fd : fd_new(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (wfd >= 0 && epoll_ctl(fd, EPOLL_CTL_ADD, wfd, &ev) < 0)
		wfd = -errno;
	if (wfd < 0) {
		if (fd >= 0)
			close(fd);
		free(s);
		return wfd;
	}
	s->epfd = fd;
	s->wakefd = wfd;
	s->sigfd = -1;
	s->dw.readyfd = -1;
	s->creator = self_pid();
	pthread_mutex_init(&s->lock, NULL);
	*ret = s;
	return 0;
}

PIDSHIM_API int pidshim_set_fd(const struct pidshim_set *s)
{
	return s ? s->epfd : -EINVAL;
}

/*
 * The last member that could be reported left (reaped by another thread,
 * removed, closed) while threads wait on the set: they must give -ECHILD
 * now, as waitpid(-1) does when another thread reaped the last child.
 * Nothing else would end an epoll_wait (or a direct sleep in waitid).
 * The eventfd stays readable while the set is empty, so that every
 * waiter sees it; the last one to leave reads it.
 */
static void set_wake_locked(struct pidshim_set *s)
{
	uint64_t one = 1;

	if (!s->woken) {
		s->woken = true;
		(void)!write(s->wakefd, &one, sizeof(one));
	}
	svc_set_wake(&s->dw);
}

static void set_unwake_locked(struct pidshim_set *s)
{
	uint64_t v;

	if (s->woken) {
		s->woken = false;
		(void)!read(s->wakefd, &v, sizeof(v));
	}
}

static void disarm_locked(struct pidshim_set *s, struct pidshim *h)
{
	if (!h->set_armed)
		return;
	if (!h->listed)
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	h->set_armed = false;
	if (--s->armed == 0 && s->waiters)
		set_wake_locked(s);
}

/* An fd of the set's own in its epoll, with data tag; -1 if it fails. */
static int set_own_fd(struct pidshim_set *s, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	if (fd >= 0 && epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The set listens to SIGCHLD for its members, and reports them from the
 * service's queue (SIGCHLD mechanism): can it?  The readyfd stays once
 * made (after a switch to the thread mechanism its listed members are
 * still queued); no member is listed while it is not there, so the
 * service never writes it meanwhile. */
static bool set_listens_locked(struct pidshim_set *s)
{
	if (s->dw.readyfd < 0)
		s->dw.readyfd = set_own_fd(
			s, fd_new(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), SET_READY);
	if (s->sigfd < 0 && s->dw.readyfd >= 0)
		s->sigfd = set_own_fd(s, sigchld_set_fd(), SET_SIGNAL);
	return s->sigfd >= 0 && s->dw.readyfd >= 0;
}

/* The mechanism is the thread now: nobody reads SIGCHLD any more, and a
 * pending one would keep the set readable. */
static void set_deaf_locked(struct pidshim_set *s)
{
	if (s->sigfd < 0)
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->sigfd, NULL);
	close(s->sigfd);
	s->sigfd = -1;
}

static int set_add(struct pidshim_set *s, struct pidshim *h)
{
	bool listed = false;
	int r = 0;

	if (!s || !h)
		return -EINVAL;
	if (fork_inert(s->creator) || fork_inert(h->creator))
		return -ECHILD;
	pthread_mutex_lock(&s->lock);
	if (h->set) {
		r = h->set == s ? -EEXIST : -EBUSY;
		goto out;
	}
	if (!s->nfree && s->high == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 16;
		struct pidshim **m = realloc(s->members, cap * sizeof(*m));
		uint32_t *f;

		if (!m) {
			r = -ENOMEM;
			goto out;
		}
		s->members = m;
		f = realloc(s->free_slots, cap * sizeof(*f));
		if (!f) {
			r = -ENOMEM;
			goto out;
		}
		s->free_slots = f;
		s->cap = cap;
	}
	if (++s->gen == 0)
		s->gen = 1;
	h->set_gen = s->gen;
	h->set_idx = s->nfree ? s->free_slots[s->nfree - 1] : s->high;
	h->set_seq = 0;
	h->set_armed = false;
	/* A member already reaped can never be reported: keep it out. */
	if (atomic_load(&h->state) != H_DONE) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ev_data(h) };

		listed = h->fd_epoll && svc_sigchld_mechanism() && set_listens_locked(s);
		if (!listed && epoll_ctl(s->epfd, EPOLL_CTL_ADD, h->fd, &ev) < 0) {
			r = -errno;
			goto out;
		}
		h->set_armed = true;
		s->armed++;
	}
	if (s->nfree)
		s->nfree--;
	else
		s->high++;
	s->members[h->set_idx] = h;
	s->n++;
	h->set = s;
	/* Under the set's lock: a remove in another thread cannot come
	 * between (the service must never keep a freed set's address). */
	svc_set_member(h, &s->dw, listed);
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int set_remove(struct pidshim_set *s, struct pidshim *h)
{
	if (!s || !h)
		return -EINVAL;
	if (fork_inert(s->creator))
		return h->set == s ? -ECHILD : -ENOENT;
	pthread_mutex_lock(&s->lock);
	if (h->set != s) {
		pthread_mutex_unlock(&s->lock);
		return -ENOENT;
	}
	disarm_locked(s, h);
	s->members[h->set_idx] = NULL;
	s->free_slots[s->nfree++] = h->set_idx;
	s->n--;
	h->set = NULL;
	svc_set_member(h, NULL, false);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* In a fork()ed child: take h out of its (inherited) set's memory, never
 * out of the parent's epoll. */
HIDDEN void set_forget_inert(struct pidshim *h)
{
	struct pidshim_set *s = h->set;

	if (!s)
		return;
	s->members[h->set_idx] = NULL;
	s->free_slots[s->nfree++] = h->set_idx;
	s->n--;
	if (h->set_armed)
		s->armed--;
	h->set = NULL;
	h->set_armed = false;
}

HIDDEN void set_disarm(struct pidshim *h)
{
	struct pidshim_set *s = h->set;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	if (h->set == s)
		disarm_locked(s, h);
	pthread_mutex_unlock(&s->lock);
}

/* Pick the ready member reported least recently, among the epoll's
 * events and, when queue, the service's queue, if its last report came
 * before report number limit (1: only one never reported); drop stale
 * events. */
static struct pidshim *pick_locked(struct pidshim_set *s, const struct epoll_event *ev,
				   int n, bool queue, uint64_t limit)
{
	struct pidshim *best = NULL;

	for (int i = 0; i < n; i++) {
		uint32_t idx = (uint32_t)ev[i].data.u64, gen = ev[i].data.u64 >> 32;
		struct pidshim *h;

		if (idx >= s->high || !s->members[idx] || s->members[idx]->set_gen != gen)
			continue;
		h = s->members[idx];
		if (!h->set_armed)
			continue;
		if (atomic_load(&h->state) == H_DONE) {
			disarm_locked(s, h);
			continue;
		}
		/* The fallback's SIGCHLD mechanism wakes every member at any
		 * SIGCHLD: only one whose process ended is reported. */
		if (h->ops->keeps_exit && atomic_load(&h->state) == H_RUNNING)
			continue;
		if (h->set_seq < (best ? best->set_seq : limit))
			best = h;
	}
	if (queue && s->dw.readyfd >= 0) { /* it has had listed members */
		struct pidshim *q = svc_set_next(&s->dw, best ? best->set_seq : limit);

		if (q)
			best = q;
	}
	if (best)
		best->set_seq = ++s->seq;
	return best;
}

static int set_wait(struct pidshim_set *s, int timeout_ms, struct pidshim **ready,
		    int cancel_state)
{
	struct epoll_event ev[MAX_EVENTS];
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	/* Blocking, on the fallback's thread mechanism: sleep in waitid
	 * itself (svc_set_sleep), as a blocking pidshim_wait does, so that
	 * a member's exit wakes this thread, not the watcher first. */
	bool look_again = false, direct = timeout_ms < 0 && svc_thread_mechanism();

	for (;;) {
		struct pidshim *h;
		bool heard = false, queued = false;
		int n;

		pthread_mutex_lock(&s->lock);
		n = s->armed;
		pthread_mutex_unlock(&s->lock);
		if (n == 0)
			return -ECHILD;
		if (cancel_state == PTHREAD_CANCEL_ENABLE)
			pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		n = epoll_wait(s->epfd, ev, MAX_EVENTS,
			       look_again || direct
				       ? 0
				       : deadline_remaining(deadline, timeout_ms));
		if (n < 0)
			n = errno == EINTR ? 0 : -errno;
		if (cancel_state == PTHREAD_CANCEL_ENABLE)
			pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		if (n < 0)
			return n; /* EBADF: the program closed the set's fd */
		if (n > 0) {
			for (int i = 0; i < n; i++) {
				queued = queued || ev[i].data.u64 == SET_READY;
				heard = heard || ev[i].data.u64 == SET_SIGNAL;
			}
			/* A member never reported is reported before the
			 * SIGCHLD mechanism looks at what the signals name
			 * (svc_pump): that look may owe a walk of every child
			 * (service.c), which the next call makes.  One
			 * reported already waits for the look while a signal
			 * is pending: it may name a member that ended since,
			 * which it would hide for as long as the program
			 * leaves the other unreaped.  Members the look finds
			 * ended are in the queue right after it. */
			pthread_mutex_lock(&s->lock);
			h = pick_locked(s, ev, n, queued, heard ? 1 : UINT64_MAX);
			if (!h) {
				pthread_mutex_unlock(&s->lock);
				svc_pump(&s->dw);
				pthread_mutex_lock(&s->lock);
				h = pick_locked(s, ev, n, true, UINT64_MAX);
			}
			if (s->sigfd >= 0 && !svc_sigchld_mechanism())
				set_deaf_locked(s);
			/* A wake-up for an empty set that has members again:
			 * read it, or epoll_wait would return at once from
			 * now on (while empty it stays for the other waiters). */
			for (int i = 0; i < n; i++)
				if (ev[i].data.u64 == SET_WAKE && s->armed)
					set_unwake_locked(s);
			pthread_mutex_unlock(&s->lock);
			if (h) {
				*ready = h;
				return 0;
			}
		}
		/* The set's signalfd spoke: the look just made may have marked
		 * members ready since epoll_wait returned.  Ask once more now,
		 * whatever the timeout (once). */
		look_again = heard && !look_again;
		if (look_again)
			continue;
		if (direct) {
			if (svc_set_sleep(&s->dw, s->epfd, cancel_state) == -EAGAIN)
				direct = false; /* the rest of this wait in epoll_wait */
			continue;
		}
		if (timeout_ms >= 0 && deadline_remaining(deadline, timeout_ms) == 0)
			return -ETIMEDOUT;
	}
}

/* A thread leaves set_wait (returning, or cancelled in it). */
static void set_wait_left(void *arg)
{
	struct pidshim_set *s = arg;

	pthread_mutex_lock(&s->lock);
	if (--s->waiters == 0)
		set_unwake_locked(s);
	pthread_mutex_unlock(&s->lock);
}

PIDSHIM_API int pidshim_set_wait(struct pidshim_set *s, int timeout_ms,
				 struct pidshim **ready)
{
	int cs, r;

	if (!s || !ready)
		return -EINVAL;
	if (fork_inert(s->creator))
		return -ECHILD;
	cs = cancel_off();
	pthread_mutex_lock(&s->lock);
	s->waiters++;
	pthread_mutex_unlock(&s->lock);
	pthread_cleanup_push(set_wait_left, s);
	r = set_wait(s, timeout_ms, ready, cs);
	pthread_cleanup_pop(1);
	cancel_restore(cs);
	return RC_FILTER(r, ETIMEDOUT, ECHILD, EINVAL);
}

PIDSHIM_API void pidshim_set_free(struct pidshim_set *s)
{
	int saved_errno = errno, cs;

	if (!s)
		return;
	cs = cancel_off();
	/* Members made in this process leave it; in a fork()ed child the
	 * parent's members are the parent's (their memory is the child's
	 * copy, and only the child's fd copy is closed). */
	for (uint32_t i = 0; i < s->high; i++) {
		if (!s->members[i])
			continue;
		s->members[i]->set = NULL;
		s->members[i]->set_armed = false;
		if (!fork_inert(s->creator))
			svc_set_member(s->members[i], NULL, false);
	}
	if (s->sigfd >= 0)
		close(s->sigfd);
	if (s->dw.readyfd >= 0)
		close(s->dw.readyfd);
	close(s->wakefd);
	close(s->epfd);
	pthread_mutex_destroy(&s->lock);
	free(s->members);
	free(s->free_slots);
	free(s);
	cancel_restore(cs);
	errno = saved_errno;
}

PIDSHIM_API int pidshim_set_new(struct pidshim_set **ret)
{
	int cs = cancel_off(), r = set_new(ret);

	cancel_restore(cs);
	return RC_FILTER(r, EINVAL, EMFILE, ENFILE, ENOMEM);
}

PIDSHIM_API int pidshim_set_add(struct pidshim_set *s, struct pidshim *h)
{
	int cs = cancel_off(), r = set_add(s, h);

	cancel_restore(cs);
	return RC_FILTER(r, EINVAL, EEXIST, EBUSY, ENOMEM, ENOSPC, ECHILD);
}

PIDSHIM_API int pidshim_set_remove(struct pidshim_set *s, struct pidshim *h)
{
	int cs = cancel_off(), r = set_remove(s, h);

	cancel_restore(cs);
	return RC_FILTER(r, EINVAL, ENOENT, ECHILD);
}
