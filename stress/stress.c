// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pidshim-stress - many spawn/wait cycles through the public API on one
 * backend (PIDSHIM_BACKEND picks it; one process per backend), with a
 * random mix of what real supervisors do: normal exits with random codes,
 * SIGKILL/SIGTERM deaths, send_signal racing the exit, a second thread
 * signalling a handle while its owner reaps it, handles closed while the
 * child runs (the library must reap those), children opened with
 * pidshim_open, and pidshim_set waits over 64 concurrent children.  With
 * -r it also pushes the kernel into reusing every freshly reaped PID at
 * once (ns_last_pid, inside a private pid namespace) and keeps starting
 * short-lived sentinels that grab those PIDs, so a signal sent through a
 * stale handle would hit a sentinel and be counted.
 *
 * At the end it asserts: every status was right, no zombie and no living
 * child is left, the fd count is back where it was, RSS grew less than
 * 1 MiB, and no sentinel ever received a signal.  A watchdog turns a hang
 * into a failure that names the operation that hung.
 */
#include "common.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pidshim.h>

extern char **environ;

#define MAX_THREADS 16
#define SET_SIZE 64
#define N_SENTINELS 4
#define CHURN_RING 4
#define MAX_ERRORS_SHOWN 20

static long target_cycles = 100000;
static int n_threads = 4;
static int time_cap_s = 230;
static bool reuse_pressure;
static uint64_t seed;

static atomic_long cycles, statuses, errors, signals_sent, closed_running, opened,
	set_rounds, stale_checks, racer_calls, churned, sentinel_hits, leaks;
static atomic_bool stop_workers, stop_helpers;
static atomic_int last_reaped;
static uint64_t deadline_ns;

struct worker {
	pthread_t tid;
	int id;
	uint64_t rnd;
	_Atomic(const char *) op;
	_Atomic uint64_t progress_ns;
	atomic_bool done;
	/* The racer thread signals this handle while the worker reaps it. */
	pthread_mutex_t slot_lock;
	struct pidshim *slot;
};
static struct worker workers[MAX_THREADS];

static void error_at(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void error_at(struct worker *w, const char *fmt, ...)
{
	long n = atomic_fetch_add(&errors, 1);
	char buf[512];
	va_list ap;

	if (n >= MAX_ERRORS_SHOWN)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	tap_diag("thread %d, %s: %s", w->id, atomic_load(&w->op), buf);
}

static int spawn_child(struct worker *w, struct pidshim **h, char *a1, char *a2, char *a3)
{
	char *argv[] = { (char *)"stress-child", a1, a2, a3, NULL };
	int rc;

	/* EAGAIN: the process limit; a transient state, retry. */
	while ((rc = pidshim_spawn(h, child_path(), NULL, NULL, argv, NULL)) == -EAGAIN)
		usleep(1000);
	if (rc < 0)
		error_at(w, "pidshim_spawn(%s): %d (%s)", a1, rc, strerror(-rc));
	return rc;
}

/* kind: 'e' exited with val, 'k' killed by val, 'x' either exited with val
 * or killed by sig2 (a signal that raced the exit). */
static void check_exit(struct worker *w, const struct pidshim_exit *e, pid_t pid, char kind,
		       int val, int sig2)
{
	int st = pidshim_exit_status(e);
	bool ok;

	atomic_fetch_add(&statuses, 1);
	if (e->info.si_signo != SIGCHLD || e->info.si_pid != pid) {
		error_at(w, "pid %d: si_signo %d si_pid %d", pid, e->info.si_signo, e->info.si_pid);
		return;
	}
	if (e->info.si_code == CLD_EXITED && e->info.si_status == LEAK_CODE) {
		atomic_fetch_add(&leaks, 1);
		error_at(w, "pid %d: the child saw an inherited fd >= 3 (library fd leak)", pid);
		return;
	}
	if (kind == 'e' || (kind == 'x' && e->info.si_code == CLD_EXITED))
		ok = e->info.si_code == CLD_EXITED && e->info.si_status == val && st >= 0 &&
		     WIFEXITED(st) && WEXITSTATUS(st) == val;
	else if (kind == 'k')
		ok = e->info.si_code == CLD_KILLED && e->info.si_status == val && st >= 0 &&
		     WIFSIGNALED(st) && WTERMSIG(st) == val && !WCOREDUMP(st);
	else
		ok = e->info.si_code == CLD_KILLED && e->info.si_status == sig2 && st >= 0 &&
		     WIFSIGNALED(st) && WTERMSIG(st) == sig2;
	if (!ok)
		error_at(w, "pid %d: expected %c %d/%d, got si_code %d si_status %d status 0x%x", pid,
			 kind, val, sig2, e->info.si_code, e->info.si_status, st);
}

/* After the handle was reaped, no signal may go anywhere. */
static void check_stale(struct worker *w, struct pidshim *h)
{
	int rc = pidshim_send_signal(h, SIGTERM);

	atomic_fetch_add(&stale_checks, 1);
	if (rc != -ESRCH)
		error_at(w, "send_signal(SIGTERM) after reap of %d: %d, want -ESRCH",
			 pidshim_pid(h), rc);
	rc = pidshim_wait_timeout(h, 0, &(struct pidshim_exit){ 0 });
	if (rc != -ECHILD)
		error_at(w, "wait after reap of %d: %d, want -ECHILD", pidshim_pid(h), rc);
}

/* Reap one handle by a randomly chosen method. */
static int reap(struct worker *w, struct pidshim *h, struct pidshim_exit *e)
{
	uint64_t end = now_ns() + 20000000000ull;
	int rc, m = (int)(rnd_next(&w->rnd) % 4);
	long spins = 0;

	switch (m) {
	case 0:
		rc = pidshim_wait(h, e);
		break;
	case 1:
		rc = pidshim_wait_timeout(h, 20000, e);
		break;
	case 2: /* the event-loop way: poll the fd, then try_wait */
		for (;;) {
			struct pollfd p = { .fd = pidshim_fd(h), .events = POLLIN };
			int pr = poll(&p, 1, 20000);

			if (pr < 0 && errno == EINTR)
				continue;
			if (pr <= 0) {
				error_at(w, "poll(pidshim_fd) of %d: %d (fd never readable)",
					 pidshim_pid(h), pr);
				return -ETIMEDOUT;
			}
			rc = pidshim_try_wait(h, e);
			if (rc != -EAGAIN)
				break;
			/* signalfd may wake spuriously; it must not do so forever. */
			if (++spins > 100000 || now_ns() > end) {
				error_at(w, "fd of %d readable but try_wait -EAGAIN %ld times",
					 pidshim_pid(h), spins);
				return -ETIMEDOUT;
			}
		}
		break;
	default:
		while ((rc = pidshim_try_wait(h, e)) == -EAGAIN) {
			if (now_ns() > end) {
				error_at(w, "try_wait of %d: still -EAGAIN after 20 s", pidshim_pid(h));
				return -ETIMEDOUT;
			}
			usleep(50);
		}
	}
	if (rc < 0)
		error_at(w, "reap of %d by method %d: %d (%s)", pidshim_pid(h), m, rc, strerror(-rc));
	else
		atomic_store(&last_reaped, pidshim_pid(h));
	return rc;
}

static void op_exit(struct worker *w)
{
	struct pidshim *h;
	struct pidshim_exit e;
	int code = (int)(rnd_next(&w->rnd) % 250);
	char c[16], us[16];

	snprintf(c, sizeof(c), "%d", code);
	if (rnd_next(&w->rnd) & 1) {
		if (spawn_child(w, &h, (char *)"e", c, NULL))
			return;
	} else {
		snprintf(us, sizeof(us), "%d", (int)(rnd_next(&w->rnd) % 500));
		if (spawn_child(w, &h, (char *)"s", us, c))
			return;
	}
	if (!reap(w, h, &e)) {
		check_exit(w, &e, pidshim_pid(h), 'e', code, 0);
		check_stale(w, h);
	}
	pidshim_close(h);
	atomic_fetch_add(&cycles, 1);
}

static void op_kill(struct worker *w)
{
	int sig = rnd_next(&w->rnd) & 1 ? SIGKILL : SIGTERM, rc;
	struct pidshim *h;
	struct pidshim_exit e;

	if (spawn_child(w, &h, (char *)"w", NULL, NULL))
		return;
	rc = pidshim_send_signal(h, sig);
	atomic_fetch_add(&signals_sent, 1);
	if (rc)
		error_at(w, "send_signal(%d) to running %d: %d", sig, pidshim_pid(h), rc);
	if (!reap(w, h, &e)) {
		check_exit(w, &e, pidshim_pid(h), 'k', sig, 0);
		check_stale(w, h);
	}
	pidshim_close(h);
	atomic_fetch_add(&cycles, 1);
}

/* send_signal races the exit; the racer thread signals while we reap. */
static void op_race(struct worker *w)
{
	int sig = rnd_next(&w->rnd) & 1 ? SIGKILL : SIGTERM, rc;
	int code = (int)(rnd_next(&w->rnd) % 250);
	struct pidshim *h;
	struct pidshim_exit e;
	char c[16], us[16];

	snprintf(c, sizeof(c), "%d", code);
	snprintf(us, sizeof(us), "%d", (int)(rnd_next(&w->rnd) % 300));
	if (spawn_child(w, &h, (char *)"s", us, c))
		return;
	pthread_mutex_lock(&w->slot_lock);
	w->slot = h;
	pthread_mutex_unlock(&w->slot_lock);
	usleep((useconds_t)(rnd_next(&w->rnd) % 300));
	/* Not reaped yet: running or zombie, 0 either way. */
	rc = pidshim_send_signal(h, sig);
	atomic_fetch_add(&signals_sent, 1);
	if (rc)
		error_at(w, "send_signal(%d) to unreaped %d: %d", sig, pidshim_pid(h), rc);
	if (!reap(w, h, &e)) {
		check_exit(w, &e, pidshim_pid(h), 'x', code, sig);
		check_stale(w, h);
	}
	pthread_mutex_lock(&w->slot_lock);
	w->slot = NULL;
	pthread_mutex_unlock(&w->slot_lock);
	pidshim_close(h);
	atomic_fetch_add(&cycles, 1);
}

/* The library promises to reap children whose handle was closed. */
static void op_close_running(struct worker *w)
{
	struct pidshim *h;
	char us[16];
	uint64_t r = rnd_next(&w->rnd);

	snprintf(us, sizeof(us), "%d", (int)(r % 5000));
	if (spawn_child(w, &h, (char *)"s", us, (char *)"7"))
		return;
	if ((r >> 20) % 4 == 0) { /* dying while we close */
		pidshim_send_signal(h, SIGKILL);
		atomic_fetch_add(&signals_sent, 1);
	}
	pidshim_close(h);
	atomic_fetch_add(&closed_running, 1);
	atomic_fetch_add(&cycles, 1);
}

/*
 * A child spawned by someone else, adopted with pidshim_open: reaped
 * through the handle; or owned (PIDSHIM_OPEN_OWN) and closed at once, so
 * the library must reap it; or not owned and closed, so the library must
 * leave its status to our own waitpid().
 */
static void op_open(struct worker *w)
{
	int code = (int)(rnd_next(&w->rnd) % 250), rc, st, how = (int)(rnd_next(&w->rnd) % 4);
	char c[16], us[16];
	char *argv[] = { (char *)"stress-child", (char *)"s", us, c, NULL };
	struct pidshim *h;
	struct pidshim_exit e;
	pid_t pid;

	snprintf(c, sizeof(c), "%d", code);
	snprintf(us, sizeof(us), "%d", (int)(rnd_next(&w->rnd) % 400));
	rc = posix_spawn(&pid, child_path(), NULL, NULL, argv, environ);
	if (rc) {
		if (rc != EAGAIN)
			error_at(w, "posix_spawn: %s", strerror(rc));
		return;
	}
	if (rnd_next(&w->rnd) & 1)
		usleep(500); /* often a zombie by now */
	rc = pidshim_open(pid, how >= 2 ? PIDSHIM_OPEN_OWN : 0, &h);
	if (rc) {
		error_at(w, "pidshim_open(child %d, %s): %d", pid, how >= 2 ? "OWN" : "0", rc);
		waitpid(pid, &st, 0);
		return;
	}
	if (how == 3) { /* owned and abandoned: the library reaps it */
		pidshim_close(h);
		atomic_fetch_add(&closed_running, 1);
	} else if (how == 1) { /* not owned: its status stays ours */
		pidshim_close(h);
		while ((rc = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
			;
		atomic_fetch_add(&statuses, 1);
		if (rc != pid)
			error_at(w, "waitpid(%d) after closing a non-owned handle: %s (the library reaped a process it does not own)",
				 pid, strerror(errno));
		else if (!WIFEXITED(st) || WEXITSTATUS(st) != code)
			error_at(w, "waitpid(%d) after closing a non-owned handle: status 0x%x, want exit %d",
				 pid, st, code);
	} else {
		if (!reap(w, h, &e)) {
			check_exit(w, &e, pid, 'e', code, 0);
			check_stale(w, h);
		}
		/* Under PID-reuse pressure the pid may already be a new child. */
		if (!reuse_pressure && waitpid(pid, &st, WNOHANG) == pid)
			error_at(w, "pid %d still waitable after pidshim reaped it", pid);
		pidshim_close(h);
	}
	atomic_fetch_add(&opened, 1);
	atomic_fetch_add(&cycles, 1);
}

/* pidshim_set over 64 concurrent children. */
static void op_set(struct worker *w)
{
	struct member {
		struct pidshim *h;
		char kind; /* 'e' exits with val, 'k' killed by val */
		int val;
		int state; /* 0 in set, 1 done, 2 removed (wait directly), 3 closed */
	} m[SET_SIZE];
	struct pidshim_set *s;
	int rc, left = 0;

	rc = pidshim_set_new(&s);
	if (rc) {
		error_at(w, "pidshim_set_new: %d", rc);
		return;
	}
	for (int i = 0; i < SET_SIZE; i++) {
		uint64_t r = rnd_next(&w->rnd);
		char us[16], c[16];

		m[i].val = (int)(r % 250);
		m[i].state = 0;
		snprintf(c, sizeof(c), "%d", m[i].val);
		snprintf(us, sizeof(us), "%d", (int)((r >> 8) % 3000));
		if ((r >> 24) % 8 == 0) {
			m[i].kind = 'k';
			m[i].val = SIGKILL;
			rc = spawn_child(w, &m[i].h, (char *)"w", NULL, NULL);
		} else {
			m[i].kind = 'e';
			rc = spawn_child(w, &m[i].h, (char *)"s", us, c);
		}
		if (rc) {
			m[i].h = NULL;
			m[i].state = 1;
			continue;
		}
		rc = pidshim_set_add(s, m[i].h);
		if (rc)
			error_at(w, "set_add: %d", rc);
		if (pidshim_set_add(s, m[i].h) != -EEXIST)
			error_at(w, "second set_add of one handle is not -EEXIST");
		left++;
	}
	for (int i = 0; i < SET_SIZE; i++) {
		uint64_t r = rnd_next(&w->rnd);

		if (!m[i].h)
			continue;
		if (m[i].kind == 'k') {
			pidshim_send_signal(m[i].h, SIGKILL);
			atomic_fetch_add(&signals_sent, 1);
		}
		if (r % 16 == 0) {
			rc = pidshim_set_remove(s, m[i].h);
			if (rc)
				error_at(w, "set_remove: %d", rc);
			m[i].state = 2;
			left--;
		} else if (r % 16 == 1) {
			pidshim_close(m[i].h); /* closing removes it from the set */
			m[i].state = 3;
			atomic_fetch_add(&closed_running, 1);
			left--;
		}
	}
	/* Half the rounds block (-1: on the fallback's thread mechanism the
	 * thread sleeps in waitid itself); the watchdog catches a hang. */
	bool block = rnd_next(&w->rnd) & 1;

	while (left > 0) {
		struct pidshim *ready = NULL;
		struct pidshim_exit e;
		int i;

		rc = pidshim_set_wait(s, block ? -1 : 20000, &ready);
		if (rc) {
			error_at(w, "set_wait with %d members left: %d", left, rc);
			break;
		}
		for (i = 0; i < SET_SIZE; i++)
			if (m[i].h == ready && m[i].state == 0)
				break;
		if (i == SET_SIZE) {
			error_at(w, "set_wait returned %p, not a live member", (void *)ready);
			break;
		}
		/* A reported member has exited: try_wait must reap it now. */
		rc = pidshim_try_wait(ready, &e);
		if (rc) {
			error_at(w, "set_wait reported %d but try_wait gives %d", pidshim_pid(ready),
				 rc);
			break;
		}
		atomic_store(&last_reaped, pidshim_pid(ready));
		check_exit(w, &e, pidshim_pid(ready), m[i].kind, m[i].val, 0);
		check_stale(w, ready);
		m[i].state = 1;
		left--;
	}
	if (!left && (rc = pidshim_set_wait(s, 0, &(struct pidshim *){ NULL })) != -ECHILD)
		error_at(w, "set_wait on a set of reaped members: %d, want -ECHILD", rc);
	for (int i = 0; i < SET_SIZE; i++) {
		struct pidshim_exit e;

		if (m[i].state == 2 && !reap(w, m[i].h, &e)) {
			check_exit(w, &e, pidshim_pid(m[i].h), m[i].kind, m[i].val, 0);
			check_stale(w, m[i].h);
		}
		if (m[i].state != 3)
			pidshim_close(m[i].h);
	}
	pidshim_set_free(s);
	atomic_fetch_add(&set_rounds, 1);
	atomic_fetch_add(&cycles, SET_SIZE);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	while (!atomic_load(&stop_workers)) {
		uint64_t r = rnd_next(&w->rnd) % 1000;

		atomic_store(&w->progress_ns, now_ns());
		if (r < 5) {
			atomic_store(&w->op, "set");
			op_set(w);
		} else if (r < 350) {
			atomic_store(&w->op, "exit");
			op_exit(w);
		} else if (r < 550) {
			atomic_store(&w->op, "kill");
			op_kill(w);
		} else if (r < 750) {
			atomic_store(&w->op, "race");
			op_race(w);
		} else if (r < 900) {
			atomic_store(&w->op, "close-running");
			op_close_running(w);
		} else {
			atomic_store(&w->op, "open");
			op_open(w);
		}
		atomic_store(&w->op, "idle");
		if (atomic_load(&cycles) >= target_cycles || now_ns() > deadline_ns)
			atomic_store(&stop_workers, true);
	}
	atomic_store(&w->done, true);
	return NULL;
}

/* Signals whatever handle a worker has published, while the worker reaps it:
 * after the reap every call must be -ESRCH and reach nobody. */
static void *racer_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_helpers)) {
		for (int i = 0; i < n_threads; i++) {
			struct worker *w = &workers[i];
			int rc;

			pthread_mutex_lock(&w->slot_lock);
			if (w->slot) {
				rc = pidshim_send_signal(w->slot, SIGURG);
				atomic_fetch_add(&racer_calls, 1);
				if (rc && rc != -ESRCH)
					error_at(w, "racer send_signal: %d", rc);
			}
			pthread_mutex_unlock(&w->slot_lock);
		}
		usleep(20);
	}
	return NULL;
}

/* Short-lived sentinels that take freshly freed PIDs (see -r). */
static void *churn_main(void *arg)
{
	struct sentinel ring[CHURN_RING];
	int n = 0, head = 0;

	(void)arg;
	while (!atomic_load(&stop_helpers)) {
		pid_t p = atomic_load(&last_reaped);
		int hits;

		if (n == CHURN_RING) {
			hits = sentinel_stop(&ring[head]);
			if (hits)
				tap_diag("churn sentinel %d: %d (signals received; <0: killed by -N; -1000: reaped by someone else)",
					 ring[head].pid, hits);
			atomic_fetch_add(&sentinel_hits, hits < 0 ? 1 : hits);
			n--;
		}
		if (p > 1)
			set_ns_last_pid(p);
		if (!sentinel_start(&ring[head])) {
			head = (head + 1) % CHURN_RING;
			n++;
			atomic_fetch_add(&churned, 1);
		}
		usleep(500);
	}
	while (n--) {
		int hits;

		head = (head + CHURN_RING - 1) % CHURN_RING;
		hits = sentinel_stop(&ring[head]);
		atomic_fetch_add(&sentinel_hits, hits < 0 ? 1 : hits);
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: pidshim-stress [-n cycles] [-t threads] [-T seconds] [-s seed] [-r]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sentinel sent[N_SENTINELS];
	pthread_t racer, churn;
	int opt, fds0, fds1, z, alive, backend;
	long rss0 = -1, rss1;
	uint64_t t0;

	/* Differs per backend too: the three runs start in the same second,
	 * each as pid 1 of its own namespace. */
	seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
	       ((uint64_t)forced_backend() * 0x9e3779b97f4a7c15ull);
	while ((opt = getopt(argc, argv, "n:t:T:s:r")) != -1) {
		switch (opt) {
		case 'n':
			target_cycles = atol(optarg);
			break;
		case 't':
			n_threads = atoi(optarg);
			break;
		case 'T':
			time_cap_s = atoi(optarg);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			reuse_pressure = true;
			break;
		default:
			usage();
		}
	}
	if (n_threads < 1 || n_threads > MAX_THREADS)
		usage();
	if (getenv("PIDSHIM_TEST_QUICK") && *getenv("PIDSHIM_TEST_QUICK") == '1')
		target_cycles = target_cycles / 10 ? target_cycles / 10 : 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	cloexec_inherited_fds();
	backend = require_backend();
	child_path();
	if (reuse_pressure && set_ns_last_pid(2) < 0) {
		tap_diag("ns_last_pid not writable (%s): running without PID-reuse pressure",
			 strerror(errno));
		reuse_pressure = false;
	}
	tap_diag("backend %s, %ld cycles, %d threads, cap %d s, seed %#llx, pid-reuse pressure %s",
		 pidshim_backend_name(backend), target_cycles, n_threads, time_cap_s,
		 (unsigned long long)seed, reuse_pressure ? "on" : "off");

	for (int i = 0; i < N_SENTINELS; i++) {
		if (sentinel_start(&sent[i]))
			die("cannot start sentinel");
	}
	/* Warm up: exercise the library once, then let it settle (the
	 * children of closed handles reaped, its threads and their fds gone)
	 * before the fd baseline is taken. */
	{
		struct worker *w = &workers[0];

		w->rnd = seed | 1;
		w->op = "warm-up";
		pthread_mutex_init(&w->slot_lock, NULL);
		op_exit(w);
		op_set(w);
		atomic_store(&cycles, 0);
		atomic_store(&set_rounds, 0);
		for (int i = 0; i < 500 && pidshim_quiesce() == -EBUSY; i++)
			usleep(10000);
	}
	fds0 = count_fds();
	t0 = now_ns();
	deadline_ns = t0 + (uint64_t)time_cap_s * 1000000000ull;
	for (int i = 0; i < n_threads; i++) {
		struct worker *w = &workers[i];

		w->id = i;
		w->rnd = (seed + 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1)) | 1;
		w->op = "start";
		w->progress_ns = now_ns();
		pthread_mutex_init(&w->slot_lock, NULL);
		if (pthread_create(&w->tid, NULL, worker_main, w))
			die("pthread_create");
	}
	pthread_create(&racer, NULL, racer_main, NULL);
	if (reuse_pressure)
		pthread_create(&churn, NULL, churn_main, NULL);

	/* Watchdog and progress. */
	for (;;) {
		bool running = false;
		uint64_t now = now_ns();

		usleep(200000);
		for (int i = 0; i < n_threads; i++) {
			struct worker *w = &workers[i];

			if (atomic_load(&w->done))
				continue;
			running = true;
			if (now > atomic_load(&w->progress_ns) + 60000000000ull)
				die("hang: thread %d stuck in '%s' for 60 s (backend %s)", i,
				    atomic_load(&w->op), pidshim_backend_name(backend));
		}
		if (rss0 < 0 && atomic_load(&cycles) >= target_cycles / 20)
			rss0 = rss_kib();
		if (!running)
			break;
	}
	rss1 = rss_kib();
	for (int i = 0; i < n_threads; i++)
		pthread_join(workers[i].tid, NULL);
	if (rss0 < 0)
		rss0 = rss1;
	atomic_store(&stop_helpers, true);
	pthread_join(racer, NULL);
	if (reuse_pressure)
		pthread_join(churn, NULL);
	double secs = (double)(now_ns() - t0) / 1e9;
	pid_t skip[N_SENTINELS];

	for (int i = 0; i < N_SENTINELS; i++)
		skip[i] = sent[i].pid;
	/* Closed handles are reaped in the background: allow a short grace. */
	z = zombies_after_grace(2000, skip, N_SENTINELS);
	alive = scan_children(NULL, skip, N_SENTINELS);
	if (alive)
		show_children(skip, N_SENTINELS);
	fds1 = count_fds();
	for (int i = 0; i < N_SENTINELS; i++) {
		int hits = sentinel_stop(&sent[i]);

		if (hits)
			tap_diag("sentinel %d: %d (signals received; <0: killed by -N; -1000: reaped by someone else)",
				 sent[i].pid, hits);
		atomic_fetch_add(&sentinel_hits, hits < 0 ? 1 : hits);
	}

	tap_ok(atomic_load(&errors) == 0, "%s: %ld statuses correct, %ld errors", pidshim_backend_name(backend),
	       atomic_load(&statuses), atomic_load(&errors));
	tap_ok(atomic_load(&leaks) == 0, "%s: no library fd reached a child (%ld leaks)",
	       pidshim_backend_name(backend), atomic_load(&leaks));
	tap_ok(z == 0, "%s: no zombie left (%d)", pidshim_backend_name(backend), z);
	tap_ok(alive == 0, "%s: no child left running or lost (%d)", pidshim_backend_name(backend),
	       alive);
	tap_ok(fds1 == fds0, "%s: fd count back to %d (now %d)", pidshim_backend_name(backend), fds0,
	       fds1);
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
	tap_ok(rss1 - rss0 < 1024, "%s: RSS growth %ld KiB < 1024", pidshim_backend_name(backend),
	       rss1 - rss0);
#else
	/* TSAN's shadow memory grows with every address touched: RSS says
	 * nothing about the library there (the plain build asserts it). */
	tap_diag("RSS growth %ld KiB (not asserted under ThreadSanitizer)", rss1 - rss0);
#endif
	tap_ok(atomic_load(&sentinel_hits) == 0,
	       "%s: no signal reached a process the test did not target (%ld misdirected, %d+%ld sentinels)",
	       pidshim_backend_name(backend), atomic_load(&sentinel_hits), N_SENTINELS,
	       atomic_load(&churned));
	if (atomic_load(&cycles) < target_cycles)
		tap_diag("NOTE: time cap of %d s reached after %ld of %ld cycles", time_cap_s,
			 atomic_load(&cycles), target_cycles);
	printf("# figures backend=%s cycles=%ld statuses=%ld errors=%ld zombies=%d children_left=%d "
	       "fd_growth=%d rss_growth_kib=%ld misdirected=%ld sentinels=%ld signals_sent=%ld "
	       "racer_calls=%ld stale_checks=%ld closed_running=%ld opened=%ld set_rounds=%ld "
	       "reuse_pressure=%d seconds=%.1f cycles_per_s=%.0f\n",
	       pidshim_backend_name(backend), atomic_load(&cycles), atomic_load(&statuses),
	       atomic_load(&errors), z, alive, fds1 - fds0, rss1 - rss0,
	       atomic_load(&sentinel_hits), N_SENTINELS + atomic_load(&churned),
	       atomic_load(&signals_sent), atomic_load(&racer_calls), atomic_load(&stale_checks),
	       atomic_load(&closed_running), atomic_load(&opened), atomic_load(&set_rounds),
	       reuse_pressure, secs, (double)atomic_load(&cycles) / secs);
	return tap_done();
}
