// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pidshim-faults - fault injection on one backend (PIDSHIM_BACKEND).
 *
 * ENOMEM: this program is linked against libpidshim.a with
 * -Wl,--wrap=malloc (and calloc, realloc, ...), so every heap allocation
 * the library makes goes through the wrappers below.  For each path
 * (probe, open, spawn, close of a running child, set_new/add/remove/wait,
 * wait) the test fails the 1st allocation, then the 2nd, ... until the
 * path completes without reaching the failing one.  Each failure must come
 * back as a clean -ENOMEM: allocations back to the baseline, no fd left,
 * no child lost or left as a zombie.
 *
 * EMFILE: with RLIMIT_NOFILE lowered and the table filled, k = 0, 1, 2, 3
 * fds are freed and a spawn attempted: either it works and the status is
 * right, or it fails with -EMFILE and the child (which may have started)
 * was killed and reaped.  The probe must not cache EMFILE.
 *
 * EINTR: a 100 us interval timer aimed at the waiting thread, with a
 * handler installed without SA_RESTART, fires during blocking waits,
 * timed waits and set waits: no -EINTR, no early -ETIMEDOUT, no lost exit.
 *
 * A SIGALRM watchdog turns a deadlock into a failure naming the section.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pidshim.h>

extern char **environ;

/* ---- allocation wrappers (only the library's calls reach them) ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__real_reallocarray(void *p, size_t n, size_t m);
void __real_free(void *p);
int __real_posix_memalign(void **p, size_t a, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_reallocarray(void *p, size_t n, size_t m);
void __wrap_free(void *p);
int __wrap_posix_memalign(void **p, size_t a, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static atomic_long live_allocs;  /* library allocations not yet freed */
static __thread long alloc_count; /* allocations seen while armed */
static __thread long fail_at;     /* fail this one (1-based); 0: never */
static __thread bool armed;
static long injected;

static bool inject(void)
{
	if (!armed)
		return false;
	if (++alloc_count == fail_at) {
		injected++;
		return true;
	}
	return false;
}

void *__wrap_malloc(size_t n)
{
	void *p = inject() ? NULL : __real_malloc(n);

	if (p)
		atomic_fetch_add(&live_allocs, 1);
	return p;
}

void *__wrap_calloc(size_t n, size_t m)
{
	void *p = inject() ? NULL : __real_calloc(n, m);

	if (p)
		atomic_fetch_add(&live_allocs, 1);
	return p;
}

void *__wrap_realloc(void *old, size_t n)
{
	void *p;

	if (inject())
		return NULL;
	p = __real_realloc(old, n);
	if (!old && p)
		atomic_fetch_add(&live_allocs, 1);
	else if (old && !n)
		atomic_fetch_sub(&live_allocs, 1);
	return p;
}

void *__wrap_reallocarray(void *old, size_t n, size_t m)
{
	void *p;

	if (inject())
		return NULL;
	p = __real_reallocarray(old, n, m);
	if (!old && p)
		atomic_fetch_add(&live_allocs, 1);
	return p;
}

int __wrap_posix_memalign(void **pp, size_t a, size_t n)
{
	int rc;

	if (inject())
		return ENOMEM;
	rc = __real_posix_memalign(pp, a, n);
	if (!rc)
		atomic_fetch_add(&live_allocs, 1);
	return rc;
}

void *__wrap_aligned_alloc(size_t a, size_t n)
{
	void *p = inject() ? NULL : __real_aligned_alloc(a, n);

	if (p)
		atomic_fetch_add(&live_allocs, 1);
	return p;
}

char *__wrap_strdup(const char *s)
{
	return __wrap_strndup(s, strlen(s));
}

char *__wrap_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = __wrap_malloc(len + 1);

	if (p) {
		memcpy(p, s, len);
		p[len] = 0;
	}
	return p;
}

void __wrap_free(void *p)
{
	if (p)
		atomic_fetch_sub(&live_allocs, 1);
	__real_free(p);
}

static void arm(long n)
{
	alloc_count = 0;
	fail_at = n;
	armed = true;
}

static long disarm(void)
{
	armed = false;
	return alloc_count;
}

/* ---- watchdog ---- */

static const char *volatile section = "start";

static void watchdog(int sig)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "Bail out! hang (deadlock?) in %s\n", section);

	(void)sig;
	if (write(1, buf, (size_t)n) < 0)
		_exit(98);
	_exit(98);
}

static void enter(const char *name, int seconds)
{
	section = name;
	alarm((unsigned)seconds);
}

/* ---- helpers ---- */

static const char *bname;
static long emfile_attempts, enomem_paths_covered;
static volatile sig_atomic_t eintr_signals;

static int spawn_mode(struct pidshim **h, const char *a1, const char *a2, const char *a3)
{
	char *argv[] = { (char *)"stress-child", (char *)a1, (char *)a2, (char *)a3, NULL };

	return pidshim_spawn(h, child_path(), NULL, NULL, argv, NULL);
}

static pid_t raw_spawn(const char *mode)
{
	char *argv[] = { (char *)"stress-child", (char *)mode, (char *)"0", NULL };
	pid_t pid;

	if (posix_spawn(&pid, child_path(), NULL, NULL, argv, environ))
		die("posix_spawn");
	return pid;
}

static void raw_kill(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* No child of ours may exist (the library must have reaped every one).
 * waitid(WNOWAIT) needs no fd, so this works while the fd table is full. */
static bool no_children(int grace_ms)
{
	uint64_t end = now_ns() + (uint64_t)grace_ms * 1000000u;

	for (;;) {
		siginfo_t si;

		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD)
			return true;
		if (now_ns() > end)
			return false;
		usleep(5000);
	}
}

/*
 * A pool of abandoned children: spawned, handle closed while they run
 * (the library tracks them as orphans), so the sweeps also run with the
 * library's tables at and around their growth points.  They never exit
 * by themselves; pool_drain() kills them by pid (safe: unreaped children
 * keep their pid) and checks that the library reaps every one.
 */
static pid_t pool[256];
static int npool;

static void pool_grow(int n)
{
	while (npool < n) {
		struct pidshim *h;
		int rc = spawn_mode(&h, "w", NULL, NULL);

		if (rc)
			die("pool spawn: %d", rc);
		pool[npool++] = pidshim_pid(h);
		pidshim_close(h);
	}
}

/* Children other than the pool. */
static int extra_children(void)
{
	return scan_children(NULL, pool, npool);
}

static bool no_extra_children(int grace_ms)
{
	uint64_t end = now_ns() + (uint64_t)grace_ms * 1000000u;

	while (extra_children()) {
		if (now_ns() > end)
			return false;
		usleep(5000);
	}
	return true;
}

static void pool_drain(void)
{
	int n = npool;

	for (int i = 0; i < npool; i++)
		kill(pool[i], SIGKILL);
	npool = 0;
	tap_ok(no_children(3000), "%s: all %d abandoned children reaped by the library once killed",
	       bname, n);
	kill_children(NULL, 0);
}

static bool status_is(const struct pidshim_exit *e, int code)
{
	return e->info.si_code == CLD_EXITED && e->info.si_status == code;
}

/* ---- ENOMEM ---- */

struct sweep {
	const char *path;
	long n;        /* allocations the path makes */
	int failures;  /* checks that failed */
	int enomems;   /* injections that came back as -ENOMEM */
	int absorbed;  /* injections the library survived (retry, fallback) */
};

static void sweep_fail(struct sweep *s, long n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void sweep_fail(struct sweep *s, long n, const char *fmt, ...)
{
	char buf[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (s->failures++ < 5)
		tap_diag("%s: ENOMEM at allocation %ld of %s: %s", bname, n, s->path, buf);
}

static void sweep_report(struct sweep *s)
{
	enomem_paths_covered++;
	tap_ok(!s->failures,
	       "%s: ENOMEM on each of the %ld allocations of %s: %d clean -ENOMEM, %d absorbed, %d failures",
	       bname, s->n, s->path, s->enomems, s->absorbed, s->failures);
}

#define SWEEP_MAX 200

static void enomem_open(const char *path)
{
	struct sweep s = { .path = path };

	enter("ENOMEM open", 60);
	for (long n = 1; n <= SWEEP_MAX; n++) {
		pid_t pid = raw_spawn("w");
		long live0 = atomic_load(&live_allocs), seen;
		int fds0 = count_fds(), rc, st;
		struct pidshim *h = NULL;

		arm(n);
		rc = pidshim_open(pid, 0, &h);
		seen = disarm();
		if (rc == -ENOMEM) {
			s.enomems++;
			if (h)
				sweep_fail(&s, n, "*ret changed on failure");
			if (atomic_load(&live_allocs) != live0)
				sweep_fail(&s, n, "%ld allocations leaked",
					   atomic_load(&live_allocs) - live0);
			if (count_fds() != fds0)
				sweep_fail(&s, n, "fd count %d -> %d", fds0, count_fds());
		} else if (rc) {
			sweep_fail(&s, n, "returned %d", rc);
		} else {
			if (seen >= n)
				s.absorbed++;
			pidshim_close(h);
		}
		/* The child must still be ours and alive: nobody reaped it. */
		if (waitpid(pid, &st, WNOHANG) != 0)
			sweep_fail(&s, n, "the child was reaped or lost");
		raw_kill(pid);
		if (seen < n) {
			s.n = seen;
			break;
		}
	}
	sweep_report(&s);
}

static void enomem_spawn(const char *path)
{
	struct sweep s = { .path = path };

	enter("ENOMEM spawn", 60);
	for (long n = 1; n <= SWEEP_MAX; n++) {
		long live0 = atomic_load(&live_allocs), seen;
		int fds0 = count_fds(), rc;
		struct pidshim *h = NULL;
		struct pidshim_exit e;

		arm(n);
		rc = spawn_mode(&h, "e", "5", NULL);
		seen = disarm();
		if (rc == -ENOMEM) {
			s.enomems++;
			if (h)
				sweep_fail(&s, n, "*ret changed on failure");
			if (!no_extra_children(0)) {
				sweep_fail(&s, n, "a child is left behind right after the error%s",
					   no_extra_children(1000) ? " (gone within 1 s)" : " (still after 1 s)");
				kill_children(pool, npool);
			}
			if (atomic_load(&live_allocs) != live0)
				sweep_fail(&s, n, "%ld allocations leaked",
					   atomic_load(&live_allocs) - live0);
			if (count_fds() != fds0)
				sweep_fail(&s, n, "fd count %d -> %d", fds0, count_fds());
		} else if (rc) {
			sweep_fail(&s, n, "returned %d", rc);
		} else {
			if (seen >= n)
				s.absorbed++;
			rc = pidshim_wait(h, &e);
			if (rc || !status_is(&e, 5))
				sweep_fail(&s, n, "spawn survived but wait gives %d", rc);
			pidshim_close(h);
			if (atomic_load(&live_allocs) != live0)
				sweep_fail(&s, n, "%ld allocations leaked after close",
					   atomic_load(&live_allocs) - live0);
		}
		if (seen < n) {
			s.n = seen;
			break;
		}
	}
	sweep_report(&s);
}

/* close() of a running spawned child: the library must still reap it. */
static void enomem_close_running(const char *path)
{
	struct sweep s = { .path = path };

	enter("ENOMEM close-running", 60);
	for (long n = 1; n <= SWEEP_MAX; n++) {
		long seen;
		int rc, fds0 = count_fds();
		struct pidshim *h;

		pid_t pid;

		if ((rc = spawn_mode(&h, "s", "20000", "0")))
			die("spawn: %d", rc);
		pid = pidshim_pid(h);
		arm(n);
		pidshim_close(h);
		seen = disarm();
		if (!no_extra_children(3000)) {
			sweep_fail(&s, n, "the closed child %d is never reaped (zombie)", pid);
			kill_children(pool, npool);
		}
		if (count_fds() > fds0)
			sweep_fail(&s, n, "fd count grew");
		if (seen >= n)
			s.absorbed++;
		if (seen < n) {
			s.n = seen;
			break;
		}
	}
	sweep_report(&s);
}

static void enomem_sets(void)
{
	struct sweep sn = { .path = "pidshim_set_new" }, sa = { .path = "pidshim_set_add" },
		     sw = { .path = "pidshim_set_wait" }, sr = { .path = "pidshim_set_remove" };
	struct pidshim *h;
	struct pidshim_exit e;
	int rc;

	enter("ENOMEM sets", 120);
	for (long n = 1; n <= SWEEP_MAX; n++) {
		struct pidshim_set *set = NULL;
		long live0 = atomic_load(&live_allocs), seen;
		int fds0 = count_fds();

		arm(n);
		rc = pidshim_set_new(&set);
		seen = disarm();
		if (rc == -ENOMEM) {
			sn.enomems++;
			if (set)
				sweep_fail(&sn, n, "*ret changed on failure");
			if (atomic_load(&live_allocs) != live0)
				sweep_fail(&sn, n, "%ld allocations leaked", atomic_load(&live_allocs) - live0);
			if (count_fds() != fds0)
				sweep_fail(&sn, n, "fd count %d -> %d", fds0, count_fds());
		} else if (rc) {
			sweep_fail(&sn, n, "returned %d", rc);
		} else {
			pidshim_set_free(set);
			if (seen >= n)
				sn.absorbed++;
		}
		if (seen < n) {
			sn.n = seen;
			break;
		}
	}
	sweep_report(&sn);

	/* add, then wait on an exited member, then remove */
	for (int which = 0; which < 3; which++) {
		struct sweep *s = which == 0 ? &sa : which == 1 ? &sw : &sr;

		for (long n = 1; n <= SWEEP_MAX; n++) {
			struct pidshim_set *set;
			struct pidshim *ready = NULL;
			long live0 = atomic_load(&live_allocs), seen;
			int fds0;

			if ((rc = pidshim_set_new(&set)) || (rc = spawn_mode(&h, "e", "4", NULL)))
				die("set_new/spawn: %d", rc);
			if (which > 0 && (rc = pidshim_set_add(set, h)))
				die("set_add: %d", rc);
			if (which > 0) {
				struct pollfd p = { .fd = pidshim_fd(h), .events = POLLIN };

				poll(&p, 1, 5000);
			}
			fds0 = count_fds();
			arm(n);
			if (which == 0)
				rc = pidshim_set_add(set, h);
			else if (which == 1)
				rc = pidshim_set_wait(set, 5000, &ready);
			else
				rc = pidshim_set_remove(set, h);
			seen = disarm();
			if (rc == -ENOMEM) {
				s->enomems++;
				if (ready)
					sweep_fail(s, n, "*ready changed on failure");
				if (count_fds() != fds0)
					sweep_fail(s, n, "fd count %d -> %d", fds0, count_fds());
			} else if (rc) {
				sweep_fail(s, n, "returned %d", rc);
			} else {
				if (which == 1 && ready != h)
					sweep_fail(s, n, "set_wait returned another handle");
				if (seen >= n)
					s->absorbed++;
			}
			/* Whatever happened, the exit must not be lost. */
			rc = pidshim_wait(h, &e);
			if (rc || !status_is(&e, 4))
				sweep_fail(s, n, "then wait gives %d", rc);
			pidshim_close(h);
			pidshim_set_free(set);
			/* A set may keep what it grew before the failure; once it
			 * and the handle are gone, nothing may be left. */
			if (atomic_load(&live_allocs) != live0)
				sweep_fail(s, n, "%ld allocations leaked (after close and set_free)",
					   atomic_load(&live_allocs) - live0);
			if (seen < n) {
				s->n = seen;
				break;
			}
		}
		sweep_report(s);
	}
}

static void enomem_wait(void)
{
	struct sweep s = { .path = "pidshim_wait" };

	enter("ENOMEM wait", 60);
	for (long n = 1; n <= SWEEP_MAX; n++) {
		struct pidshim *h;
		struct pidshim_exit e;
		long seen;
		int rc;

		if ((rc = spawn_mode(&h, "e", "6", NULL)))
			die("spawn: %d", rc);
		arm(n);
		rc = pidshim_wait(h, &e);
		seen = disarm();
		if (rc == -ENOMEM) {
			s.enomems++;
			rc = pidshim_wait(h, &e); /* the exit must still be there */
		} else if (seen >= n) {
			s.absorbed++;
		}
		if (rc || !status_is(&e, 6))
			sweep_fail(&s, n, "wait gives %d, si_status %d", rc, e.info.si_status);
		pidshim_close(h);
		if (seen < n) {
			s.n = seen;
			break;
		}
	}
	sweep_report(&s);
}

/* The probe runs once per process: test it in fresh forks made before
 * this process probed.  -ENOMEM must not be cached. */
static void enomem_probe(int backend_expected)
{
	struct sweep s = { .path = "pidshim_backend (probe)" };

	enter("ENOMEM probe", 60);
	for (long n = 1; n <= SWEEP_MAX; n++) {
		pid_t pid;
		int st;

		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			int r1, r2;
			long seen;

			arm(n);
			r1 = pidshim_backend();
			seen = disarm();
			r2 = pidshim_backend();
			if (r1 != -ENOMEM && r1 != backend_expected)
				_exit(10); /* wrong first answer */
			if (r2 != backend_expected)
				_exit(11); /* ENOMEM was cached */
			_exit(seen < n ? 0 : r1 == -ENOMEM ? 1 : 2);
		}
		waitpid(pid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) > 2) {
			sweep_fail(&s, n, "%s", !WIFEXITED(st) ? "probe crashed" :
				   WEXITSTATUS(st) == 10 ? "probe returned a wrong error" :
							   "a failed probe was cached");
		} else if (WEXITSTATUS(st) == 0) {
			s.n = n - 1;
			break;
		} else if (WEXITSTATUS(st) == 1) {
			s.enomems++;
		} else {
			s.absorbed++;
		}
	}
	sweep_report(&s);
}

/* ---- EMFILE ---- */

static int fill_fds(int *fill, int max)
{
	int n = 0;

	while (n < max) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			break;
		fill[n++] = fd;
	}
	return n;
}

static void emfile_tests(int backend)
{
	struct rlimit old, lim;
	int fill[256], nfill, rc, failures = 0, first_ok = -1;

	enter("EMFILE", 60);
	getrlimit(RLIMIT_NOFILE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)count_fds_nofd() + 64;
	if (lim.rlim_cur > 250)
		die("too many fds open to run the EMFILE test (%d)", count_fds_nofd());
	setrlimit(RLIMIT_NOFILE, &lim);
	nfill = fill_fds(fill, 256);
	for (int k = 0; k <= 4; k++) {
		struct pidshim *h = NULL;
		struct pidshim_exit e;
		int fds0;

		for (int i = 0; i < k; i++)
			close(fill[--nfill]);
		fds0 = count_fds_nofd();
		emfile_attempts++;
		rc = spawn_mode(&h, "e", "9", NULL);
		if (rc == 0) {
			if (first_ok < 0)
				first_ok = k;
			rc = pidshim_wait(h, &e);
			if (rc || !status_is(&e, 9)) {
				failures++;
				tap_diag("%s: EMFILE k=%d: spawn worked, wait gives %d", bname, k, rc);
			}
			pidshim_close(h);
		} else if (rc == -EMFILE || rc == -ENFILE) {
			if (h) {
				failures++;
				tap_diag("%s: EMFILE k=%d: *ret changed on failure", bname, k);
			}
			if (!no_children(0)) {
				failures++;
				tap_diag("%s: EMFILE k=%d: spawn failed but a child is left%s", bname,
					 k, no_children(1000) ? " (gone within 1 s)" : "");
				kill_children(pool, npool);
			}
		} else {
			failures++;
			tap_diag("%s: EMFILE k=%d: spawn returned %d", bname, k, rc);
		}
		if (count_fds_nofd() != fds0) {
			failures++;
			tap_diag("%s: EMFILE k=%d: fd count %d -> %d", bname, k, fds0, count_fds_nofd());
		}
		nfill += fill_fds(fill + nfill, k);
	}
	/* How many fds a spawn needs on the way is the library's business
	 * (a handle holds 1, or 2 on signalfd); it must work with a few. */
	tap_ok(!failures && first_ok >= 0,
	       "%s: EMFILE between spawn and handle: clean -EMFILE or success at every step, spawn works from %d free fd(s), child never lost",
	       bname, first_ok);

	/* open of a live child while the table is full */
	{
		pid_t pid;
		struct pidshim *h = NULL;
		int st;

		for (int i = 0; i < 3; i++)
			close(fill[--nfill]);
		pid = raw_spawn("w");
		nfill += fill_fds(fill + nfill, 3);
		emfile_attempts++;
		rc = pidshim_open(pid, 0, &h);
		tap_ok((rc == -EMFILE || rc == -ENFILE) && !h && waitpid(pid, &st, WNOHANG) == 0,
		       "%s: pidshim_open with no fd free: %d, child left alone", bname, rc);
		raw_kill(pid);
	}
	/* set_new while the table is full */
	{
		struct pidshim_set *s = NULL;

		emfile_attempts++;
		rc = pidshim_set_new(&s);
		tap_ok((rc == -EMFILE || rc == -ENFILE) && !s, "%s: pidshim_set_new with no fd free: %d",
		       bname, rc);
		if (!rc)
			pidshim_set_free(s);
	}
	while (nfill)
		close(fill[--nfill]);
	setrlimit(RLIMIT_NOFILE, &old);
}

/* In a fresh fork that has not probed: EMFILE must not be cached. */
static void emfile_probe(int backend)
{
	pid_t pid;
	int st;

	enter("EMFILE probe", 30);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct rlimit lim = { 0, 0 };
		int fill[256], nfill, r1, r2;

		getrlimit(RLIMIT_NOFILE, &lim);
		lim.rlim_cur = (rlim_t)count_fds() + 32;
		setrlimit(RLIMIT_NOFILE, &lim);
		nfill = fill_fds(fill, 256);
		r1 = pidshim_backend();
		while (nfill)
			close(fill[--nfill]);
		r2 = pidshim_backend();
		if (r1 != backend && r1 != -EMFILE && r1 != -ENFILE)
			_exit(10);
		_exit(r2 == backend ? (r1 == backend ? 1 : 0) : 11);
	}
	emfile_attempts++;
	waitpid(pid, &st, 0);
	tap_ok(WIFEXITED(st) && WEXITSTATUS(st) <= 1,
	       "%s: probe with no fd free gives -EMFILE (or works) and is not cached (%s)", bname,
	       !WIFEXITED(st) ? "crashed" : WEXITSTATUS(st) == 0 ? "-EMFILE, then the backend" :
				    WEXITSTATUS(st) == 1 ? "the probe needed no fd" :
				    WEXITSTATUS(st) == 10 ? "wrong error" : "EMFILE was cached");
}

/* ---- EINTR ---- */

static void storm_handler(int sig)
{
	(void)sig;
	eintr_signals++;
}

static void eintr_storm(int iters)
{
	struct sigaction sa;
	struct sigevent sev;
	struct itimerspec its = { { 0, 100000 }, { 0, 100000 } };
	timer_t t;
	int failures = 0, lost = 0;
	long waits = 0;

	enter("EINTR storm", 120);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = storm_handler; /* no SA_RESTART on purpose */
	sigaction(SIGRTMIN + 1, &sa, NULL);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGRTMIN + 1;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &t))
		die("timer_create: %s", strerror(errno));
	timer_settime(t, 0, &its, NULL);
	for (int i = 0; i < iters; i++) {
		struct pidshim *h[8];
		struct pidshim_exit e;
		char us[16], code[16];
		int rc, m = i % 4, n = m >= 2 ? 8 : 1;
		uint64_t t0;

		for (int j = 0; j < n; j++) {
			snprintf(us, sizeof(us), "%d", 1000 + (i * 7919 + j * 104729) % 20000);
			snprintf(code, sizeof(code), "%d", (i + j) % 200);
			while ((rc = spawn_mode(&h[j], "s", us, code)) == -EAGAIN)
				;
			if (rc) {
				failures++;
				tap_diag("%s: EINTR storm: spawn %d", bname, rc);
				n = j;
				break;
			}
		}
		t0 = now_ns();
		if (m == 0) {
			rc = pidshim_wait(h[0], &e);
			waits++;
			if (rc || !status_is(&e, i % 200)) {
				failures++;
				tap_diag("%s: EINTR storm: wait %d", bname, rc);
			}
		} else if (m == 1) {
			rc = pidshim_wait_timeout(h[0], 10000, &e);
			waits++;
			if (rc || !status_is(&e, i % 200)) {
				failures++;
				tap_diag("%s: EINTR storm: wait_timeout %d after %.3f s", bname, rc,
					 (double)(now_ns() - t0) / 1e9);
			}
		} else {
			struct pidshim_set *s;
			int left = n;

			if ((rc = pidshim_set_new(&s)))
				die("set_new %d", rc);
			for (int j = 0; j < n; j++)
				pidshim_set_add(s, h[j]);
			while (left) {
				struct pidshim *ready;
				int j;

				rc = pidshim_set_wait(s, m == 2 ? -1 : 10000, &ready);
				waits++;
				if (rc) {
					failures++;
					lost += left;
					tap_diag("%s: EINTR storm: set_wait(%d) %d with %d left", bname,
						 m == 2 ? -1 : 10000, rc, left);
					break;
				}
				for (j = 0; j < n && h[j] != ready; j++)
					;
				rc = pidshim_try_wait(ready, &e);
				if (j == n || rc || !status_is(&e, (i + j) % 200)) {
					failures++;
					tap_diag("%s: EINTR storm: set member try_wait %d", bname, rc);
					break;
				}
				left--;
			}
			pidshim_set_free(s);
		}
		for (int j = 0; j < n; j++)
			pidshim_close(h[j]);
	}
	timer_delete(t);
	tap_ok(!failures && !lost,
	       "%s: EINTR storm (100 us timer, no SA_RESTART, %d signals) over %ld blocking waits: no -EINTR, no early timeout, no lost exit",
	       bname, (int)eintr_signals, waits);
}

int main(int argc, char **argv)
{
	int backend, quick = getenv("PIDSHIM_TEST_QUICK") && *getenv("PIDSHIM_TEST_QUICK") == '1';
	int storm_iters = argc > 1 ? atoi(argv[1]) : 200;
	struct sigaction sa;

	setvbuf(stdout, NULL, _IOLBF, 0);
	cloexec_inherited_fds();
	child_path();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watchdog;
	sigaction(SIGALRM, &sa, NULL);

	bname = getenv("PIDSHIM_BACKEND") ? getenv("PIDSHIM_BACKEND") : "default";
	/* Before this process probes anything. */
	if (forced_backend()) {
		pid_t pid = fork();
		int st;

		if (pid == 0)
			_exit(pidshim_backend() == -ENOSYS ? 0 : 1);
		waitpid(pid, &st, 0);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			printf("1..0 # SKIP %s\n", backend_needs());
			return 0;
		}
	}
	{
		/* The expected backend, found in a throw-away fork. */
		int p[2], b = 0;
		pid_t pid;

		if (pipe(p))
			die("pipe");
		pid = fork();
		if (pid == 0) {
			b = pidshim_backend();
			_exit(write(p[1], &b, sizeof(b)) == sizeof(b) ? 0 : 1);
		}
		close(p[1]);
		if (read(p[0], &b, sizeof(b)) != sizeof(b))
			die("probe fork");
		close(p[0]);
		waitpid(pid, NULL, 0);
		enomem_probe(b);
		emfile_probe(b);
	}
	backend = require_backend();
	bname = pidshim_backend_name(backend);
	/* Warm-up: the library's lazy process-wide state is not a leak. */
	{
		struct pidshim *h;
		struct pidshim_set *s;
		struct pidshim_exit e;

		if (spawn_mode(&h, "e", "0", NULL) || pidshim_set_new(&s))
			die("warm-up");
		pidshim_set_add(s, h);
		pidshim_wait(h, &e);
		pidshim_close(h);
		pidshim_set_free(s);
	}
	/* Around the growth points of the library's pid tables. */
	{
		static const int sizes[] = { 0, 62, 63, 64, 65, 127, 128 };
		int nsizes = quick ? 3 : (int)(sizeof(sizes) / sizeof(sizes[0]));

		for (int i = 0; i < nsizes; i++) {
			char p1[96], p2[96], p3[96];

			pool_grow(sizes[i]);
			snprintf(p1, sizeof(p1), "pidshim_close of a running child (%d abandoned)", npool);
			snprintf(p2, sizeof(p2), "pidshim_spawn (%d abandoned)", npool);
			snprintf(p3, sizeof(p3), "pidshim_open (%d abandoned)", npool);
			enomem_close_running(p1);
			enomem_spawn(p2);
			enomem_open(p3);
		}
		pool_drain();
	}
	enomem_sets();
	enomem_wait();
	emfile_tests(backend);
	eintr_storm(quick ? storm_iters / 10 + 4 : storm_iters);
	alarm(0);
	tap_ok(no_children(2000), "%s: no child or zombie left at the end", bname);
	printf("# figures backend=%s enomem_injected=%ld enomem_paths=%ld emfile_attempts=%ld eintr_signals=%d\n",
	       bname, injected, enomem_paths_covered, emfile_attempts, (int)eintr_signals);
	return tap_done();
}
