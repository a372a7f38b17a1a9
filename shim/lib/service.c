/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * service.c - the child-exit service: one thread that learns of child exits
 * and reaps, in O(1) per exit, the children the library holds handles for.
 * The signalfd backend keeps every handle here; the pidfd backends only the
 * children they spawned whose handle was closed early ("orphans"), so no
 * zombie outlives its handle.
 *
 * Why it looks like this:
 * - The thread sleeps in a blocking waitid(P_ALL, WEXITED | WNOWAIT): the
 *   kernel wakes it when any child of the process becomes a zombie, and
 *   WNOWAIT leaves that zombie in place.  No signal is involved: the
 *   library installs no SIGCHLD handler, so the program's syscalls never
 *   see an EINTR it did not ask for, and it consumes no SIGCHLD, so the
 *   program's own handler, signalfd or sigwait keep seeing every one.  A
 *   thread with SIGCHLD unblocked, or SIGCHLD coalescing, cannot make us
 *   miss an exit (GLib and libuv lose exits that way).
 * - waitid names one zombie; if it is ours (a hash lookup) we reap it with
 *   waitid(P_PID) and go back to waiting, so each exit costs O(1) work in
 *   user space however many children are tracked (the kernel still walks
 *   its child list inside waitid(P_ALL): ~60 ns a child here).  A zombie
 *   that belongs to other code (a system() in flight, a fork the program
 *   reaps itself) is never reaped by us, but it hides the others: while it lingers we check every tracked pid, and
 *   look again after a growing pause (1 ms up to 32 ms, well inside the
 *   100 ms in which a handle's fd must turn readable), since the kernel
 *   would wake us at once for the same zombie.
 * - The thread blocks every signal and owns no file descriptor.
 * - Reaping happens under the service lock and send_signal checks the
 *   state under the same lock before kill(): a PID is never signalled after
 *   the library freed it.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct service {
	pthread_mutex_t lock;
	pthread_cond_t started;
	pthread_cond_t changed; /* a handle was tracked */
	pthread_cond_t waited;	/* a waiter left waitid (CLOCK_MONOTONIC) */
	unsigned int track_gen;
	bool running;
	struct pidshim **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
	size_t live; /* entries in the table still H_RUNNING */
};

/* The first buckets need no allocation: inserting never fails, so closing
 * a handle (which must not fail) can always hand its child over. */
static struct pidshim *initial_buckets[64];

static struct service svc = {
	.buckets = initial_buckets,
	.nbuckets = 64,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.started = PTHREAD_COND_INITIALIZER,
	.changed = PTHREAD_COND_INITIALIZER,
};

static _Atomic pid_t svc_tid; /* the service thread, 0 when none */

HIDDEN void svc_lock(void)
{
	pthread_mutex_lock(&svc.lock);
}

HIDDEN void svc_unlock(void)
{
	pthread_mutex_unlock(&svc.lock);
}

/* ---- the pid table ---------------------------------------------------- */

static size_t bucket_of(pid_t pid)
{
	return ((uint32_t)pid * 2654435761u) & (svc.nbuckets - 1);
}

static void table_insert(struct pidshim *h)
{
	if (svc.count >= svc.nbuckets) {
		size_t n = svc.nbuckets * 2;
		struct pidshim **nb = calloc(n, sizeof(*nb));

		if (nb) { /* else: longer chains, still correct */
			for (size_t i = 0; i < svc.nbuckets; i++) {
				struct pidshim *x = svc.buckets[i], *next;

				for (; x; x = next) {
					size_t j = ((uint32_t)x->pid * 2654435761u) &
						   (n - 1);

					next = x->hnext;
					x->hnext = nb[j];
					nb[j] = x;
				}
			}
			if (svc.buckets != initial_buckets)
				free(svc.buckets);
			svc.buckets = nb;
			svc.nbuckets = n;
		}
	}
	size_t b = bucket_of(h->pid);
	h->hnext = svc.buckets[b];
	svc.buckets[b] = h;
	h->tracked = true;
	svc.count++;
	svc.live++; /* entries go in running */
	svc.track_gen++;
	pthread_cond_signal(&svc.changed);
}

static void table_remove(struct pidshim *h)
{
	if (!h->tracked)
		return;
	for (struct pidshim **p = &svc.buckets[bucket_of(h->pid)]; *p; p = &(*p)->hnext) {
		if (*p == h) {
			*p = h->hnext;
			h->hnext = NULL;
			h->tracked = false;
			svc.count--;
			if (atomic_load(&h->state) == H_RUNNING)
				svc.live--;
			return;
		}
	}
}

/* A running handle of pid; with waited, one a pidshim_wait sleeps on in
 * waitid(P_PID) (signalfd backend, see svc_wait_begin). */
static struct pidshim *table_find_running(pid_t pid, bool waited)
{
	for (struct pidshim *x = svc.buckets[bucket_of(pid)]; x; x = x->hnext)
		if (x->pid == pid && atomic_load(&x->state) == H_RUNNING &&
		    (!waited || x->waiters))
			return x;
	return NULL;
}

static void notify(struct pidshim *h)
{
	uint64_t one = 1;

	if (h->fd >= 0)
		(void)!write(h->fd, &one, sizeof(one));
}

static bool pending(const struct pidshim *h)
{
	int st = atomic_load(&h->state);

	return st == H_RUNNING || st == H_ZOMBIE;
}

/* h's process changed state: exited (status e), ended (H_ZOMBIE), gone. */
static void settle(struct pidshim *h, int state, const struct pidshim_exit *e)
{
	if (h->tracked && atomic_load(&h->state) == H_RUNNING)
		svc.live--;
	if (e && h->exit)
		*h->exit = *e;
	atomic_store(&h->state, state);
	notify(h);
}

static void drop_orphan_locked(struct pidshim *h)
{
	table_remove(h);
	handle_free(h);
}

/* What one handle learns from a look at its process (see below): gone
 * (r < 0), ended, or reaped; of a reap, only the first gets the status. */
static void settle_outcome(struct pidshim *x, int r, bool reap, bool *given,
			   const struct pidshim_exit *e)
{
	if (r < 0 || (reap && *given)) {
		settle(x, H_GONE, NULL);
	} else if (!reap) {
		settle(x, H_ZOMBIE, NULL);
	} else {
		settle(x, H_EXITED, e);
		*given = true;
	}
}

/*
 * Look at h's process.  With reap, reap it if it has ended: its status
 * goes to the first pending handle for that pid, the others see it gone.
 * Without reap (a handle that does not own its process, see
 * PIDSHIM_OPEN_OWN) only note that it ended (H_ZOMBIE): the program may
 * still close the handle and reap the child itself.
 * Returns 1 when it has ended, -ECHILD when it is gone (reaped by other
 * code or auto-reaped), 0 while it runs.  Orphans are freed, so h must not
 * be used after a non-zero return if it was an orphan.
 */
HIDDEN int svc_check_locked(struct pidshim *h, bool reap)
{
	struct pidshim_exit e;
	pid_t pid = h->pid;
	bool given = false, h_orphan = h->orphan;
	int r;

	memset(&e, 0, sizeof(e));
	r = sys_waitid(P_PID, pid, &e.info, WEXITED | WNOHANG | (reap ? 0 : WNOWAIT),
		       reap ? &e.rusage : NULL);
	if (r == 0 && e.info.si_pid == 0)
		return 0;
	if (r < 0 && r != -ECHILD)
		return 0;

	struct pidshim *x = svc.buckets[bucket_of(pid)], *next;

	for (; x; x = next) {
		next = x->hnext;
		if (x->pid != pid || !pending(x))
			continue;
		if (x->orphan) {
			if (reap || r < 0)
				drop_orphan_locked(x);
			continue;
		}
		settle_outcome(x, r, reap, &given, &e);
	}
	/* h not in the table: a handle copied by fork(), in the child. */
	if (!h_orphan && !h->tracked && pending(h))
		settle_outcome(h, r, reap, &given, &e);
	return r == 0 ? 1 : -ECHILD;
}

/* The PID no longer names h's process (reaped by other code and reused):
 * never look at it or signal it again. */
HIDDEN void svc_forget_locked(struct pidshim *h)
{
	if (pending(h))
		settle(h, H_GONE, NULL);
}

/* O(n): look at every tracked pid.  Used while a foreign zombie blocks
 * the O(1) path, and when no child is left at all. */
static void sweep_locked(void)
{
	for (size_t i = 0; i < svc.nbuckets; i++) {
	again:
		for (struct pidshim *x = svc.buckets[i]; x; x = x->hnext) {
			if (atomic_load(&x->state) != H_RUNNING)
				continue;
			if (svc_check_locked(x, x->owned) != 0)
				goto again; /* the chain may have changed */
		}
	}
}

/* How long the service lets a waiter reap the child it woke for. */
#define WAITER_GRACE_NS (20 * 1000000L)

/*
 * pid has ended and a pidshim_wait sleeps on it in waitid(P_PID): the
 * kernel woke that thread with us, and it reaps the child itself.  Let it,
 * rather than race it: the status takes one wake-up to reach the user,
 * and the PID stays allocated while that thread goes from its look at the
 * state into waitid.  Bounded, since a waiter can leave for good (a
 * signal handler that longjmps); after the grace, and in a sweep, the
 * service reaps as usual, which is still correct: a waitid holds the
 * struct pid it started with, so a reap ends it with ECHILD and the
 * status is in the table.  Returns pid's running handle, if one is left.
 */
static struct pidshim *await_waiter_locked(pid_t pid)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += WAITER_GRACE_NS;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (table_find_running(pid, true) &&
	       pthread_cond_timedwait(&svc.waited, &svc.lock, &until) != ETIMEDOUT)
		;
	return table_find_running(pid, false);
}

/*
 * The zombie waitid() named is pid: reap it if it is ours.  Returns true
 * when it belongs to other code (or cannot be settled), after checking
 * every tracked pid, since it hides the zombies behind it.
 *
 * No second look here: going straight back to the blocking waitid(P_ALL)
 * is that look (it returns at once if another zombie waits).  Each
 * waitid(P_ALL) walks the kernel's list of our children, so an exit costs
 * two walks (the one that finds it, the one that finds nothing and
 * sleeps) and one waitid(P_PID), with no per-child work in user space.
 */
static bool reap_named_locked(pid_t pid)
{
	struct pidshim *h = await_waiter_locked(pid);
	siginfo_t si;

	if (h && svc_check_locked(h, h->owned) != 0)
		return false;
	if (!h) {
		/* Reaped since the kernel named it (by its waiter, or a
		 * try_wait in another thread): nothing lingers. */
		memset(&si, 0, sizeof(si));
		if (sys_waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT, NULL) < 0 ||
		    si.si_pid == 0)
			return false;
	}
	sweep_locked();
	return true;
}

static void nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void *svc_main(void *arg)
{
	unsigned int seen = 0;
	bool idle = false;
	int backoff = 0;

	(void)arg;
	pthread_mutex_lock(&svc.lock);
	atomic_store(&svc_tid, (pid_t)syscall(SYS_gettid));
	pthread_cond_broadcast(&svc.started);
	for (;;) {
		siginfo_t si;
		int r;

		/* Nothing running is tracked, or no child at all since we
		 * last looked: sleep until a handle is tracked. */
		while (svc.live == 0 || (idle && svc.track_gen == seen))
			pthread_cond_wait(&svc.changed, &svc.lock);
		idle = false;
		seen = svc.track_gen;
		pthread_mutex_unlock(&svc.lock);

		memset(&si, 0, sizeof(si));
		if (backoff) {
			nap_ms(backoff);
			r = sys_waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT, NULL);
		} else {
			r = sys_waitid(P_ALL, 0, &si, WEXITED | WNOWAIT, NULL);
		}

		pthread_mutex_lock(&svc.lock);
		if (r == -ECHILD) {
			/* No child left: whatever we track is gone. */
			sweep_locked();
			idle = true;
			backoff = 0;
		} else if (r == 0 && si.si_pid && reap_named_locked(si.si_pid)) {
			backoff = backoff ? (backoff < 32 ? backoff * 2 : 32) : 1;
		} else {
			backoff = 0;
		}
	}
	return NULL;
}

static int start_locked(void)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;
	int r;

	if (pthread_attr_init(&attr))
		return -ENOMEM;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	/* The thread inherits this mask: it must never run a handler. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&t, &attr, svc_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (r)
		return -r;
	while (!atomic_load(&svc_tid))
		pthread_cond_wait(&svc.started, &svc.lock);
	svc.running = true;
	return 0;
}

/* Make sure the service thread runs in this process. */
HIDDEN int svc_prepare(void)
{
	int r = 0;

	pthread_mutex_lock(&svc.lock);
	if (!svc.running)
		r = start_locked();
	pthread_mutex_unlock(&svc.lock);
	return r;
}

/* Track a live child: insert, then look once in case it has already
 * ended (it may have, before it was in the table, unseen by the thread). */
HIDDEN void svc_track(struct pidshim *h)
{
	pthread_mutex_lock(&svc.lock);
	table_insert(h);
	svc_check_locked(h, h->owned);
	pthread_mutex_unlock(&svc.lock);
}

HIDDEN void svc_untrack_locked(struct pidshim *h)
{
	table_remove(h);
}

/*
 * A pidshim_wait with no timeout on an owned child (signalfd backend) may
 * sleep in waitid(P_PID) on the child itself, as the pidfd backend sleeps
 * on its pidfd, instead of on the eventfd the service writes after it
 * reaped: the kernel wakes the waiter at the exit, one thread hand-off
 * less.  Only owned children: nothing but pidshim reaps them, and while a
 * waiter is registered the service leaves the child to it (see
 * await_waiter_locked), so the PID the waiter passes to waitid still
 * names the child (only a sweep, while a foreign zombie lingers, may reap
 * it first).  Returns false when h no longer runs (nothing to wait for in
 * the kernel).
 */
HIDDEN bool svc_wait_begin(struct pidshim *h)
{
	bool ok;

	pthread_mutex_lock(&svc.lock);
	ok = h->tracked && atomic_load(&h->state) == H_RUNNING;
	if (ok)
		h->waiters++;
	pthread_mutex_unlock(&svc.lock);
	return ok;
}

/* The waiter's waitid returned: reap h if it ended, let the service go on. */
HIDDEN void svc_wait_end(struct pidshim *h)
{
	pthread_mutex_lock(&svc.lock);
	h->waiters--;
	if (atomic_load(&h->state) == H_RUNNING)
		svc_check_locked(h, true);
	pthread_cond_broadcast(&svc.waited);
	pthread_mutex_unlock(&svc.lock);
}

/* h (in the table) was closed while its process runs: the service now
 * owns it, reaps it and frees it. */
HIDDEN void svc_orphan_locked(struct pidshim *h)
{
	h->orphan = true;
}

/*
 * A pidfd-backend child whose handle was closed while it ran.  The service
 * was started when the child was spawned and the table needs no memory, so
 * this cannot fail: pidshim_close never loses a child, never blocks.  (In
 * a fork()ed child whose own service could not start yet, the orphan waits
 * in the table for the next start.)
 */
HIDDEN void svc_adopt_orphan(struct pidshim *h)
{
	svc_prepare();
	pthread_mutex_lock(&svc.lock);
	table_insert(h);
	svc_orphan_locked(h);
	svc_check_locked(h, true); /* frees h if it is already done */
	pthread_mutex_unlock(&svc.lock);
}

/* ---- fork ------------------------------------------------------------- */

/* The grace of await_waiter_locked is measured on the monotonic clock. */
static void init_waited(void)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&svc.waited, &a);
	pthread_condattr_destroy(&a);
}

static void atfork_prepare(void)
{
	probe_atfork_prepare();
	pthread_mutex_lock(&svc.lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&svc.lock);
	probe_atfork_parent();
}

/* The child has no service thread and none of the parent's children. */
static void atfork_child(void)
{
	for (size_t i = 0; i < svc.nbuckets; i++) {
		struct pidshim *x = svc.buckets[i], *next;

		for (; x; x = next) {
			next = x->hnext;
			x->hnext = NULL;
			x->tracked = false;
			x->waiters = 0; /* the waiting threads stayed behind */
			if (x->orphan)
				handle_free(x);
		}
		svc.buckets[i] = NULL;
	}
	svc.count = 0;
	svc.live = 0;
	svc.running = false;
	atomic_store(&svc_tid, 0);
	/* The parent's threads may have been waiting on these: start afresh. */
	pthread_cond_init(&svc.started, NULL);
	pthread_cond_init(&svc.changed, NULL);
	init_waited();
	pthread_mutex_unlock(&svc.lock);
	probe_atfork_child();
}

__attribute__((constructor)) static void svc_init(void)
{
	init_waited();
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}
