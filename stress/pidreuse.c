// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pidshim-pidreuse - PID-reuse torture on one backend (PIDSHIM_BACKEND).
 *
 * In a private pid namespace (made here with unshare(CLONE_NEWPID); we are
 * root) the test writes /proc/sys/kernel/ns_last_pid so that the very next
 * process created takes the PID of a child whose handle was just reaped.
 * Then it signals through the stale handle: the answer must be -ESRCH and
 * the new owner of the PID - a sentinel that counts every signal, or a
 * process spawned through the library itself - must be untouched, and the
 * stale handle must never report the newcomer's status.  The scenarios
 * cover every way a handle becomes stale: wait, try_wait, a foreign
 * waitpid() reaping the child, a handle made with pidshim_open, a second
 * thread that keeps signalling while the owner reaps, SIGCHLD ignored
 * (the kernel reaps), and a handle closed while its child ran (the
 * library owns the child, and must not reap the process that takes its
 * PID once the kernel reaped it).
 */
#include "common.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pidshim.h>

extern char **environ;

static int iters = 40;
static const char *bname;
static const char *volatile scenario = "start";

/* A hang is a failure that names the scenario; exiting as the namespace's
 * init also kills whatever the scenario left behind. */
static void watchdog(int sig)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "not ok - %s: hang (no progress for 20 s) in: %s\n",
			 bname ? bname : "?", scenario);

	(void)sig;
	if (write(1, buf, (size_t)n) < 0)
		_exit(1);
	_exit(1);
}

/* The outer watchdog: ThreadSanitizer defers signals while a thread sits
 * in an uninstrumented raw syscall (the library's waitid), so the inner
 * one may never run; killing the namespace's init from outside always
 * works. */
static pid_t ns_init;

static void outer_watchdog(int sig)
{
	static const char msg[] = "not ok - hang: the torture did not finish in time\n";

	(void)sig;
	kill(ns_init, SIGKILL);
	if (write(1, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

static void enter(const char *name)
{
	scenario = name;
	alarm(20);
}

static int spawn(struct pidshim **h, const char *mode)
{
	char *argv[] = { (char *)"stress-child", (char *)mode, (char *)"0", NULL };

	return pidshim_spawn(h, child_path(), NULL, NULL, argv, NULL);
}

/* /proc is this pid namespace's own (unshare --mount-proc). */
static bool proc_shows_our_pids(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	return atoi(buf) == getpid();
}

/* Make the next process created take pid. */
static void prime(pid_t pid)
{
	int rc = set_ns_last_pid(pid);

	if (rc)
		die("ns_last_pid: %s", strerror(-rc));
}

/* Start a sentinel on pid (retrying a few times if something else won the
 * race for it); returns false if the kernel never gave it that pid. */
static bool sentinel_on(struct sentinel *s, pid_t pid)
{
	for (int i = 0; i < 5; i++) {
		prime(pid);
		if (sentinel_start(s))
			die("sentinel_start");
		if (s->pid == pid)
			return true;
		if (sentinel_stop(s))
			tap_diag("%s: a sentinel that did not take pid %d got signals", bname, pid);
	}
	return false;
}

struct tally {
	int reused, not_reused, bad_rc, hits, other;
};

/* want: -ESRCH once the process was reaped; 0 while the library holds its
 * status for a wait the program has not made yet (a zombie to the user,
 * and kill(2) on a zombie gives 0).  Either way no signal may leave. */
static void stale_signals_want(struct pidshim *h, struct tally *t, int want)
{
	static const int sigs[] = { SIGTERM, 0, SIGKILL, SIGUSR1 };

	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		int rc = pidshim_send_signal(h, sigs[i]);

		if (rc != want) {
			t->bad_rc++;
			tap_diag("%s: send_signal(%d) on stale handle of %d: %d, want %d", bname,
				 sigs[i], pidshim_pid(h), rc, want);
		}
	}
}

static void stale_signals(struct pidshim *h, struct tally *t)
{
	stale_signals_want(h, t, -ESRCH);
}

static void finish_sentinel(struct sentinel *s, struct tally *t)
{
	int hits = sentinel_stop(s);

	if (hits == SENTINEL_STOLEN) {
		t->hits++;
		tap_diag("%s: sentinel on reused pid %d was reaped by someone else (the library?)",
			 bname, s->pid);
	} else if (hits) {
		t->hits += hits < 0 ? 1 : hits;
		tap_diag("%s: sentinel on reused pid %d %s %d", bname, s->pid,
			 hits < 0 ? "killed by signal" : "received signals:", hits < 0 ? -hits : hits);
	}
}

static void report(const char *what, struct tally *t)
{
	tap_ok(t->reused > 0 && !t->bad_rc && !t->hits && !t->other,
	       "%s: %s: %d PIDs reused (%d not reusable), %d wrong returns, %d signals misdirected, %d other errors",
	       bname, what, t->reused, t->not_reused, t->bad_rc, t->hits, t->other);
}

/* A: reaped by wait (or try_wait), PID taken by a sentinel. */
static void scen_wait(bool try)
{
	struct tally t = { 0 };

	enter("reaped by wait/try_wait");

	for (int i = 0; i < iters; i++) {
		struct pidshim *h;
		struct pidshim_exit e;
		struct sentinel s;
		int rc;

		if ((rc = spawn(&h, "e")))
			die("spawn: %d", rc);
		if (try) {
			struct pollfd p = { .fd = pidshim_fd(h), .events = POLLIN };

			do
				poll(&p, 1, 1000);
			while ((rc = pidshim_try_wait(h, &e)) == -EAGAIN);
		} else {
			rc = pidshim_wait(h, &e);
		}
		if (rc) {
			t.other++;
			tap_diag("%s: reap: %d", bname, rc);
		}
		if (!sentinel_on(&s, pidshim_pid(h))) {
			t.not_reused++;
			pidshim_close(h);
			continue;
		}
		t.reused++;
		stale_signals(h, &t);
		if ((rc = pidshim_try_wait(h, &e)) != -ECHILD) {
			t.other++;
			tap_diag("%s: try_wait on stale handle: %d, want -ECHILD", bname, rc);
		}
		finish_sentinel(&s, &t);
		pidshim_close(h);
	}
	report(try ? "reaped by try_wait, pid reused by a sentinel" :
		     "reaped by wait, pid reused by a sentinel", &t);
}

/* B: the PID is reused by a process the library itself tracks. */
static void scen_library_reuser(void)
{
	struct tally t = { 0 };

	enter("pid reused by a library child");

	for (int i = 0; i < iters; i++) {
		struct pidshim *h1, *h2 = NULL;
		struct pidshim_exit e;
		int rc, j;

		if ((rc = spawn(&h1, "e")) || (rc = pidshim_wait(h1, &e)))
			die("spawn/wait: %d", rc);
		for (j = 0; j < 5; j++) {
			prime(pidshim_pid(h1));
			if ((rc = spawn(&h2, "w")))
				die("spawn: %d", rc);
			if (pidshim_pid(h2) == pidshim_pid(h1))
				break;
			pidshim_send_signal(h2, SIGKILL);
			pidshim_wait(h2, &e);
			pidshim_close(h2);
			h2 = NULL;
		}
		if (!h2) {
			t.not_reused++;
			pidshim_close(h1);
			continue;
		}
		t.reused++;
		/* SIGTERM through the stale handle, SIGKILL through the live one:
		 * the newcomer must die of SIGKILL. */
		if ((rc = pidshim_send_signal(h1, SIGTERM)) != -ESRCH) {
			t.bad_rc++;
			tap_diag("%s: stale send_signal: %d, want -ESRCH", bname, rc);
		}
		if ((rc = pidshim_try_wait(h1, &e)) != -ECHILD) {
			t.other++;
			tap_diag("%s: stale try_wait: %d, want -ECHILD (stole the newcomer's status?)",
				 bname, rc);
		}
		usleep(1000);
		if ((rc = pidshim_try_wait(h2, &e)) != -EAGAIN) {
			t.hits++;
			tap_diag("%s: newcomer on reused pid %d not running: try_wait %d si_code %d si_status %d",
				 bname, pidshim_pid(h2), rc, e.info.si_code, e.info.si_status);
		} else {
			pidshim_send_signal(h2, SIGKILL);
			rc = pidshim_wait(h2, &e);
			if (rc || e.info.si_code != CLD_KILLED || e.info.si_status != SIGKILL) {
				t.hits++;
				tap_diag("%s: newcomer: wait %d si_code %d si_status %d, want SIGKILL",
					 bname, rc, e.info.si_code, e.info.si_status);
			}
		}
		pidshim_close(h1);
		pidshim_close(h2);
	}
	report("pid reused by a child spawned through the library", &t);
}

/* C: other code reaps the child with waitpid(); the handle must notice. */
static void scen_foreign_reap(void)
{
	struct tally t = { 0 };

	enter("foreign waitpid reap, then wait on the stale handle");
	if (pidshim_backend() == PIDSHIM_BACKEND_SIGNALFD && !proc_shows_our_pids()) {
		/* Without a pidfd the library names the process by an fd on
		 * /proc/PID; a /proc of another PID namespace cannot. */
		tap_skip("%s: reaped by a foreign waitpid: no pidfd and /proc shows another "
			 "pid namespace (run under unshare --mount-proc, as stress/run.sh does)",
			 bname);
		return;
	}

	for (int i = 0; i < iters; i++) {
		struct pidshim *h;
		struct pidshim_exit e;
		struct sentinel s;
		siginfo_t si;
		uint64_t t0;
		int rc;

		if ((rc = spawn(&h, "e")))
			die("spawn: %d", rc);
		/* Let it become a zombie, then steal it (the library may have
		 * reaped it already on some backends: ECHILD is fine too). */
		memset(&si, 0, sizeof(si));
		waitid(P_PID, (id_t)pidshim_pid(h), &si, WEXITED | WNOWAIT);
		bool stolen = waitpid(pidshim_pid(h), NULL, 0) == pidshim_pid(h);
		if (!sentinel_on(&s, pidshim_pid(h))) {
			t.not_reused++;
			pidshim_close(h);
			continue;
		}
		t.reused++;
		/* Stolen: the handle's process is gone (-ESRCH).  Not stolen:
		 * the library reaped it first and keeps its status (0). */
		stale_signals_want(h, &t, stolen ? -ESRCH : 0);
		t0 = now_ns();
		rc = pidshim_wait(h, &e);
		if (stolen ? rc != -ECHILD
			   : !(rc == 0 && e.info.si_pid == pidshim_pid(h) &&
			       e.info.si_code == CLD_EXITED && e.info.si_status == 0)) {
			t.other++;
			tap_diag("%s: wait after a foreign reap: %d (si_code %d), want -ECHILD", bname,
				 rc, e.info.si_code);
		}
		if (now_ns() - t0 > 1500000000ull) {
			t.other++;
			tap_diag("%s: wait after a foreign reap took %.1f s", bname,
				 (double)(now_ns() - t0) / 1e9);
		}
		finish_sentinel(&s, &t);
		pidshim_close(h);
	}
	report("reaped by a foreign waitpid, pid reused by a sentinel", &t);
}

/* D: a handle made with pidshim_open for a child spawned elsewhere. */
static void scen_opened(void)
{
	struct tally t = { 0 };

	enter("opened handle");

	for (int i = 0; i < iters; i++) {
		char *argv[] = { (char *)"stress-child", (char *)"e", (char *)"3", NULL };
		struct pidshim *h;
		struct pidshim_exit e;
		struct sentinel s;
		pid_t pid;
		int rc;

		if (posix_spawn(&pid, child_path(), NULL, NULL, argv, environ))
			die("posix_spawn");
		if ((rc = pidshim_open(pid, 0, &h)))
			die("pidshim_open: %d", rc);
		rc = pidshim_wait(h, &e);
		if (rc || e.info.si_status != 3) {
			t.other++;
			tap_diag("%s: wait of opened child: %d", bname, rc);
		}
		if (!sentinel_on(&s, pid)) {
			t.not_reused++;
			pidshim_close(h);
			continue;
		}
		t.reused++;
		stale_signals(h, &t);
		finish_sentinel(&s, &t);
		pidshim_close(h);
	}
	report("handle from pidshim_open, pid reused by a sentinel", &t);
}

/* E: one thread signals in a loop while another reaps and the PID is
 * immediately handed to a sentinel. */
struct racer {
	struct pidshim *h;
	atomic_int after_reuse_ok; /* calls after the reuse that returned 0 */
	atomic_bool reused;
	int bad;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;

	for (;;) {
		bool reused = atomic_load(&r->reused);
		int rc = pidshim_send_signal(r->h, SIGCONT);

		if (rc == -ESRCH)
			break;
		if (rc) {
			r->bad++;
			break;
		}
		if (reused)
			atomic_fetch_add(&r->after_reuse_ok, 1);
	}
	return NULL;
}

static void scen_race(void)
{
	struct tally t = { 0 };

	enter("send_signal racing the reap");

	for (int i = 0; i < iters; i++) {
		struct racer r = { 0 };
		struct pidshim_exit e;
		struct sentinel s;
		pthread_t th;
		int rc;

		if ((rc = spawn(&r.h, "e")))
			die("spawn: %d", rc);
		pthread_create(&th, NULL, racer_main, &r);
		rc = pidshim_wait(r.h, &e);
		if (rc) {
			t.other++;
			tap_diag("%s: wait: %d", bname, rc);
		}
		if (sentinel_on(&s, pidshim_pid(r.h))) {
			t.reused++;
			atomic_store(&r.reused, true);
		} else {
			t.not_reused++;
			s.pid = 0;
		}
		pthread_join(th, NULL);
		if (r.bad || r.after_reuse_ok) {
			t.bad_rc++;
			tap_diag("%s: racer: %d bad returns, %d successful sends after the pid was reused",
				 bname, r.bad, atomic_load(&r.after_reuse_ok));
		}
		if (s.pid)
			finish_sentinel(&s, &t);
		pidshim_close(r.h);
	}
	report("send_signal in a second thread while the owner reaps", &t);
}

/* Wait until the kernel has reaped pid and freed its number. */
static bool reaped_by_kernel(pid_t pid)
{
	for (int i = 0; i < 400; i++) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return true;
		usleep(5000);
	}
	return false;
}

/* F: SIGCHLD ignored, so the kernel reaps; the PID goes to a sentinel. */
static void scen_sig_ign(void)
{
	struct tally t = { 0 };

	enter("SIGCHLD ignored, pid reused by a sentinel");
	if (pidshim_backend() == PIDSHIM_BACKEND_SIGNALFD && !proc_shows_our_pids()) {
		tap_skip("%s: SIGCHLD ignored: no pidfd and /proc shows another pid namespace",
			 bname);
		return;
	}
	for (int i = 0; i < iters; i++) {
		struct pidshim *h;
		struct pidshim_exit e;
		struct sentinel s;
		uint64_t t0;
		int rc;

		signal(SIGCHLD, SIG_IGN);
		if ((rc = spawn(&h, "e")))
			die("spawn: %d", rc);
		if (!reaped_by_kernel(pidshim_pid(h)))
			die("child %d not reaped by the kernel", pidshim_pid(h));
		signal(SIGCHLD, SIG_DFL);
		if (!sentinel_on(&s, pidshim_pid(h))) {
			t.not_reused++;
			pidshim_close(h);
			continue;
		}
		t.reused++;
		stale_signals(h, &t);
		t0 = now_ns();
		memset(&e, 0, sizeof(e));
		if ((rc = pidshim_wait(h, &e)) != -ECHILD) {
			t.other++;
			tap_diag("%s: wait on an auto-reaped child: %d (si_pid %d status %d), want -ECHILD",
				 bname, rc, e.info.si_pid, e.info.si_status);
		}
		if (now_ns() - t0 > 1500000000ull) {
			t.other++;
			tap_diag("%s: wait on an auto-reaped child took %.1f s", bname,
				 (double)(now_ns() - t0) / 1e9);
		}
		finish_sentinel(&s, &t);
		pidshim_close(h);
	}
	signal(SIGCHLD, SIG_DFL);
	report("SIGCHLD ignored (auto-reaped), pid reused by a sentinel", &t);
}

/* G: the handle closed while the child runs (the library owns it), the
 * kernel reaps it (SIGCHLD ignored), a sentinel takes the PID: the
 * library must neither reap nor signal the sentinel. */
static void scen_orphan(void)
{
	struct tally t = { 0 };

	enter("closed handle, auto-reaped child, pid reused by a sentinel");
	if (pidshim_backend() == PIDSHIM_BACKEND_SIGNALFD && !proc_shows_our_pids()) {
		tap_skip("%s: closed handle: no pidfd and /proc shows another pid namespace",
			 bname);
		return;
	}
	for (int i = 0; i < iters; i++) {
		struct pidshim *h;
		struct sentinel s;
		pid_t pid;
		int rc;

		signal(SIGCHLD, SIG_IGN);
		if ((rc = spawn(&h, "e")))
			die("spawn: %d", rc);
		pid = pidshim_pid(h);
		pidshim_close(h); /* usually still running: the library's now */
		if (!reaped_by_kernel(pid))
			die("child %d not reaped by the kernel", pid);
		signal(SIGCHLD, SIG_DFL);
		if (!sentinel_on(&s, pid)) {
			t.not_reused++;
			continue;
		}
		t.reused++;
		usleep(20000); /* the library's background work had its turn */
		finish_sentinel(&s, &t);
	}
	signal(SIGCHLD, SIG_DFL);
	report("handle closed while running, auto-reaped, pid reused by a sentinel", &t);
}

static int run_tests(void)
{
	int backend = pidshim_backend(), fd0, z;

	if (forced_backend() && backend == -ENOSYS) {
		printf("1..0 # SKIP %s\n", backend_needs());
		return 0;
	}
	backend = require_backend();
	bname = pidshim_backend_name(backend);
	fd0 = count_fds();
	if (set_ns_last_pid(2)) {
		tap_ok(false, "%s: ns_last_pid writable in our pid namespace: %s", bname,
		       strerror(errno));
		return tap_done();
	}
	scen_wait(false);
	scen_wait(true);
	scen_library_reuser();
	scen_foreign_reap();
	scen_opened();
	scen_race();
	scen_sig_ign();
	scen_orphan();
	alarm(0);
	/* /proc shows the parent namespace here: ask waitid(WNOWAIT) instead. */
	for (int i = 0; i < 100; i++) {
		siginfo_t si = { 0 };

		z = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT);
		if (z < 0 && errno == ECHILD)
			break;
		usleep(10000);
	}
	tap_ok(z < 0 && errno == ECHILD, "%s: no child or zombie left after the torture", bname);
	/* Orphans are reaped (and their fds closed) by the library's threads,
	 * asynchronously: a leak is an fd still open after 2 s. */
	for (int i = 0; i < 200 && count_fds() != fd0; i++)
		usleep(10000);
	tap_ok(count_fds() == fd0, "%s: fd count unchanged after the torture", bname);
	return tap_done();
}

int main(int argc, char **argv)
{
	int st;
	pid_t pid;

	if (argc > 1)
		iters = atoi(argv[1]);
	if (getenv("PIDSHIM_TEST_QUICK") && *getenv("PIDSHIM_TEST_QUICK") == '1')
		iters = iters / 10 ? iters / 10 : 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	cloexec_inherited_fds();
	child_path();
	signal(SIGALRM, watchdog);
	if (getpid() == 1)
		return run_tests();
	/* Before any library call: the namespace's init must be fresh. */
	if (unshare(CLONE_NEWPID)) {
		printf("1..0 # SKIP a private pid namespace needs CAP_SYS_ADMIN (unshare: %s)\n",
		       strerror(errno));
		return 0;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		/* Die with the parent (timeout(1) kills only the parent). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(run_tests());
	}
	ns_init = pid;
	signal(SIGALRM, outer_watchdog);
	alarm(140);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	if (WIFSIGNALED(st)) {
		printf("not ok - namespace init killed by signal %d\n", WTERMSIG(st));
		return 1;
	}
	return WEXITSTATUS(st);
}
