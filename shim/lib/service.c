/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * service.c - the pid table, and the background threads the library runs
 * only while something needs them.
 *
 * The table maps PIDs to handles.  The fallback backend keeps every
 * handle there; the pidfd backends keep the handles that own their child
 * (spawned, or PIDSHIM_OPEN_OWN), so that a second handle on the same
 * process knows the status is not its to take.
 *
 * Threads (all with every signal blocked, none holding a file descriptor
 * of the program's):
 * - fallback: a watcher sleeps in waitid(P_ALL, WEXITED | WNOWAIT).  The
 *   kernel wakes it when any child of the process ends, and WNOWAIT leaves
 *   the zombie in place.  No signal is involved: the library installs no
 *   SIGCHLD handler (the program never sees an EINTR it did not ask for)
 *   and consumes no SIGCHLD (the program's own handler, signalfd or
 *   sigwait keep seeing every one); a thread with SIGCHLD unblocked, or
 *   SIGCHLD coalescing, cannot make it miss an exit.  If the zombie is
 *   ours (a hash lookup, then its /proc fd proves the PID still names the
 *   handle's process) it is reaped for its owner, so an exit costs O(1)
 *   in user space however many children are tracked (the kernel walks its
 *   child list inside waitid(P_ALL): the floor of any design with neither
 *   pidfds nor SIGCHLD).  A zombie it may not reap (other code's, a
 *   handle's that does not own it, a ptrace stop for this process as the
 *   tracer) hides the ones behind it: while it lingers every tracked
 *   handle is looked at, after a growing pause (1 ms up to 32 ms, inside
 *   the 100 ms in which a handle's fd must turn readable).
 * - fallback: a ticker looks every 250 ms, a handle at a time, whether
 *   some tracked process was reaped by other code (a SIGCHLD handler
 *   calling waitpid(-1), SIGCHLD ignored): the watcher never hears of
 *   those, and their handles' fds must still turn readable within 1 s.
 *   It runs only beside a watcher asleep in waitid; a watcher that is not
 *   (blocking waits sleep in waitid themselves, see svc_wait_direct)
 *   makes those rounds itself, so a spawn-and-wait loop has one thread.
 * - pidfd backends: a reaper, only while a spawned child whose handle was
 *   closed early still runs: it polls those pidfds and reaps each through
 *   its pidfd when it exits, so no zombie outlives its handle and no
 *   reused PID is ever touched.
 * A thread ends once it has had nothing to do for IDLE_MS, and starts
 * again on demand; pidshim_quiesce() ends them at once.
 *
 * Reaping happens under the service lock, and send_signal checks the
 * process under the same lock before kill(): the library never signals a
 * PID after it freed it.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "internal.h"

#define IDLE_MS 100
/* Direct waits (svc_wait_direct): in use when one slept this recently;
 * how long the watcher then leaves a new handle to them. */
#define DIRECT_RECENT_MS 1000
#define DIRECT_LAG_MS	 10
/* While one sleeps, the watcher still looks (once, without sleeping)
 * every PARK_MS: a thread that left its wait by longjmp() from a signal
 * handler is still counted, and must not leave the handles' fds
 * unwatched. */
#define PARK_MS 50
/* After this long every direct wait has seen the kick child's zombie. */
#define KICK_HOLD_MS 1000
#define TICK_MS	     250
/* How often a pidfd orphan whose zombie a tracer holds is looked at. */
#define HELD_MS 20

struct worker {
	pthread_t t;
	bool running;  /* started, and has not ended yet */
	bool joinable; /* started, not joined yet */
	bool stop;     /* asked to end */
	pid_t exiting; /* the thread id of the last one that ended */
};

struct service {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* tracked, orphaned, or told to quit */
	pthread_cond_t work;	/* the idle watcher: something to watch, or stop */
	struct pidshim **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
	size_t live;	   /* fallback entries still H_RUNNING */
	bool quit;	   /* pidshim_quiesce: workers end now */
	bool in_waitid;	   /* the watcher sleeps in waitid (cancellable) */
	bool watcher_idle; /* the watcher waits for something to watch */
	struct worker watcher, ticker, reaper;
	/* pidfd backends: orphans, and the reaper's epoll over their pidfds */
	size_t orphans;
	size_t held; /* orphans whose zombie a tracer holds (not armed) */
	int epfd;
	/* fallback: its mechanism (0 undecided, see sigchld.c) */
	int mech;
	bool pump_lost;	   /* a signal named a tracked process that was gone */
	bool walk_owed;	   /* the pump's waitid(P_ALL) was put off */
	size_t fb_orphans; /* fallback handles closed while their process ran */
	/* the pump's caller: the handle it answers for, or the set */
	struct pidshim *pump_for;
	struct set_direct *pump_set;
	bool pump_answered; /* a signal ended pump_for or a member of pump_set */
	/* fallback, thread mechanism: direct waits (see svc_wait_direct) */
	unsigned int direct; /* threads asleep in one */
	int64_t direct_at;   /* when one last began to sleep (ms) */
	int64_t lag_until;   /* the watcher leaves new handles to them until */
	int64_t park_end;    /* the watcher looks again at the latest then */
	int64_t kick_at;     /* when the kick child was started */
	pid_t kick;	     /* the kick child not reaped yet, or 0 */
	int kick_ok;	     /* kicks work here: 1, no: -1, not known yet: 0 */
};

/* The first buckets need no allocation: inserting never fails, so closing
 * a handle (which must not fail) can always hand its child over. */
static struct pidshim *initial_buckets[64];

static struct service svc = {
	.buckets = initial_buckets,
	.nbuckets = 64,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.epfd = -1,
};

HIDDEN void svc_lock(void)
{
	pthread_mutex_lock(&svc.lock);
}

HIDDEN void svc_unlock(void)
{
	pthread_mutex_unlock(&svc.lock);
}

static bool fallback(const struct pidshim *h)
{
	return h->ops->keeps_exit;
}

static bool pending(const struct pidshim *h)
{
	int st = atomic_load(&h->state);

	return st == H_RUNNING || st == H_ZOMBIE;
}

/* ---- the pid table ------------------------------------------------------ */

static size_t bucket_in(pid_t pid, size_t n)
{
	return ((uint32_t)pid * 2654435761u) & (n - 1);
}

static void table_grow(void)
{
	size_t n = svc.nbuckets * 2;
	struct pidshim **nb = calloc(n, sizeof(*nb));

	if (!nb)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < svc.nbuckets; i++) {
		struct pidshim *x = svc.buckets[i], *next;

		for (; x; x = next) {
			size_t j = bucket_in(x->pid, n);

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

static void table_insert(struct pidshim *h)
{
	size_t b;

	if (h->tracked)
		return;
	if (svc.count >= svc.nbuckets)
		table_grow();
	b = bucket_in(h->pid, svc.nbuckets);
	h->hnext = svc.buckets[b];
	svc.buckets[b] = h;
	h->tracked = true;
	svc.count++;
	if (fallback(h) && atomic_load(&h->state) == H_RUNNING)
		svc.live++;
	/* Wake the watcher only when it waits for work, and not the ticker
	 * (it learns within IDLE_MS that it is not idle): a spawn should not
	 * cost a wake-up of another thread.  While direct waits are in use,
	 * not at all (see watcher_needed). */
	if (svc.watcher_idle) {
		if (svc.mech == PIDSHIM_MECHANISM_THREAD &&
		    now_ms() - svc.direct_at < DIRECT_RECENT_MS)
			svc.lag_until = now_ms() + DIRECT_LAG_MS;
		else
			pthread_cond_signal(&svc.work);
	}
}

static void table_remove(struct pidshim *h)
{
	struct pidshim **p;

	if (!h->tracked)
		return;
	for (p = &svc.buckets[bucket_in(h->pid, svc.nbuckets)]; *p; p = &(*p)->hnext) {
		if (*p != h)
			continue;
		*p = h->hnext;
		h->hnext = NULL;
		h->tracked = false;
		svc.count--;
		if (fallback(h) && atomic_load(&h->state) == H_RUNNING)
			svc.live--;
		return;
	}
}

static struct pidshim *bucket_head(pid_t pid)
{
	return svc.buckets[bucket_in(pid, svc.nbuckets)];
}

/* ---- workers --------------------------------------------------------------- */

/* Collect a worker that has ended; the lock is dropped while joining,
 * and only one caller ever joins it. */
static void worker_join_locked(struct worker *w)
{
	pthread_t t = w->t;

	if (!w->joinable || w->running)
		return;
	w->joinable = false;
	pthread_mutex_unlock(&svc.lock);
	pthread_join(t, NULL);
	pthread_mutex_lock(&svc.lock);
}

static int worker_start_locked(struct worker *w, void *(*fn)(void *))
{
	pthread_attr_t attr;
	sigset_t all, old;
	int r;

	if (w->running)
		return 0;
	worker_join_locked(w); /* one that was told to end, not yet collected */
	if (w->running)	       /* started by another caller while we joined */
		return 0;
	if (pthread_attr_init(&attr))
		return -ENOMEM;
	pthread_attr_setstacksize(&attr, 64 * 1024);
	/* The thread inherits this mask: it must never run a handler (libc
	 * keeps its own cancellation signal deliverable). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&w->t, &attr, fn, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (r)
		return -r;
	w->running = w->joinable = true;
	w->stop = false;
	return 0;
}

/* Wait on cv until deadline_ms (CLOCK_MONOTONIC, see svc_init). */
static int wait_until(pthread_cond_t *cv, int64_t deadline_ms)
{
	struct timespec ts = { deadline_ms / 1000, (deadline_ms % 1000) * 1000000L };

	return pthread_cond_timedwait(cv, &svc.lock, &ts);
}

static int wait_changed_until(int64_t deadline_ms)
{
	return wait_until(&svc.changed, deadline_ms);
}

/* Tell a worker to end, wait until it has, collect it.  The watcher may
 * sleep in waitid(), which nothing but a child or a signal ends: it sits
 * there with asynchronous cancellation on (see watcher_main), and is
 * cancelled. */
static void worker_stop_locked(struct worker *w)
{
	/* Asked again every 50 ms: a request is never lost to a thread that
	 * was between two looks (or a cancel to one between two waitids). */
	while (w->running) {
		w->stop = true;
		pthread_cond_broadcast(&svc.changed);
		pthread_cond_broadcast(&svc.work);
		if (w == &svc.watcher && svc.in_waitid)
			pthread_cancel(w->t);
		wait_changed_until(now_ms() + 50);
	}
	worker_join_locked(w);
}

/* The worker's last act.  One that ends on its own (idle) detaches
 * itself; one told to end is joined by whoever told it. */
static void worker_ended_locked(struct worker *w)
{
	w->exiting = (pid_t)syscall(SYS_gettid);
	if (!w->stop) {
		pthread_detach(pthread_self());
		w->joinable = false;
	}
	w->running = false;
	pthread_cond_broadcast(&svc.changed);
}

/* Sleep while idle() holds; true when the worker should end: told to,
 * or idle for IDLE_MS. */
static bool idle_ends(struct worker *w, bool (*idle)(void))
{
	int64_t until = now_ms() + IDLE_MS;

	while (idle() && !w->stop && !svc.quit)
		if (wait_changed_until(until) == ETIMEDOUT && idle())
			return true;
	return w->stop || svc.quit;
}

/* ---- what one look at a process learns -------------------------------------- */

/*
 * h's process ended: its fd turns readable.  Under the SIGCHLD mechanism
 * only a fd something polls (given out, or in a set's epoll) is marked
 * (an epoll_ctl); the rest are marked when they are shown (svc_fd_shown,
 * which sets fd_shown before it reads the state, as this stores the
 * state before it reads fd_shown: one of the two marks it).
 */
static void notify(struct pidshim *h)
{
	uint64_t one = 1;

	if (h->fd < 0 || !fallback(h))
		return;
	if (!h->fd_epoll)
		(void)!write(h->fd, &one, sizeof(one));
	else if (!h->fd_unhooked || atomic_load(&h->fd_shown))
		sigchld_mark_ready(h->fd, h->shard);
}

/* Something polls h's fd (SIGCHLD mechanism) from now on: a process that
 * ended while nothing did was left unmarked by notify. */
static void mark_if_ended(struct pidshim *h)
{
	if (atomic_load(&h->state) != H_RUNNING)
		sigchld_mark_ready(h->fd, h->shard);
}

/* ---- the queues of a set's listed members ---------------------------------- */

static void hq_push(struct hqueue *q, struct pidshim *h)
{
	h->qnext = NULL;
	h->qprev = q->last;
	if (q->last)
		q->last->qnext = h;
	else
		q->first = h;
	q->last = h;
}

static void hq_del(struct hqueue *q, struct pidshim *h)
{
	if (h->qprev)
		h->qprev->qnext = h->qnext;
	else
		q->first = h->qnext;
	if (h->qnext)
		h->qnext->qprev = h->qprev;
	else
		q->last = h->qprev;
	h->qprev = h->qnext = NULL;
}

/* The set's readyfd follows its queues: readable while one holds a
 * member.  One eventfd write when the first comes, one read when the last
 * goes: O(1) per exit, however many members the set has. */
static void set_ready_follow_locked(struct set_direct *d)
{
	bool any = d->q[0].first || d->q[1].first;
	uint64_t v = 1;

	if (any == d->readable)
		return;
	d->readable = any;
	if (any)
		(void)!write(d->readyfd, &v, sizeof(v));
	else
		(void)!read(d->readyfd, &v, sizeof(v));
}

/* Its process ended, and no wait gave the final answer yet: a set
 * reports it. */
static bool reportable(const struct pidshim *h)
{
	int st = atomic_load(&h->state);

	return st != H_RUNNING && st != H_DONE;
}

/* A listed member's process ended: its set reports it from now on. */
static void queue_locked(struct pidshim *h)
{
	if (h->queued || !h->listed || !h->dset)
		return;
	hq_push(&h->dset->q[0], h);
	h->queued = 1;
	set_ready_follow_locked(h->dset);
}

/* ... until it is answered (H_DONE) or leaves its set. */
static void unqueue_locked(struct pidshim *h)
{
	if (!h->queued)
		return;
	hq_del(&h->dset->q[h->queued - 1], h);
	h->queued = 0;
	set_ready_follow_locked(h->dset);
}

/*
 * For set_wait (under the set's lock): the listed member to report next,
 * if it was reported less recently than the one the set's epoll offers
 * (set_seq before_seq; those never reported have 0), moved to the end of
 * the reported ones; NULL when none ended or the epoll's goes first.
 */
HIDDEN struct pidshim *svc_set_next(struct set_direct *d, uint64_t before_seq)
{
	struct pidshim *h;

	pthread_mutex_lock(&svc.lock);
	h = d->q[0].first ? d->q[0].first : d->q[1].first;
	if (h && h->set_seq < before_seq) {
		hq_del(&d->q[h->queued - 1], h);
		hq_push(&d->q[1], h);
		h->queued = 2;
	} else {
		h = NULL;
	}
	pthread_mutex_unlock(&svc.lock);
	return h;
}

static void drop_orphan_locked(struct pidshim *h)
{
	if (h->armed && svc.epfd >= 0)
		epoll_ctl(svc.epfd, EPOLL_CTL_DEL, h->pidfd, NULL);
	if (!fallback(h)) {
		svc.orphans--;
		if (!h->armed)
			svc.held--;
	} else {
		svc.fb_orphans--;
	}
	h->armed = false;
	table_remove(h);
	handle_free(h);
}

static void kick_locked(void);

/* h's process changed: ended (H_ZOMBIE), reaped into h (H_EXITED, e),
 * or gone for h (H_GONE).  An orphan that is settled is freed. */
static void settle(struct pidshim *h, int state, const struct pidshim_exit *e)
{
	int old = atomic_load(&h->state);

	if (old != H_RUNNING && old != H_ZOMBIE)
		return;
	if (state == H_ZOMBIE && old == H_ZOMBIE)
		return;
	if (h->tracked && fallback(h) && old == H_RUNNING)
		svc.live--;
	if (e && h->exit)
		*h->exit = *e;
	atomic_store(&h->state, state);
	if (h->orphan && state != H_ZOMBIE) {
		drop_orphan_locked(h);
		return;
	}
	notify(h);
	queue_locked(h);
	/* A thread asleep in a direct wait on h, or on its set, would sleep
	 * on (a zombie it sees itself). */
	if ((h->direct || (h->dset && h->dset->sleepers)) && state != H_ZOMBIE)
		kick_locked();
}

/* The PID no longer names h's process (reaped by other code, maybe
 * reused): never look at it or signal it again. */
static void forget_locked(struct pidshim *h)
{
	settle(h, H_GONE, NULL);
}

/*
 * The owner handle of h's process, if any: h itself when it owns it (its
 * /proc fd was just checked), else the first owned pending handle of the
 * same PID whose /proc fd is alive (handles whose process is gone are
 * settled on the way, and orphans among them freed: never h).
 */
static struct pidshim *owner_of_locked(struct pidshim *h)
{
	if (h->owned)
		return h;
	for (struct pidshim *x = bucket_head(h->pid), *next; x; x = next) {
		next = x->hnext;
		if (x == h || x->pid != h->pid || !fallback(x) || !pending(x))
			continue;
		if (!ident_alive(x->procfd)) {
			forget_locked(x);
			continue;
		}
		if (x->owned)
			return x;
	}
	return NULL;
}

static void settle_all_locked(pid_t pid, struct pidshim *recipient, int state,
			      const struct pidshim_exit *e)
{
	for (struct pidshim *x = bucket_head(pid), *next; x; x = next) {
		next = x->hnext;
		if (x->pid != pid || !fallback(x) || !pending(x) || x == recipient)
			continue;
		if (!ident_alive(x->procfd))
			forget_locked(x);
		else
			settle(x, state, e);
	}
	if (recipient)
		settle(recipient, state == H_ZOMBIE ? H_ZOMBIE : H_EXITED, e);
}

/* How a look goes (look_locked): reap for the handle itself; prove the
 * PID first, even when waitid says it runs. */
enum look { LOOK_OBSERVE = 0, LOOK_REAP = 1, LOOK_PROVE = 2 };

static void pump_locked(struct pidshim *for_h, struct set_direct *for_set);

/*
 * Look at h's process (fallback backend), under the lock.  If it has
 * exited, it is reaped when it has an owner handle (which gets the
 * status; every other handle of it sees it gone), or, with LOOK_REAP, for
 * h itself (the user waits on h); else its handles only learn that it
 * ended (H_ZOMBIE): the program may still reap it itself.  A ptrace stop
 * is never taken: it is looked at with WNOWAIT and left for the tracer.
 *
 * Its /proc fd proves the PID still names h's process before anything is
 * done about an exit: a zombie holds its PID, so a proof made after
 * waitid reported one shows the report was about h's process.  A look
 * that finds the PID running acts on nothing, and -ECHILD means no child
 * of ours has the PID, h's process least of all: the looks of a spawn and
 * of a blocking wait prove only at an exit (about 3 us a proof, and a
 * spawn and a blocking wait made three).  Should other code have reaped
 * h's process and the PID name another running child of ours, that
 * "running" is wrong, and some look must prove first (LOOK_PROVE): what
 * the user asks (try_wait, a timed wait, send_signal, close), and the
 * looks that hunt for processes other code reaped (a sweep, the look at a
 * SIGCHLD that named the PID: under the SIGCHLD mechanism no ticker
 * runs, and that signal may be the last word on h's process; hostile.
 * set_reports_a_member_other_code_reaped_while_a_newcomer_runs).  Those
 * looks mostly find an exit, which they would prove anyway.
 * Returns 2 when it reaped it now (h may be freed then, if an orphan),
 * 1 when it has ended otherwise, -ECHILD when it is gone, 0 while it runs.
 */
static int look_locked(struct pidshim *h, unsigned int how)
{
	struct pidshim_exit e;
	struct pidshim *owner;
	pid_t pid = h->pid;
	siginfo_t si;
	int r;

	if (!pending(h))
		return atomic_load(&h->state) == H_EXITED ? 1 : -ECHILD;
	if ((how & LOOK_PROVE) && !ident_alive(h->procfd)) {
		forget_locked(h);
		return -ECHILD;
	}
	memset(&si, 0, sizeof(si));
	/* Look first: for a tracer, waitid reports (and without WNOWAIT
	 * takes) a ptrace stop whatever the options say. */
	r = sys_waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT, NULL);
	if (r == -ECHILD) {
		settle_all_locked(pid, NULL, H_GONE, NULL);
		return -ECHILD;
	}
	if (r < 0 || !si_is_exit(&si))
		return 0; /* running, stopped, or ask again later */
	if (!(how & LOOK_PROVE) && !ident_alive(h->procfd)) {
		forget_locked(h);
		return -ECHILD;
	}
	owner = owner_of_locked(h);
	if (!owner && !(how & LOOK_REAP)) {
		settle_all_locked(pid, NULL, H_ZOMBIE, NULL);
		return 1;
	}
	memset(&e, 0, sizeof(e));
	r = sys_waitid(P_PID, pid, &e.info, WEXITED | WNOHANG, &e.rusage);
	if (r == -ECHILD) {
		settle_all_locked(pid, NULL, H_GONE, NULL);
		return -ECHILD;
	}
	if (r < 0 || !si_is_exit(&e.info))
		return 0;
	settle_all_locked(pid, owner ? owner : h, H_GONE, &e);
	return 2;
}

/* A look for the user's call.  answers: what it finds is the call's
 * answer (try_wait, a timed wait, send_signal, close), so the PID is
 * proved first; a blocking wait, which answers only once the process is
 * settled, need not (see look_locked). */
HIDDEN int svc_look_locked(struct pidshim *h, bool answers)
{
	pump_locked(h, NULL);
	return look_locked(h, LOOK_REAP | (answers ? LOOK_PROVE : 0));
}

/* The final answer kept for h (fallback): 0 and *e, -ECHILD, or -EAGAIN
 * while its process has not ended.  Exactly one caller gets a status. */
HIDDEN int svc_claim_locked(struct pidshim *h, struct pidshim_exit *e)
{
	switch (atomic_load(&h->state)) {
	case H_EXITED:
		*e = *h->exit;
		atomic_store(&h->state, H_DONE);
		unqueue_locked(h);
		return 0;
	case H_GONE:
	case H_DONE:
		atomic_store(&h->state, H_DONE);
		unqueue_locked(h);
		return -ECHILD;
	}
	return -EAGAIN;
}

/* A fallback handle whose process was reaped by other code before the
 * library could name it (never tracked): gone, and its fd readable. */
HIDDEN void svc_mark_gone(struct pidshim *h)
{
	pthread_mutex_lock(&svc.lock);
	settle(h, H_GONE, NULL);
	pthread_mutex_unlock(&svc.lock);
}

/* Does h's PID still name h's process?  If not, h is settled as gone. */
HIDDEN bool svc_still_named_locked(struct pidshim *h)
{
	if (ident_alive(h->procfd))
		return true;
	forget_locked(h);
	return false;
}

/* O(n): look at every pending fallback handle.  Used while a zombie we
 * may not reap hides the others, and when no child is left at all. */
static void sweep_locked(void)
{
	for (size_t i = 0; i < svc.nbuckets; i++) {
	again:
		for (struct pidshim *x = svc.buckets[i]; x; x = x->hnext) {
			if (!fallback(x) || atomic_load(&x->state) != H_RUNNING)
				continue;
			if (look_locked(x, LOOK_PROVE) != 0)
				goto again; /* the chain may have changed */
		}
	}
}

/* ---- fallback: the SIGCHLD mechanism ------------------------------------------ */

static bool zombie_lingers_locked(pid_t pid);

/* A SIGCHLD named pid: look at its tracked handle, if it has one. */
static void signal_named_locked(pid_t pid)
{
	for (struct pidshim *x = bucket_head(pid), *next; x; x = next) {
		bool answers;
		int r;

		next = x->hnext;
		if (x->pid != pid || !fallback(x) || atomic_load(&x->state) != H_RUNNING)
			continue;
		/* Before the look: an orphan it reaps is freed. */
		answers = x == svc.pump_for || (svc.pump_set && x->dset == svc.pump_set);
		r = look_locked(x, LOOK_PROVE);
		if (r < 0)
			svc.pump_lost = true; /* reaped elsewhere: others may be too */
		else if (r > 0 && answers)
			svc.pump_answered = true;
		return;
	}
}

/*
 * SIGCHLD mechanism: take the pending SIGCHLDs and look at what they
 * name; they coalesce, so then ask waitid(P_ALL, WNOWAIT) for zombies no
 * signal named (O(1) each), and look at everything only when a zombie we
 * may not reap hides the rest, or a signal named a process that other
 * code had already reaped (its signal may have swallowed others').
 *
 * That waitid walks the kernel's list of our children, cold by then (no
 * thread sleeps in it): about 0.5 ms at 4000.  With WALK_LATER_LIVE or
 * more running children tracked, a pump whose signals ended what its
 * caller waits for (for_h, or a member of the set for_set) puts it off
 * (svc.walk_owed) and queues a SIGCHLD of its own (sigchld_owe): every
 * fd of the mechanism turns readable, so the next pump, which nothing
 * can sleep past, does it.  The exit just named is then reported without
 * waiting for the walk, which lands before the program sleeps again, as
 * the walk of a plain waitid(P_ALL) does.  A caller that gets no answer
 * (try_wait's -EAGAIN) walks now: its fd must not turn readable again
 * until another child's SIGCHLD.
 */
#define WALK_LATER_LIVE 64

static void pump_locked(struct pidshim *for_h, struct set_direct *for_set)
{
	int got;

	if (svc.mech != PIDSHIM_MECHANISM_SIGNALFD)
		return;
	svc.pump_lost = false;
	svc.pump_answered = false;
	svc.pump_for = for_h;
	svc.pump_set = for_set;
	got = sigchld_drain(signal_named_locked);
	svc.pump_for = NULL;
	svc.pump_set = NULL;
	if (!got && !svc.walk_owed)
		return;
	/* Owed already (its own signal taken now, or lost to a full queue):
	 * walk now. */
	if (svc.pump_answered && !svc.walk_owed && !svc.pump_lost &&
	    svc.live >= WALK_LATER_LIVE) {
		svc.walk_owed = true;
		sigchld_owe();
		return;
	}
	svc.walk_owed = false;
	for (;;) {
		siginfo_t si;
		int r;

		memset(&si, 0, sizeof(si));
		r = sys_waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT, NULL);
		if (r == -ECHILD) {
			sweep_locked(); /* no child left at all */
			return;
		}
		if (r < 0 || si.si_pid == 0)
			break;
		if (!si_is_exit(&si)) { /* a stop for us as a tracer */
			sweep_locked();
			return;
		}
		if (zombie_lingers_locked(si.si_pid))
			return; /* it looked at everything */
	}
	if (svc.pump_lost)
		sweep_locked();
}

/* For set_wait on the set of d. */
HIDDEN void svc_pump(struct set_direct *d)
{
	/* Unlocked: a switch to the thread mechanism meanwhile only costs a
	 * look that pump_locked turns down. */
	if (__atomic_load_n(&svc.mech, __ATOMIC_RELAXED) != PIDSHIM_MECHANISM_SIGNALFD)
		return;
	pthread_mutex_lock(&svc.lock);
	pump_locked(NULL, d);
	pthread_mutex_unlock(&svc.lock);
}

static int start_fallback_workers_locked(void);

/*
 * The program broke the SIGCHLD mechanism's promise (a thread with
 * SIGCHLD unblocked may take the signals now): the thread takes over for
 * good.  Handles stop listening to the signalfd (a pending SIGCHLD nobody
 * reads would keep them readable); the watcher and ticker do the rest.
 */
static void switch_to_thread_locked(void)
{
	/* Before the unhooks: svc_fd_shown hooks without the lock, then
	 * reads the mechanism again. */
	__atomic_store_n(&svc.mech, PIDSHIM_MECHANISM_THREAD, __ATOMIC_SEQ_CST);
	for (size_t i = 0; i < svc.nbuckets; i++)
		for (struct pidshim *x = svc.buckets[i]; x; x = x->hnext)
			if (x->fd_epoll && x->fd >= 0)
				sigchld_unhook(x->fd, x->shard);
	sweep_locked();
}

/* The fallback's mechanism in this process, deciding it the first time,
 * and after that checking the SIGCHLD mechanism's promise when recheck
 * (once per spawn or open, in svc_prepare: the check reads every
 * thread's mask in /proc/self, and the later steps of the same spawn or
 * open need not repeat it). */
static int mechanism_locked(bool recheck)
{
	if (!svc.mech)
		__atomic_store_n(&svc.mech, sigchld_decide(), __ATOMIC_RELAXED);
	else if (recheck && svc.mech == PIDSHIM_MECHANISM_SIGNALFD &&
		 !sigchld_promise_kept())
		switch_to_thread_locked();
	return svc.mech;
}

/* Does the fallback need its threads now?  The thread mechanism while a
 * handle watches a running process; the SIGCHLD one only while the
 * process of a closed handle runs (nothing else would reap it). */
static bool fallback_needs_threads(void)
{
	return svc.mech == PIDSHIM_MECHANISM_THREAD ? svc.live > 0 : svc.fb_orphans > 0;
}

PIDSHIM_API int pidshim_mechanism(void)
{
	const struct backend_ops *ops;
	int r, cs;

	r = handle_backend_ops(&ops);
	if (r < 0)
		return RC_FILTER(r, ENOSYS, EMFILE, ENFILE, ENOMEM);
	if (!ops->keeps_exit)
		return -ENOSYS;
	cs = cancel_off();
	pthread_mutex_lock(&svc.lock);
	r = mechanism_locked(true);
	pthread_mutex_unlock(&svc.lock);
	cancel_restore(cs);
	return r;
}

/* The fd pidshim_fd gives for a fallback handle: an eventfd the watcher
 * writes, or under the SIGCHLD mechanism an epoll over the signalfd. */
HIDDEN int svc_new_handle_fd(struct pidshim *h)
{
	int r;

	pthread_mutex_lock(&svc.lock);
	r = mechanism_locked(false);
	if (r == PIDSHIM_MECHANISM_SIGNALFD) {
		r = sigchld_handle_fd(&h->shard);
		h->fd_epoll = r >= 0;
		h->fd_unhooked = true; /* until polled: svc_fd_shown */
	} else if (r > 0) {
		r = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		r = fd_new(r);
	}
	pthread_mutex_unlock(&svc.lock);
	if (r >= 0)
		h->fd = r;
	return r < 0 ? r : 0;
}

/*
 * Under the SIGCHLD mechanism, is the fallback's mechanism still the
 * SIGCHLD one?  A set asks when its own signalfd turns readable (set.c);
 * a stale answer costs one more look.
 */
HIDDEN bool svc_sigchld_mechanism(void)
{
	return __atomic_load_n(&svc.mech, __ATOMIC_RELAXED) == PIDSHIM_MECHANISM_SIGNALFD;
}

/* h's fd listens to SIGCHLD from now on.  Should the kernel refuse the
 * epoll item (ENOMEM), the fd could never hear an exit: the thread
 * mechanism takes over for good, whose watcher marks fds readable
 * without any signal (if it cannot start now, the next spawn or open
 * starts it, as after any switch). */
static void hook_refused_locked(void)
{
	if (svc.mech != PIDSHIM_MECHANISM_SIGNALFD)
		return;
	switch_to_thread_locked();
	start_fallback_workers_locked();
}

static void fd_hook_locked(struct pidshim *h)
{
	if (!h->fd_unhooked)
		return;
	h->fd_unhooked = false;
	if (h->fd < 0)
		return;
	mark_if_ended(h);
	if (svc.mech == PIDSHIM_MECHANISM_SIGNALFD && sigchld_hook(h->fd, h->shard) < 0)
		hook_refused_locked();
}

/*
 * h (fallback) joins the set whose direct wait d is (under the set's
 * lock), or leaves it (d NULL): a settle of a member kicks a thread asleep
 * in that set's direct wait.
 *
 * Under the SIGCHLD mechanism a set listens to SIGCHLD once for all its
 * members (its own signalfd, see set.c), and its members are listed: not
 * in the set's epoll at all (each handle's fd is an epoll, and nesting
 * them costs every exit a walk of wake-ups through two epolls, every add
 * a check of the kernel's epoll paths), but queued by settle() in d, which
 * set_wait takes them from (svc_set_next) and whose readyfd keeps the
 * set's fd readable.  A listed member's fd listens to SIGCHLD only while
 * it is polled on its own (fd_shown); a member of a set that cannot
 * listen for it (!listed: the set's signalfd could not be made) is in the
 * set's epoll and its fd listens.
 */
HIDDEN void svc_set_member(struct pidshim *h, struct set_direct *d, bool listed)
{
	if (!fallback(h))
		return;
	pthread_mutex_lock(&svc.lock);
	unqueue_locked(h);
	h->dset = d;
	h->listed = d && listed;
	if (reportable(h))
		queue_locked(h); /* it ended before it joined */
	if (!h->fd_epoll) {
		/* an eventfd: nothing to hook */
	} else if ((d && !listed) || atomic_load(&h->fd_shown)) {
		fd_hook_locked(h);
	} else if (!h->fd_unhooked && svc.mech == PIDSHIM_MECHANISM_SIGNALFD &&
		   h->fd >= 0) {
		sigchld_unhook(h->fd, h->shard);
		h->fd_unhooked = true;
		/* Given out meanwhile (svc_fd_shown hooks without the lock,
		 * after it set fd_shown): it must hear SIGCHLD after all. */
		if (atomic_load(&h->fd_shown))
			fd_hook_locked(h);
	}
	pthread_mutex_unlock(&svc.lock);
}

/*
 * h's fd is polled on its own (pidshim_fd gave it out, or a wait polls
 * it): it listens to SIGCHLD from now on, set or no set.  Without the
 * service lock: pidshim_fd is async-signal-safe, and a signal handler may
 * call it in a thread that holds the lock
 * (robust.fd_from_a_signal_handler_never_waits_for_a_lock).  A set's
 * unhook (svc_set_member) reads fd_shown again after it, and a switch to
 * the thread mechanism stores the mechanism before it unhooks every fd,
 * so the mechanism read again after the hook undoes a hook made too late.
 * (fd_unhooked, the lock's record, may say "unhooked" for a fd hooked
 * here: it only saves fd_hook_locked an epoll_ctl, which finds EEXIST.)
 * A fd whose process ended before it was shown was left unmarked by
 * notify: it is marked here (settle stores the state before notify reads
 * fd_shown, this sets fd_shown before it reads the state: one of the two
 * marks it, and a second mark finds EEXIST).  Only a hook the kernel
 * refuses (ENOMEM, or ENOSPC past max_user_watches) takes the lock, to
 * give way to the thread mechanism: that fd could never hear the exit
 * otherwise.
 */
HIDDEN void svc_fd_shown(struct pidshim *h)
{
	int cs;

	if (!h->fd_epoll || atomic_exchange(&h->fd_shown, true) || h->fd < 0)
		return;
	mark_if_ended(h);
	if (__atomic_load_n(&svc.mech, __ATOMIC_SEQ_CST) != PIDSHIM_MECHANISM_SIGNALFD)
		return;
	if (sigchld_hook(h->fd, h->shard) == 0) {
		if (__atomic_load_n(&svc.mech, __ATOMIC_SEQ_CST) !=
		    PIDSHIM_MECHANISM_SIGNALFD)
			sigchld_unhook(h->fd, h->shard);
		return;
	}
	cs = cancel_off();
	pthread_mutex_lock(&svc.lock);
	hook_refused_locked();
	pthread_mutex_unlock(&svc.lock);
	cancel_restore(cs);
}

/* ---- fallback: the watcher ---------------------------------------------------- */

/*
 * The zombie waitid(P_ALL) named is pid.  Returns true when it lingers
 * (not reaped here: other code's, or a handle's that does not own it),
 * after looking at every handle, since it hides the zombies behind it.
 *
 * No second look here: going straight back to the blocking waitid(P_ALL)
 * is that look (it returns at once if another zombie waits).  Each
 * waitid(P_ALL) walks the kernel's list of our children, so an exit costs
 * two walks (the one that finds it, the one that finds nothing and
 * sleeps) and one waitid(P_PID), with no per-child work in user space.
 * When the look reaped it, nothing is asked again: the handle's fd was
 * written last, so a thread it wakes finds the lock free at once.
 */
static bool zombie_lingers_locked(pid_t pid)
{
	siginfo_t si;

again:
	for (struct pidshim *x = bucket_head(pid); x; x = x->hnext) {
		int r;

		if (x->pid != pid || !fallback(x) || atomic_load(&x->state) != H_RUNNING)
			continue;
		r = look_locked(x, LOOK_OBSERVE);
		/* Settled as gone (orphans freed): the chain changed. */
		if (r == -ECHILD)
			goto again;
		if (r == 2)
			return false; /* reaped for its owner */
		break;
	}
	/* Not ours to reap, a stop, or reaped since waitid named it (by a
	 * waiter, or a try_wait in another thread): does it linger? */
	memset(&si, 0, sizeof(si));
	if (sys_waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT, NULL) < 0 ||
	    !si_is_exit(&si))
		return false;
	sweep_locked();
	return true;
}

static void defer_to_direct_locked(pid_t pid);
static void reap_kick_locked(int wait_ms);

static void nap_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void nap_ms(int ms)
{
	nap_us(ms * 1000L);
}

/* The ticker's work: handles to watch, or a kick child to reap (the
 * thread that ended a kicked wait last may not have been able to). */
static bool nothing_live(void)
{
	return !fallback_needs_threads() && svc.kick <= 0;
}

/* Is x (fallback, running) reaped by somebody else? */
static bool reaped_elsewhere(struct pidshim *x)
{
	siginfo_t si;

	if (x->procfd >= 0)
		return !ident_alive(x->procfd);
	memset(&si, 0, sizeof(si));
	return sys_waitid(P_PID, x->pid, &si, WEXITED | WNOHANG | WNOWAIT, NULL) ==
	       -ECHILD;
}

/*
 * One round of the ticker's: the kick child if nobody reaped it, and the
 * tracked processes that other code reaped (a SIGCHLD handler calling
 * waitpid(-1), SIGCHLD ignored), which no waitid ever reports.  A bucket
 * at a time, letting others in between.
 */
static void tick_locked(void)
{
	reap_kick_locked(0);
	for (size_t i = 0; i < svc.nbuckets && !svc.quit; i++) {
	again:
		for (struct pidshim *x = svc.buckets[i]; x; x = x->hnext) {
			if (!fallback(x) || atomic_load(&x->state) != H_RUNNING ||
			    !reaped_elsewhere(x))
				continue;
			forget_locked(x);
			goto again;
		}
		pthread_mutex_unlock(&svc.lock);
		pthread_mutex_lock(&svc.lock);
	}
}

static void watcher_cancelled(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&svc.lock);
	svc.in_waitid = false;
	worker_ended_locked(&svc.watcher);
	pthread_mutex_unlock(&svc.lock);
}

/*
 * The blocking waitid, with asynchronous cancellation on: it holds no
 * lock and consumes nothing (WNOWAIT), so the thread may end anywhere in
 * it; nothing else can wake it when it is no longer needed.
 */
static int waitid_any_cancellable(siginfo_t *si)
{
	int r, type;

	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &type);
	r = sys_waitid(P_ALL, 0, si, WEXITED | WNOWAIT, NULL);
	pthread_setcanceltype(type, NULL);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	return r;
}

/*
 * Must the watcher look now (else until when may it wait), and only once
 * without sleeping in waitid (*look_only)?  Not while nothing is watched.
 * Under the thread mechanism, it stays out of waitid while direct waits
 * are in use (one sleeps, or one ended less than DIRECT_LAG_MS ago):
 * such a wait wakes at every exit and takes what is to be taken, and
 * every other thread asleep in waitid(P_ALL) is woken by the same exit
 * and walks the kernel's child list too; on 2 vCPUs the two walks often
 * share one CPU, and the wait that matters returns one walk later (about
 * 250 us at 4000 children; bench/README.md).  While one sleeps, the
 * watcher still looks every PARK_MS without sleeping: a thread that left
 * its wait by longjmp() from a signal handler is still counted, and must
 * not leave the handles' fds unwatched.  So a handle whose exit no direct wait
 * takes turns readable at most PARK_MS + DEFER_MS later, inside the
 * 100 ms its fd has; a program that spawns and waits in a loop never
 * wakes the watcher.
 */
static bool watcher_needed(int64_t *until, bool *look_only)
{
	int64_t now = now_ms();
	bool recent = svc.mech == PIDSHIM_MECHANISM_THREAD &&
		      now - svc.direct_at < DIRECT_RECENT_MS;

	*until = now + (recent ? DIRECT_LAG_MS : 1000);
	*look_only = false;
	if (!fallback_needs_threads())
		return false;
	if (svc.mech != PIDSHIM_MECHANISM_THREAD)
		return true;
	if (svc.direct) {
		if (!svc.park_end)
			svc.park_end = now + PARK_MS;
		if (now >= svc.park_end)
			return *look_only = true;
		*until = svc.park_end;
		return false;
	}
	if (now < svc.lag_until) {
		*until = svc.lag_until;
		return false;
	}
	return true;
}

/* Parked while direct waits are in use (see watcher_needed): the watcher
 * sleeps out of waitid, and needs no ticker beside it.  (Between two
 * handles of a spawn and wait loop nothing is watched at all, which the
 * watcher also sees to by itself.) */
static bool watcher_parked(void)
{
	return svc.watcher.running && svc.watcher_idle && !svc.in_waitid &&
	       svc.mech == PIDSHIM_MECHANISM_THREAD &&
	       (svc.direct || now_ms() < svc.lag_until);
}

/*
 * The ticker's work, done by the watcher itself while no ticker runs:
 * a round every TICK_MS while something is watched, and the watcher's
 * own end once nothing has been for IDLE_MS (true then).  *due: when it
 * must look again at the latest.  The lock may be dropped.
 */
static bool watcher_ticks(int64_t *next_tick, int64_t *idle_since, int64_t *due)
{
	int64_t now = now_ms();

	*due = INT64_MAX;
	if (svc.ticker.running) {
		*idle_since = 0; /* the ticker decides */
		return false;
	}
	if (nothing_live()) {
		if (!*idle_since)
			*idle_since = now;
		*due = *idle_since + IDLE_MS;
		return now >= *due;
	}
	*idle_since = 0;
	if (now >= *next_tick) {
		tick_locked();
		*next_tick = now_ms() + TICK_MS;
	}
	*due = *next_tick;
	return false;
}

static void *ticker_main(void *arg);

/*
 * The watcher.  Only while it must sleep in waitid, where nothing but an
 * exit (or a cancel) ends the sleep, does a ticker run beside it: it
 * starts one first, and a ticker ends once the watcher is parked for
 * direct waits.  Otherwise the watcher ticks itself (watcher_ticks), so
 * a program that spawns and waits in a loop has one library thread, not
 * two: a thread that sleeps costs such a program little CPU, but while
 * it lives the kernel places the program's new children differently
 * (measured in B1 at concurrency 1: about 2 % of its throughput per
 * thread, bench/README.md).  Should no ticker start, the watcher looks
 * every PARK_MS instead of sleeping in waitid.
 */
static void watch(void)
{
	int64_t until, due, next_tick = now_ms() + TICK_MS, idle_since = 0;
	bool look_only = false; /* both set by watcher_needed */
	bool lonely = false, ends = false;
	int backoff = 0;

	pthread_mutex_lock(&svc.lock);
	for (;;) {
		siginfo_t si;
		int r;

		svc.watcher_idle = true;
		while (!svc.watcher.stop) {
			ends = watcher_ticks(&next_tick, &idle_since, &due);
			if (ends || svc.watcher.stop ||
			    watcher_needed(&until, &look_only))
				break;
			if (svc.ticker.running && watcher_parked())
				pthread_cond_broadcast(&svc.changed); /* it may end */
			wait_until(&svc.work, until < due ? until : due);
		}
		svc.watcher_idle = false;
		if (ends || svc.watcher.stop)
			break;
		svc.park_end = 0;
		if (!backoff && !look_only && !svc.ticker.running &&
		    (svc.quit || worker_start_locked(&svc.ticker, ticker_main) < 0))
			look_only = lonely = true;
		svc.in_waitid = !backoff && !look_only;
		pthread_mutex_unlock(&svc.lock);

		memset(&si, 0, sizeof(si));
		if (backoff)
			nap_ms(backoff);
		if (backoff || look_only)
			r = sys_waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT, NULL);
		else
			r = waitid_any_cancellable(&si);

		pthread_mutex_lock(&svc.lock);
		svc.in_waitid = false;
		if (r == 0 && si.si_pid)
			defer_to_direct_locked(si.si_pid);
		if (svc.direct)
			backoff = 0; /* it takes over; see watcher_needed */
		if (r == -ECHILD) {
			/* No child left: whatever we track is gone. */
			sweep_locked();
			backoff = 0;
		} else if (r == 0 && si.si_pid &&
			   (!si_is_exit(&si) || zombie_lingers_locked(si.si_pid))) {
			/* A stop for this process as a tracer lingers too. */
			if (!si_is_exit(&si))
				sweep_locked();
			backoff = backoff ? (backoff < 32 ? backoff * 2 : 32) : 1;
		} else {
			backoff = 0;
		}
		if (lonely && !backoff && !svc.watcher.stop) {
			lonely = false;
			wait_until(&svc.work, now_ms() + PARK_MS);
		}
	}
	worker_ended_locked(&svc.watcher);
	pthread_mutex_unlock(&svc.lock);
}

static void *watcher_main(void *arg)
{
	(void)arg;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_cleanup_push(watcher_cancelled, NULL);
	watch();
	pthread_cleanup_pop(0);
	return NULL;
}

/* ---- fallback: the ticker ------------------------------------------------------ */

/* The ticker also manages the watcher: when nothing has been watched for
 * IDLE_MS, or pidshim_quiesce asks, it ends the watcher, then itself.  It
 * ends alone once the watcher is parked for direct waits: the watcher
 * ticks itself then (see watch). */
static void *ticker_main(void *arg)
{
	int64_t next = now_ms() + TICK_MS;

	(void)arg;
	pthread_mutex_lock(&svc.lock);
	for (;;) {
		if (idle_ends(&svc.ticker, nothing_live)) {
			worker_stop_locked(&svc.watcher);
			/* Tracked again while the watcher was collected? */
			if (fallback_needs_threads() && !svc.quit && !svc.ticker.stop &&
			    worker_start_locked(&svc.watcher, watcher_main) == 0)
				continue;
			break;
		}
		if (watcher_parked())
			break;
		if (now_ms() < next) {
			wait_changed_until(next);
			continue;
		}
		next = now_ms() + TICK_MS;
		tick_locked();
	}
	worker_ended_locked(&svc.ticker);
	pthread_mutex_unlock(&svc.lock);
	return NULL;
}

/* ---- fallback: direct waits ---------------------------------------------------- */

/*
 * Under the thread mechanism, a blocking pidshim_wait sleeps in
 * waitid(P_ALL, WEXITED | WNOWAIT | __WALL) itself, as the watcher does,
 * so that the exit wakes the waiting thread, not the watcher, which would
 * then wake it through the handle's eventfd: one wake-up per exit, as a
 * plain waitid.  The kernel wakes every thread waiting for any child at
 * each exit; each walks the child list again and sleeps again unless a
 * zombie (or a stop) it may report is there.  So:
 * - the zombie of a handle with a thread asleep in a direct wait is left
 *   to that thread: the watcher and other direct waiters wait for it, for
 *   up to DEFER_MS.  Reaped by anyone else, it would be gone when that
 *   thread looks, and the thread would sleep on;
 * - whenever such a handle is settled all the same (other code reaped its
 *   process, SIGCHLD ignored, two threads waiting on one handle, a
 *   deferral ran out), the library kicks: it starts a child that exits at
 *   once and sends no signal (exit signal 0: the program's SIGCHLD
 *   handler, signalfd and waitpid(-1) never see it; only __WALL waits
 *   do), whose zombie ends every direct wait, and reaps it once none is
 *   asleep.  The ticker notices a process reaped elsewhere within
 *   TICK_MS, so such a wait still ends within a second.
 * A blocking pidshim_set_wait sleeps the same way (svc_set_sleep): its
 * members count as having a direct wait while a thread sleeps on their
 * set (h->dset->sleepers).
 * Not taken (the wait sleeps in poll() on the handle's fd): with a
 * timeout, under the SIGCHLD mechanism, with SIGCHLD ignored, where a
 * kick cannot be made (seccomp, emulators), and for the rest of a wait
 * that found a zombie it may not reap lingering in front of the others.
 */
#define DEFER_MS 20

static bool direct_on(pid_t pid)
{
	if (!svc.direct)
		return false;
	for (struct pidshim *x = bucket_head(pid); x; x = x->hnext)
		if (x->pid == pid && (x->direct || (x->dset && x->dset->sleepers &&
						    atomic_load(&x->state) == H_RUNNING)))
			return true;
	return false;
}

/* Leave pid's zombie to the thread asleep in a direct wait on it.  The
 * lock is dropped while it comes: it needs it, and nothing signals its
 * coming (that would cost its wait a wake-up of this thread). */
static void defer_to_direct_locked(pid_t pid)
{
	int64_t until = now_ms() + DEFER_MS;

	while (direct_on(pid) && now_ms() < until) {
		pthread_mutex_unlock(&svc.lock);
		nap_us(200);
		pthread_mutex_lock(&svc.lock);
	}
}

static int kick_main(void *arg)
{
	(void)arg;
	return 0;
}

/* The kick child's stack: it runs while the caller, holding the lock,
 * waits for it (CLONE_VFORK), so one is enough. */
static char kick_stack[4096] __attribute__((aligned(64)));

/* Start the kick child unless one is still unreaped: its zombie already
 * ends every direct wait, and none sleeps until it is reaped. */
static void kick_locked(void)
{
	sigset_t all, old;
	pid_t p;

	if (svc.kick > 0 || svc.kick_ok < 0)
		return;
#ifdef UNDER_TSAN
	svc.kick_ok = -1;
	return;
#endif
	/* With the memory shared, no handler of the program may run in it. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
#if defined(__hppa__)
	p = clone(kick_main, kick_stack, CLONE_VM | CLONE_VFORK, NULL);
#else
	p = clone(kick_main, kick_stack + sizeof(kick_stack), CLONE_VM | CLONE_VFORK,
		  NULL);
#endif
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (p > 0) {
		svc.kick = p;
		svc.kick_at = now_ms();
	} else {
		svc.kick_ok = -1;
	}
}

/* Reap the kick child once no direct wait sleeps (it has ended them; a
 * thread that left one by longjmp() is still counted, so after
 * KICK_HOLD_MS in any case), for up to wait_ms while it ends.  A kick
 * child can only be a clone child (__WCLONE): the program's own children
 * cannot be taken for it. */
static void reap_kick_locked(int wait_ms)
{
	int64_t until = now_ms() + wait_ms;
	long nap = 20; /* us: CLONE_VFORK returns before the child is a zombie */

	while (svc.kick > 0 && (!svc.direct || now_ms() - svc.kick_at >= KICK_HOLD_MS)) {
		siginfo_t si;
		int r;

		memset(&si, 0, sizeof(si));
		r = sys_waitid(P_PID, svc.kick, &si, WEXITED | WNOHANG | __WCLONE, NULL);
		if (r == -ECHILD || (r == 0 && si.si_pid == svc.kick))
			svc.kick = 0;
		else if (now_ms() >= until)
			break;
		else
			nap_us(nap);
		nap = nap * 2 < 1000 ? nap * 2 : 1000;
	}
}

/* May a direct wait sleep here?  The first time, one kick tells. */
static bool direct_works_locked(void)
{
	if (svc.mech != PIDSHIM_MECHANISM_THREAD)
		return false;
	if (!svc.kick_ok) {
		kick_locked();
		reap_kick_locked(1000);
		if (!svc.kick_ok)
			svc.kick_ok = svc.kick ? -1 : 1;
	}
	return svc.kick_ok > 0;
}

/* A direct wait ended.  The last one reaps the kick child: a thread
 * that already left waitid when the kick came never sees its zombie, and
 * the library's threads may end before their next look.  The watcher
 * takes over DIRECT_LAG_MS later unless another direct wait begins (see
 * watcher_needed); waking it here would cost every wait a wake-up. */
static void direct_done_locked(void)
{
	if (svc.direct)
		return;
	reap_kick_locked(0);
	svc.lag_until = now_ms() + DIRECT_LAG_MS;
}

/* sleepers: the handle's h->direct, or its set's d->sleepers. */
static void direct_cancelled(void *arg)
{
	unsigned int *sleepers = arg;

	pthread_mutex_lock(&svc.lock);
	--*sleepers;
	svc.direct--;
	direct_done_locked();
	pthread_mutex_unlock(&svc.lock);
}

/*
 * The sleep, counted in *sleepers while it lasts: waitid as the caller's
 * cancellation point.  A set's (epfd >= 0) first asks its epoll once
 * more: a member settled before this thread counted as asleep kicked
 * nobody, but made its fd readable.  Called and returns with the lock.
 */
static int waitid_direct(unsigned int *sleepers, int epfd, siginfo_t *si,
			 int cancel_state)
{
	struct epoll_event ev;
	int r = 0;

	++*sleepers;
	svc.direct++;
	svc.direct_at = now_ms();
	pthread_mutex_unlock(&svc.lock);
	memset(si, 0, sizeof(*si));
	if (epfd < 0 || epoll_wait(epfd, &ev, 1, 0) == 0) {
		pthread_cleanup_push(direct_cancelled, sleepers);
		if (cancel_state == PTHREAD_CANCEL_ENABLE)
			pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		r = waitid(P_ALL, 0, si, WEXITED | WNOWAIT | __WALL) < 0 ? -errno : 0;
		if (cancel_state == PTHREAD_CANCEL_ENABLE)
			pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		pthread_cleanup_pop(0);
	}
	pthread_mutex_lock(&svc.lock);
	--*sleepers;
	svc.direct--;
	return r;
}

/* A kick child not reaped yet while another direct wait still sleeps
 * (it is waking): true after a pause with the lock dropped, to look
 * again; false when a direct wait may sleep now. */
static bool kick_pending_locked(void)
{
	if (svc.kick <= 0)
		return false;
	reap_kick_locked(0);
	if (svc.kick <= 0)
		return false;
	pthread_mutex_unlock(&svc.lock);
	nap_ms(1);
	pthread_mutex_lock(&svc.lock);
	return true;
}

/*
 * A blocking wait on h (fallback), sleeping in waitid itself where it may
 * (see above): 0 and *e, or -ECHILD; -EAGAIN when the caller must wait
 * the other way.
 */
HIDDEN int svc_wait_direct(struct pidshim *h, struct pidshim_exit *e, int cancel_state)
{
	pid_t other = 0;
	int may = -1; /* may it sleep in waitid?  Asked once it must wait */
	int r;

	/* The SIGCHLD mechanism never sleeps here (direct_works_locked),
	 * and it never comes back once left: its caller's first look, with
	 * the signals taken first, is the one to make. */
	if (__atomic_load_n(&svc.mech, __ATOMIC_RELAXED) == PIDSHIM_MECHANISM_SIGNALFD)
		return -EAGAIN;
	pthread_mutex_lock(&svc.lock);
	for (;;) {
		siginfo_t si;

		look_locked(h, LOOK_REAP);
		r = svc_claim_locked(h, e);
		if (r != -EAGAIN)
			break;
		if (may < 0)
			may = !sigchld_ignored();
		if (!may || !direct_works_locked())
			break;
		if (kick_pending_locked())
			continue;
		r = waitid_direct(&h->direct, -1, &si, cancel_state);
		if (r == -ECHILD) {
			sweep_locked(); /* no child left at all */
		} else if (r < 0 || si.si_pid == h->pid || si.si_pid == 0) {
			/* ours: the look above reaps it */
		} else if (si.si_pid == svc.kick) {
			reap_kick_locked(0);
		} else if (!si_is_exit(&si) || si.si_pid == other) {
			may = false; /* a stop, or a zombie that lingers */
		} else {
			/* Another handle's (reaped for it, or left to its own
			 * direct wait), or one the program has to reap. */
			other = si.si_pid;
			defer_to_direct_locked(other);
			may = !zombie_lingers_locked(other);
		}
	}
	direct_done_locked();
	pthread_mutex_unlock(&svc.lock);
	return r;
}

/* Is the fallback's mechanism the thread?  Unlocked: a stale answer only
 * costs set_wait one call that svc_set_sleep turns down. */
HIDDEN bool svc_thread_mechanism(void)
{
	return __atomic_load_n(&svc.mech, __ATOMIC_RELAXED) == PIDSHIM_MECHANISM_THREAD;
}

/* The set of d has nothing left to report (set.c): a thread asleep in
 * its direct wait must return now; the kick child's zombie ends it. */
HIDDEN void svc_set_wake(struct set_direct *d)
{
	pthread_mutex_lock(&svc.lock);
	if (d->sleepers)
		kick_locked();
	pthread_mutex_unlock(&svc.lock);
}

/*
 * One sleep of a blocking pidshim_set_wait in waitid itself (fallback,
 * thread mechanism), by the rules of the direct wait above: the exit of a
 * member wakes the waiting thread, which reaps it for its owner (the
 * member's fd turns readable), with no hand-off through the watcher.  A
 * member settled by anyone else kicks.  The caller's epoll over the
 * members' fds (epfd) is asked once more after the thread counts as
 * asleep, so that a member settled just before is not slept past.
 * Returns 0 when the caller should look at the epoll again, -EAGAIN when
 * it must wait on it instead (a zombie or a stop lingers in front of the
 * others, no child is left, or direct waits cannot be made here).
 */
HIDDEN int svc_set_sleep(struct set_direct *d, int epfd, int cancel_state)
{
	siginfo_t si;
	int r;

	if (sigchld_ignored())
		return -EAGAIN;
	pthread_mutex_lock(&svc.lock);
	if (!direct_works_locked()) {
		pthread_mutex_unlock(&svc.lock);
		return -EAGAIN;
	}
	if (kick_pending_locked()) {
		pthread_mutex_unlock(&svc.lock);
		return 0;
	}
	/* si stays empty when the epoll had something: look again */
	r = waitid_direct(&d->sleepers, epfd, &si, cancel_state);
	if (r == -ECHILD) {
		sweep_locked(); /* no child left at all */
		r = -EAGAIN;
	} else if (r < 0 || si.si_pid == 0) {
		r = 0; /* EINTR, or woken for nothing: look again */
	} else if (si.si_pid == svc.kick) {
		r = 0;
	} else if (!si_is_exit(&si)) {
		r = -EAGAIN; /* a stop for this process as a tracer */
	} else {
		/* A member's (reaped for its owner now), another handle's
		 * (reaped for it, or left to its own direct wait), or one
		 * the program has to reap. */
		defer_to_direct_locked(si.si_pid);
		r = zombie_lingers_locked(si.si_pid) ? -EAGAIN : 0;
	}
	direct_done_locked(); /* the last one out reaps the kick child */
	pthread_mutex_unlock(&svc.lock);
	return r;
}

/* The watcher (it starts the ticker when it needs one, see watch).  Never
 * while pidshim_quiesce is ending them. */
static int start_fallback_workers_locked(void)
{
	while (svc.quit)
		pthread_cond_wait(&svc.changed, &svc.lock);
	return worker_start_locked(&svc.watcher, watcher_main);
}

/* ---- pidfd backends: the orphan reaper ----------------------------------------- */

/* Reap a pidfd orphan if it exited: true when it is done (and freed). */
static bool reap_orphan_locked(struct pidshim *h)
{
	siginfo_t si;
	int r;

	memset(&si, 0, sizeof(si));
	if (!h->ops->p_pidfd && sys_pidfd_send_signal(h->pidfd, 0) == -ESRCH) {
		r = -ECHILD; /* reaped by other code: the PID is not ours */
	} else {
		int idtype = h->ops->p_pidfd ? P_PIDFD : P_PID;
		long id = h->ops->p_pidfd ? h->pidfd : h->pid;

		r = sys_waitid(idtype, id, &si, WEXITED | WNOHANG | WNOWAIT, NULL);
		if (r == 0 && si_is_exit(&si))
			r = sys_waitid(idtype, id, &si, WEXITED | WNOHANG, NULL);
		else if (r == 0)
			return false; /* still held: a tracer's, or not ended */
	}
	if (r < 0 && r != -ECHILD)
		return false;
	drop_orphan_locked(h);
	return true;
}

/* A readable pidfd whose zombie cannot be reaped yet (a tracer holds it)
 * stays readable: take it out of the epoll and look again later. */
static void hold_locked(struct pidshim *h)
{
	if (!h->armed)
		return;
	epoll_ctl(svc.epfd, EPOLL_CTL_DEL, h->pidfd, NULL);
	h->armed = false;
	svc.held++;
}

static void arm_locked(struct pidshim *h)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = h };

	if (h->armed)
		return;
	if (svc.epfd < 0) {
		int fd = epoll_create1(EPOLL_CLOEXEC);

		svc.epfd = fd < 0 ? -1 : fd_move_above_stdio(fd);
	}
	if (svc.epfd >= 0 && epoll_ctl(svc.epfd, EPOLL_CTL_ADD, h->pidfd, &ev) == 0) {
		h->armed = true;
		svc.held--;
	}
}

/* The orphans not in the epoll: held ones, and any whose arming failed
 * (no epoll could be made): looked at every HELD_MS until reaped. */
static void look_at_held_locked(void)
{
	for (size_t i = 0; i < svc.nbuckets && svc.held; i++) {
	again:
		for (struct pidshim *x = svc.buckets[i]; x; x = x->hnext) {
			if (!x->orphan || fallback(x) || x->armed)
				continue;
			if (reap_orphan_locked(x))
				goto again;
		}
	}
}

static bool no_orphans(void)
{
	return svc.orphans == 0;
}

static void *reaper_main(void *arg)
{
	struct epoll_event ev[32];

	(void)arg;
	pthread_mutex_lock(&svc.lock);
	for (;;) {
		int n, epfd, tmo;

		/* The epoll goes as soon as no orphan is left: the program's
		 * fd count is back where it was. */
		if (svc.orphans == 0 && svc.epfd >= 0) {
			close(svc.epfd);
			svc.epfd = -1;
		}
		/* Never away while an orphan is left (even if told to). */
		if (idle_ends(&svc.reaper, no_orphans) && svc.orphans == 0)
			break;
		epfd = svc.epfd;
		tmo = svc.held ? HELD_MS : -1;
		pthread_mutex_unlock(&svc.lock);
		if (epfd >= 0) {
			n = epoll_wait(epfd, ev, 32, tmo);
		} else {
			nap_ms(HELD_MS);
			n = 0;
		}
		pthread_mutex_lock(&svc.lock);
		for (int i = 0; i < n; i++) {
			struct pidshim *h = ev[i].data.ptr;

			if (!reap_orphan_locked(h))
				hold_locked(h);
		}
		if (svc.held)
			look_at_held_locked();
	}
	if (svc.epfd >= 0)
		close(svc.epfd);
	svc.epfd = -1;
	worker_ended_locked(&svc.reaper);
	pthread_mutex_unlock(&svc.lock);
	return NULL;
}

/*
 * A pidfd-backend child whose handle was closed while it ran: the reaper
 * reaps it through its pidfd when it exits.  This cannot fail: the table
 * needs no memory, and if the epoll or the thread cannot be made now, the
 * orphan waits, held, for the next call that can.
 */
HIDDEN void svc_adopt_pidfd_orphan(struct pidshim *h)
{
	pthread_mutex_lock(&svc.lock);
	h->orphan = true;
	table_insert(h);
	svc.orphans++;
	svc.held++; /* until armed */
	if (!reap_orphan_locked(h)) {
		arm_locked(h);
		/* A reaper idle in idle_ends() must see it now, not after
		 * IDLE_MS (h was in the table already: no broadcast there). */
		pthread_cond_broadcast(&svc.changed);
		worker_start_locked(&svc.reaper, reaper_main);
	}
	pthread_mutex_unlock(&svc.lock);
}

/* ---- the entry points of the backends ----------------------------------------- */

/* Before a spawn (fallback): make sure the threads can run, so that a
 * child is never started that the library could not watch; on the pidfd
 * backends, retry a reaper that could not start before. */
HIDDEN int svc_prepare(void)
{
	const struct backend_ops *ops;
	int r = 0;

	if (handle_backend_ops(&ops) < 0)
		return 0;
	pthread_mutex_lock(&svc.lock);
	if (ops->keeps_exit) {
		r = mechanism_locked(true);
		if (r == PIDSHIM_MECHANISM_THREAD)
			r = start_fallback_workers_locked();
		r = r < 0 ? r : 0;
	} else if (svc.orphans && !svc.reaper.running)
		worker_start_locked(&svc.reaper, reaper_main);
	pthread_mutex_unlock(&svc.lock);
	return r;
}

/* Track a fallback handle: insert, then look once in case its process
 * already ended (before it was in the table, unseen by the watcher). */
HIDDEN int svc_track(struct pidshim *h)
{
	int r;

	pthread_mutex_lock(&svc.lock);
	r = mechanism_locked(false);
	if (r == PIDSHIM_MECHANISM_THREAD)
		r = start_fallback_workers_locked();
	if (r >= 0) {
		if (h->fd_epoll && svc.mech != PIDSHIM_MECHANISM_SIGNALFD)
			sigchld_unhook(h->fd, h->shard); /* made before a switch */
		table_insert(h);
		pump_locked(NULL, NULL);
		look_locked(h, LOOK_OBSERVE);
		r = 0;
	}
	pthread_mutex_unlock(&svc.lock);
	return r;
}

HIDDEN void svc_untrack_locked(struct pidshim *h)
{
	table_remove(h);
}

/* pidfd backends: h owns its child (see svc_other_owner). */
HIDDEN void svc_register_owner(struct pidshim *h)
{
	pthread_mutex_lock(&svc.lock);
	table_insert(h);
	pthread_mutex_unlock(&svc.lock);
}

HIDDEN void svc_unregister_owner(struct pidshim *h)
{
	pthread_mutex_lock(&svc.lock);
	table_remove(h);
	pthread_mutex_unlock(&svc.lock);
}

/*
 * pidfd backends: does another handle own h's process?  Then the status
 * is that handle's and h only learns that the process ended.  Two unreaped
 * processes never share a PID, so a live owner of h->pid whose pidfd was
 * not reaped names h's own process (h's pidfd was opened on it).
 */
HIDDEN bool svc_other_owner(const struct pidshim *h)
{
	bool found = false;

	pthread_mutex_lock(&svc.lock);
	for (struct pidshim *x = bucket_head(h->pid); x && !found; x = x->hnext)
		found = x != h && x->pid == h->pid && x->owned && !fallback(x) &&
			atomic_load(&x->state) != H_DONE && x->pidfd >= 0 &&
			sys_pidfd_send_signal(x->pidfd, 0) != -ESRCH &&
			sys_pidfd_send_signal(h->pidfd, 0) != -ESRCH;
	pthread_mutex_unlock(&svc.lock);
	return found;
}

/* h (fallback, in the table) was closed while its process runs: the
 * library now owns it, reaps it and frees it.  Under the SIGCHLD
 * mechanism this starts the threads (nothing else would reap it without a
 * call); if they cannot start, the next call of any thread reaps it. */
HIDDEN void svc_orphan_locked(struct pidshim *h)
{
	h->orphan = true;
	svc.fb_orphans++;
	pthread_cond_broadcast(&svc.changed);
	pthread_cond_signal(&svc.work);
	if (svc.mech == PIDSHIM_MECHANISM_SIGNALFD)
		start_fallback_workers_locked();
}

/*
 * Wait until the last thread w ran has left the kernel's thread group.  A
 * join is not enough (glibc's join returns when the thread has released
 * its stack, the kernel unlinks it a moment later), and one that ended on
 * its own was never joined: until it is gone, unshare(CLONE_NEWUSER) still
 * fails and /proc/self/task still lists it.  Bounded: a thread id reused
 * by one of the program's threads must not hold the caller forever.
 */
static void worker_gone_locked(struct worker *w)
{
	pid_t tid = w->exiting, me = getpid();

	if (tid <= 0)
		return;
	pthread_mutex_unlock(&svc.lock);
	for (int i = 0; i < 2000 && syscall(SYS_tgkill, me, tid, 0) == 0; i++)
		nap_ms(1);
	pthread_mutex_lock(&svc.lock);
	if (w->exiting == tid && !w->running)
		w->exiting = 0;
}

/* End every thread now, or -EBUSY while one is needed. */
static int svc_quiesce(void)
{
	bool busy;

	pthread_mutex_lock(&svc.lock);
	if (svc.mech == PIDSHIM_MECHANISM_SIGNALFD) {
		/* Look for the orphans now (a sweep also finds those the
		 * kernel reaped with SIGCHLD ignored). */
		pump_locked(NULL, NULL);
		sweep_locked();
	}
	busy = fallback_needs_threads() || svc.orphans;
	if (busy) {
		pthread_mutex_unlock(&svc.lock);
		return -EBUSY;
	}
	reap_kick_locked(1000);
	svc.quit = true;
	worker_stop_locked(&svc.ticker); /* it ends the watcher */
	worker_stop_locked(&svc.watcher);
	worker_stop_locked(&svc.reaper);
	worker_gone_locked(&svc.ticker);
	worker_gone_locked(&svc.watcher);
	worker_gone_locked(&svc.reaper);
	svc.quit = false;
	pthread_cond_broadcast(&svc.changed);
	pthread_mutex_unlock(&svc.lock);
	return 0;
}

PIDSHIM_API int pidshim_quiesce(void)
{
	int cs = cancel_off(), r = svc_quiesce();

	cancel_restore(cs);
	return RC_FILTER(r, EBUSY);
}

/* ---- fork ----------------------------------------------------------------------- */

static void init_changed(void)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&svc.changed, &a);
	pthread_cond_init(&svc.work, &a);
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

/*
 * The child has no thread of ours and none of the parent's children.  Its
 * copies of the handles stay with their owners (inert there, see
 * handle.c); orphans are the library's, so their copies are freed here.
 * The epoll is the parent's: only our copy of its fd is closed.
 */
static void atfork_child(void)
{
	for (size_t i = 0; i < svc.nbuckets; i++) {
		struct pidshim *x = svc.buckets[i], *next;

		for (; x; x = next) {
			next = x->hnext;
			x->hnext = NULL;
			x->tracked = false;
			if (x->orphan)
				handle_free(x);
		}
		svc.buckets[i] = NULL;
	}
	svc.count = 0;
	svc.live = 0;
	svc.orphans = 0;
	svc.held = 0;
	if (svc.epfd >= 0)
		close(svc.epfd);
	svc.epfd = -1;
	memset(&svc.watcher, 0, sizeof(svc.watcher));
	memset(&svc.ticker, 0, sizeof(svc.ticker));
	memset(&svc.reaper, 0, sizeof(svc.reaper));
	svc.quit = false;
	svc.in_waitid = false;
	/* A new process: its own mechanism, decided again when needed. */
	sigchld_forget();
	__atomic_store_n(&svc.mech, 0, __ATOMIC_RELAXED);
	svc.walk_owed = false; /* the parent's children */
	svc.fb_orphans = 0;
	svc.direct = 0;
	svc.kick = 0; /* the parent's child */
	/* The parent's threads may have been waiting on it: start afresh. */
	init_changed();
	pthread_mutex_unlock(&svc.lock);
	probe_atfork_child();
}

__attribute__((constructor)) static void svc_init(void)
{
	init_changed();
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}
