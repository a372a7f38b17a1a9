// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sigsys.c - the probe must survive a SECCOMP_RET_TRAP filter (Android)
 * and leave the application's SIGSYS handling exactly as it found it.
 *
 * Under android-sigsys every pidfd syscall the probe tries raises SIGSYS.
 * The process must not die, whatever SIGSYS disposition the application
 * had (its own SA_SIGINFO or plain handler, SIG_DFL, SIG_IGN, or SIGSYS
 * blocked in the probing thread); afterwards the disposition (handler,
 * flags, mask) and the thread's signal mask must be the ones from before,
 * the application's handler must not have seen the probe's traps, and a
 * pidfd_open the application makes itself must reach its own handler.
 * Under every other personality the same program checks that probing
 * touches no SIGSYS state and raises no SIGSYS.
 *
 * Usage: sigsys [PERSONALITY]   (default: $PIDSHIM_PERSONALITY, else native)
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pidshim.h"
#include "pmodel.h"
#include "ptap.h"

#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

static const struct pm *pers;

static volatile sig_atomic_t app_count;
static volatile sig_atomic_t app_nr = -1;
static volatile sig_atomic_t app_code;

static void app_info_handler(int sig, siginfo_t *si, void *uc)
{
	app_count++;
	app_nr = si->si_syscall;
	app_code = si->si_code;
}

static void app_plain_handler(int sig)
{
	app_count++;
}

static int same_sigaction(const struct sigaction *a, const struct sigaction *b)
{
	if (a->sa_flags != b->sa_flags) {
		pt_diag("sa_flags %#x became %#x", (unsigned int)a->sa_flags,
			(unsigned int)b->sa_flags);
		return 0;
	}
	if ((a->sa_flags & SA_SIGINFO) ? a->sa_sigaction != b->sa_sigaction
				       : a->sa_handler != b->sa_handler) {
		pt_diag("the handler changed");
		return 0;
	}
	for (int s = 1; s < NSIG; s++) {
		if (sigismember(&a->sa_mask, s) != sigismember(&b->sa_mask, s)) {
			pt_diag("sa_mask differs for signal %d", s);
			return 0;
		}
	}
	return 1;
}

static int check_backend(int b)
{
	int want = pm_expected_backend(pers);

	PT_CHECK(b == want, "pidshim_backend() = %d (%s), want %s", b,
		 b < 0 ? strerror(-b) : pidshim_backend_name(b),
		 pidshim_backend_name(want));
	return PT_PASS;
}

/* Probe with the given disposition installed; compare it before and after. */
static int probe_with(struct sigaction *sa)
{
	struct sigaction before, after;

	PT_CHECK(sigaction(SIGSYS, sa, NULL) == 0, "sigaction: %s", strerror(errno));
	PT_CHECK(sigaction(SIGSYS, NULL, &before) == 0, "sigaction");
	PT_CHECK(check_backend(pidshim_backend()) == PT_PASS, "backend");
	PT_CHECK(sigaction(SIGSYS, NULL, &after) == 0, "sigaction");
	PT_CHECK(same_sigaction(&before, &after), "SIGSYS disposition not restored");
	PT_CHECK(app_count == 0, "the application's handler saw %d SIGSYS from the probe",
		 (int)app_count);
	return PT_PASS;
}

static void app_sigaction(struct sigaction *sa, int siginfo)
{
	memset(sa, 0, sizeof(*sa));
	if (siginfo) {
		sa->sa_sigaction = app_info_handler;
		sa->sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	} else {
		sa->sa_handler = app_plain_handler;
		sa->sa_flags = SA_RESTART;
	}
	sigemptyset(&sa->sa_mask);
	sigaddset(&sa->sa_mask, SIGUSR1);
	sigaddset(&sa->sa_mask, SIGRTMIN + 2);
}

static int case_siginfo_handler(void)
{
	struct sigaction sa;

	app_sigaction(&sa, 1);
	return probe_with(&sa);
}

static int case_plain_handler(void)
{
	struct sigaction sa;

	app_sigaction(&sa, 0);
	return probe_with(&sa);
}

static int case_default(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	return probe_with(&sa);
}

/* An ignored SIGSYS is not enough: the kernel resets a forced trap to SIG_DFL and kills.
 */
static int case_ignored(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	return probe_with(&sa);
}

/* A blocked SIGSYS is forced through with SIG_DFL by the kernel: the probe must unblock
 * it. */
static int case_blocked(void)
{
	sigset_t set, after, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	sigaddset(&set, SIGUSR2);
	PT_CHECK(pthread_sigmask(SIG_BLOCK, &set, NULL) == 0, "sigmask");
	PT_CHECK(check_backend(pidshim_backend()) == PT_PASS, "backend");
	PT_CHECK(pthread_sigmask(SIG_BLOCK, NULL, &after) == 0, "sigmask");
	PT_CHECK(sigismember(&after, SIGSYS) == 1 && sigismember(&after, SIGUSR2) == 1,
		 "the thread's signal mask was not restored");
	PT_CHECK(sigpending(&pending) == 0 && !sigismember(&pending, SIGSYS),
		 "a SIGSYS is left pending");
	return PT_PASS;
}

/* After the probe, the application's own pidfd_open reaches its own handler. */
static int case_app_trap_after_probe(void)
{
	struct sigaction sa;
	long rc;

	app_sigaction(&sa, 1);
	PT_CHECK(probe_with(&sa) == PT_PASS, "probe");
	rc = syscall(__NR_pidfd_open, getpid(), 0);
	if (pers->kind == PM_SIGSYS) {
		PT_CHECK(app_count == 1, "pidfd_open raised %d SIGSYS, want 1",
			 (int)app_count);
		PT_CHECK(app_code == SYS_SECCOMP && app_nr == __NR_pidfd_open,
			 "si_code %d si_syscall %d", (int)app_code, (int)app_nr);
	} else {
		PT_CHECK(app_count == 0, "pidfd_open raised SIGSYS under %s", pers->name);
		if (rc >= 0)
			close((int)rc);
	}
	return PT_PASS;
}

static void *probe_thread(void *arg)
{
	*(int *)arg = pidshim_backend();
	return NULL;
}

/* Threads probing at once: one probe, everyone gets its answer, nothing leaks. */
static int case_threads(void)
{
	struct sigaction sa, before, after;
	pthread_t t[4];
	int res[4];

	app_sigaction(&sa, 1);
	PT_CHECK(sigaction(SIGSYS, &sa, NULL) == 0, "sigaction");
	PT_CHECK(sigaction(SIGSYS, NULL, &before) == 0, "sigaction");
	for (int i = 0; i < 4; i++)
		PT_CHECK(pthread_create(&t[i], NULL, probe_thread, &res[i]) == 0,
			 "pthread_create");
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		PT_CHECK(check_backend(res[i]) == PT_PASS, "thread %d", i);
	}
	PT_CHECK(sigaction(SIGSYS, NULL, &after) == 0, "sigaction");
	PT_CHECK(same_sigaction(&before, &after), "SIGSYS disposition not restored");
	PT_CHECK(app_count == 0, "the application's handler saw the probe's SIGSYS");
	return PT_PASS;
}

/* The library works under the personality with the application's handler in place. */
static int case_spawn_wait(void)
{
	char *argv[] = { "sh", "-c", "exit 11", NULL };
	struct pidshim_exit ex;
	struct pidshim *h = NULL;
	struct sigaction sa;
	int rc;

	app_sigaction(&sa, 1);
	PT_CHECK(sigaction(SIGSYS, &sa, NULL) == 0, "sigaction");
	rc = pidshim_spawn(&h, "/bin/sh", NULL, NULL, argv, NULL);
	PT_CHECK(rc == 0, "pidshim_spawn: %s", strerror(-rc));
	rc = pidshim_wait(h, &ex);
	PT_CHECK(rc == 0, "pidshim_wait: %s", strerror(-rc));
	PT_CHECK(ex.info.si_code == CLD_EXITED && ex.info.si_status == 11,
		 "code %d status %d", ex.info.si_code, ex.info.si_status);
	pidshim_close(h);
	PT_CHECK(app_count == 0, "the application's handler saw %d SIGSYS",
		 (int)app_count);
	return PT_PASS;
}

static const struct pt_case cases[] = {
	{ "probe keeps an SA_SIGINFO SIGSYS handler", case_siginfo_handler },
	{ "probe keeps a plain SIGSYS handler", case_plain_handler },
	{ "probe survives and keeps SIG_DFL", case_default },
	{ "probe survives and keeps SIG_IGN", case_ignored },
	{ "probe survives SIGSYS blocked in its thread", case_blocked },
	{ "application's own pidfd_open reaches its handler", case_app_trap_after_probe },
	{ "4 threads probing at once", case_threads },
	{ "spawn and wait with the application's handler", case_spawn_wait },
};

int main(int argc, char **argv)
{
	const char *name = pt_personality(argc, argv);

	pers = pm_lookup(name);
	if (!pers) {
		fprintf(stderr, "sigsys: unknown personality '%s'\n", name);
		return 2;
	}
	return pt_run(cases, sizeof(cases) / sizeof(cases[0]), 20);
}
