/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * children.h - the part every event-loop example shares, so each example
 * file shows only how its loop watches pidshim_fd().  It spawns N children
 * of this same program (re-executed through /proc/self/exe with
 * "--child I") whose fates are mixed: exit codes, self-inflicted signals
 * and signals the parent sends through pidshim_send_signal(); it then
 * checks each collected status against that plan.  Header-only (static
 * functions) so that an example is one .c file plus this.
 */
#ifndef PIDSHIM_EXAMPLES_CHILDREN_H
#define PIDSHIM_EXAMPLES_CHILDREN_H

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pidshim.h>

/* Exit status of an example: like automake, 77 means "skipped". */
#define EXAMPLE_SKIP 77

enum child_fate {
	FATE_EXIT,         /* _exit(value) */
	FATE_RAISE,        /* raise(value) */
	FATE_PARENT_KILLS, /* waits; the parent sends signal value */
};

struct child {
	struct pidshim *h;
	pid_t pid;
	int index;
	int done; /* status collected (and checked) */
};

struct child_plan {
	enum child_fate fate;
	int value;
};

/* One fate per index, the same in parent and child. */
static struct child_plan child_plan(int i)
{
	switch (i % 6) {
	case 0:
		return (struct child_plan){ FATE_EXIT, (i * 7) % 256 };
	case 1:
		return (struct child_plan){ FATE_RAISE, SIGTERM };
	case 2:
		return (struct child_plan){ FATE_RAISE, SIGKILL };
	case 3:
		return (struct child_plan){ FATE_EXIT, 1 + i % 3 };
	case 4:
		return (struct child_plan){ FATE_PARENT_KILLS, SIGTERM };
	default:
		return (struct child_plan){ FATE_PARENT_KILLS, SIGKILL };
	}
}

/*
 * Called first in main(): in a child, carry out the fate and never
 * return.  The small staggered sleep spreads exits over a few ms so the
 * loop sees both bursts and stragglers.
 */
static void child_main_if_child(int argc, char **argv)
{
	struct child_plan p;
	struct timespec ts;
	int i;

	if (argc != 3 || strcmp(argv[1], "--child") != 0)
		return;
	i = atoi(argv[2]);
	p = child_plan(i);
	ts.tv_sec = 0;
	ts.tv_nsec = (i % 7) * 1000000L;
	nanosleep(&ts, NULL);
	switch (p.fate) {
	case FATE_EXIT:
		_exit(p.value);
	case FATE_RAISE:
		raise(p.value);
		break;
	case FATE_PARENT_KILLS:
		/* Bounded, so an orphan never lingers if the parent died. */
		sleep(30);
		break;
	}
	_exit(255); /* the signal did not kill us: fails the check */
}

/* QUICK mode (qemu, valgrind) runs a tenth of the children. */
static int children_count(void)
{
	const char *q = getenv("PIDSHIM_TEST_QUICK");

	return q && *q && strcmp(q, "0") != 0 ? 10 : 100;
}

static void on_deadline(int sig)
{
	static const char msg[] = "example: FAIL: not every status arrived within 60 s\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing better to do: we exit anyway */
	}
	_exit(1);
}

/*
 * Arm a deadline (a lost exit must fail the example, not hang CI), then
 * print the backend and return 0, or EXAMPLE_SKIP when a forced backend
 * (PIDSHIM_BACKEND) is not available on this kernel, or 1 on error.
 */
static int example_start(const char *name)
{
	int b;

	signal(SIGALRM, on_deadline);
	alarm(60);
	setvbuf(stdout, NULL, _IOLBF, 0);
	b = pidshim_backend();
	if (b == -ENOSYS) {
		printf("%s: SKIP: backend %s forced by PIDSHIM_BACKEND needs kernel features this kernel lacks (pidfd backends: pidfd_open, Linux >= 5.3; waitid P_PIDFD, Linux >= 5.4)\n",
		       name, getenv("PIDSHIM_BACKEND"));
		return EXAMPLE_SKIP;
	}
	if (b < 0) {
		printf("%s: pidshim_backend: %s\n", name, strerror(-b));
		return 1;
	}
	printf("%s: backend %s\n", name, pidshim_backend_name(b));
	return 0;
}

/*
 * Spawn n children.  Signals the children raise are reset to their
 * default action, and the mask is emptied, so the plan holds even when
 * make or a CI runner started us with some signals ignored or blocked.
 * Children whose fate is FATE_PARENT_KILLS get their signal right away:
 * pidshim_send_signal can never hit a reused PID.
 */
static int spawn_children(struct child *c, int n)
{
	posix_spawnattr_t attr;
	sigset_t def, none;
	char arg[16];
	int i, r;

	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGUSR1);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

	for (i = 0; i < n; i++) {
		char *argv[] = { "pidshim-example-child", "--child", arg, NULL };
		struct child_plan p = child_plan(i);

		snprintf(arg, sizeof(arg), "%d", i);
		memset(&c[i], 0, sizeof(c[i]));
		c[i].index = i;
		r = pidshim_spawn(&c[i].h, "/proc/self/exe", NULL, &attr, argv, NULL);
		if (r < 0) {
			fprintf(stderr, "pidshim_spawn #%d: %s\n", i, strerror(-r));
			posix_spawnattr_destroy(&attr);
			return r;
		}
		c[i].pid = pidshim_pid(c[i].h);
		if (p.fate == FATE_PARENT_KILLS) {
			r = pidshim_send_signal(c[i].h, p.value);
			if (r < 0) {
				fprintf(stderr, "pidshim_send_signal #%d: %s\n", i, strerror(-r));
				posix_spawnattr_destroy(&attr);
				return r;
			}
		}
	}
	posix_spawnattr_destroy(&attr);
	return 0;
}

/* Check one collected exit against the plan; 0 if it matches. */
static int check_exit(struct child *c, const struct pidshim_exit *e)
{
	struct child_plan p = child_plan(c->index);
	int st = pidshim_exit_status(e);
	int ok;

	if (c->done) {
		fprintf(stderr, "child #%d reported twice\n", c->index);
		return 1;
	}
	c->done = 1;
	if (e->info.si_signo != SIGCHLD || e->info.si_pid != c->pid || st < 0) {
		fprintf(stderr, "child #%d: bad siginfo (signo %d, pid %d, expected pid %d)\n",
			c->index, e->info.si_signo, (int)e->info.si_pid, (int)c->pid);
		return 1;
	}
	if (p.fate == FATE_EXIT)
		ok = e->info.si_code == CLD_EXITED && WIFEXITED(st) &&
		     WEXITSTATUS(st) == p.value;
	else
		ok = e->info.si_code == CLD_KILLED && WIFSIGNALED(st) &&
		     WTERMSIG(st) == p.value;
	if (!ok) {
		fprintf(stderr, "child #%d: expected %s %d, got status 0x%x (si_code %d, si_status %d)\n",
			c->index, p.fate == FATE_EXIT ? "exit" : "signal", p.value, st,
			e->info.si_code, e->info.si_status);
		return 1;
	}
	return 0;
}

/* Final line and exit code of an example. */
static int example_report(const char *name, const struct child *c, int n, int bad,
			  long spurious)
{
	int collected = 0, i;

	for (i = 0; i < n; i++)
		collected += c[i].done;
	printf("%s: %d/%d statuses collected, %d wrong, %ld spurious wake-ups\n", name,
	       collected, n, bad, spurious);
	/* A loop that spins would show up here as a huge count. */
	if (spurious > (long)n * n) {
		printf("%s: FAIL: the fd kept waking the loop without an exit\n", name);
		return 1;
	}
	if (collected != n || bad) {
		printf("%s: FAIL\n", name);
		return 1;
	}
	printf("%s: OK\n", name);
	return 0;
}

#endif /* PIDSHIM_EXAMPLES_CHILDREN_H */
