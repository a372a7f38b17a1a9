// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * wait.c - `pidshim wait [--any] [--timeout DUR] [--json] PID...`: wait for
 * processes that need not be our children, which is what pidfds brought
 * (a pidfd becomes readable when any process exits).  Every PID gets a
 * handle in one pidshim_set; each exit is printed as it happens, with its
 * status where the kernel reports it (PIDFD_INFO_EXIT, Linux 6.15) and
 * "exited" otherwise.  The signalfd backend only sees our own children
 * (SIGCHLD), so there the command refuses with an error naming it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "parse.h"
#include "pidfd_features.h"
#include "pidshim.h"

#define REAP_GRACE_MS 250

/* The help text, laid out as printed. */
/* clang-format off */
static void usage(FILE *f)
{
	fprintf(f,
		"Usage: pidshim wait [OPTION...] [--] PID...\n"
		"\n"
		"Wait until the processes exit; they need not be children of pidshim.\n"
		"Each exit is printed when it happens: its status where the kernel\n"
		"reports it (Linux >= 6.15), else just \"exited\".  Needs a pidfd\n"
		"backend (Linux >= 5.3, pidfd_open not blocked by seccomp).\n"
		"\n"
		"      --any             return after the first exit\n"
		"  -t, --timeout DUR     give up after DUR (0: never, the default)\n"
		"      --json            one JSON object per exit, one a line\n"
		"  -h, --help            this text\n"
		"\n"
		"Exit status: 0 done; 124 timed out; 1 a PID does not exist or the\n"
		"backend cannot watch it; 2 bad usage.\n");
}
/* clang-format on */

/*
 * PIDFD_INFO_EXIT (Linux 6.15) keeps the status of a non-child only once
 * its parent has reaped it, and we usually see the exit first: give the
 * parent a moment (a reaped task's pidfd polls POLLHUP) so the status can
 * be printed.  Without PIDFD_INFO_EXIT there is nothing to wait for.
 */
static void await_parent_reap(struct pidshim *h)
{
	struct pollfd pfd = { .fd = pidshim_fd(h), .events = POLLIN };
	const struct timespec slice = { 0, 5 * 1000 * 1000 };
	int64_t give_up = cli_deadline(REAP_GRACE_MS);

	while (poll(&pfd, 1, 0) >= 0 && !(pfd.revents & (POLLHUP | POLLNVAL)) &&
	       cli_now_ms() < give_up)
		nanosleep(&slice, NULL);
}

static void report(pid_t pid, int r, const struct pidshim_exit *ex, bool json)
{
	const siginfo_t *si = &ex->info;
	char name[32];
	bool known = r == 0;

	if (json) {
		printf("{\"pid\": %d, \"exit\": ", (int)pid);
		if (!known)
			printf("null");
		else if (si->si_code == CLD_EXITED)
			printf("{\"code\": %d, \"core_dumped\": false}", si->si_status);
		else
			printf("{\"signal\": %d, \"signal_name\": \"%s\", "
			       "\"core_dumped\": %s}",
			       si->si_status,
			       cli_signal_name(si->si_status, name, sizeof(name)),
			       si->si_code == CLD_DUMPED ? "true" : "false");
		printf("}\n");
	} else if (!known) {
		printf("%d exited\n", (int)pid);
	} else if (si->si_code == CLD_EXITED) {
		printf("%d exited with status %d\n", (int)pid, si->si_status);
	} else {
		printf("%d killed by signal %d (SIG%s)%s\n", (int)pid, si->si_status,
		       cli_signal_name(si->si_status, name, sizeof(name)),
		       si->si_code == CLD_DUMPED ? ", core dumped" : "");
	}
	fflush(stdout);
}

static int open_error(pid_t pid, int err)
{
	char eb[16];
	int b = pidshim_backend();

	if (err == ECHILD)
		fprintf(stderr,
			"pidshim wait: pid %d: not a child of pidshim, and the "
			"%s backend can only watch its own children (it needs "
			"pidfd_open, Linux >= 5.3, not blocked by seccomp; see "
			"'pidshim probe')\n",
			(int)pid, b > 0 ? pidshim_backend_name(b) : "chosen");
	else if (err == ESRCH)
		fprintf(stderr, "pidshim wait: pid %d: no such process (ESRCH)\n",
			(int)pid);
	else
		fprintf(stderr, "pidshim wait: pid %d: %s (%s)\n", (int)pid,
			strerror(err), cli_errno_name(err, eb, sizeof(eb)));
	return EXIT_PROBLEM;
}

struct wait_opts {
	int64_t timeout_ms;
	bool any, json;
	pid_t *pids;
	int npids;
};

/* A PID argument: parsed, not pidshim itself, kept once. */
static int add_pid(struct wait_opts *o, const char *a)
{
	const char *why;
	pid_t pid;

	if (cli_parse_pid(a, &pid, &why) < 0)
		return cli_usage_error("wait", "bad pid '%s': %s", a, why);
	if (pid == getpid())
		return cli_usage_error("wait", "pid %d is pidshim itself", (int)pid);
	for (int k = 0; k < o->npids; k++)
		if (o->pids[k] == pid)
			return 0;
	o->pids[o->npids++] = pid;
	return 0;
}

/* Returns -1 to go on, or the exit code (0 after --help). */
static int wait_parse(int argc, char **argv, struct wait_opts *o)
{
	static const struct option longs[] = {
		{ "any", no_argument, NULL, 'A' },
		{ "json", no_argument, NULL, 'J' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *why;
	int c, r;

	/* "-1" is a (negative) PID, not an unknown option "-1". */
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (argv[i][0] == '-' && argv[i][1] >= '0' && argv[i][1] <= '9')
			return add_pid(o, argv[i]);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:h", longs, NULL)) != -1) {
		switch (c) {
		case 'A':
			o->any = true;
			break;
		case 'J':
			o->json = true;
			break;
		case 't':
			if (cli_parse_duration(optarg, &o->timeout_ms, &why) < 0)
				return cli_usage_error(
					"wait", "bad duration '%s' for --timeout: %s",
					optarg, why);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return cli_getopt_error("wait", c, argv);
		}
	}
	for (int i = optind; i < argc; i++)
		if ((r = add_pid(o, argv[i])) != 0)
			return r;
	if (!o->npids)
		return cli_usage_error("wait", "no pid given");
	return -1;
}

/* A handle for every PID, all in one set: 0, or the exit code. */
static int wait_open_all(const struct wait_opts *o, struct pidshim_set *set,
			 struct pidshim **handles)
{
	int r;

	for (int k = 0; k < o->npids; k++) {
		r = pidshim_open(o->pids[k], 0, &handles[k]);
		if (r < 0)
			return open_error(o->pids[k], -r);
		r = pidshim_set_add(set, handles[k]);
		if (r < 0) {
			fprintf(stderr, "pidshim wait: pid %d: %s\n", (int)o->pids[k],
				strerror(-r));
			return EXIT_PROBLEM;
		}
	}
	return 0;
}

static int timed_out(const struct wait_opts *o, struct pidshim **handles)
{
	fprintf(stderr, "pidshim wait: timed out; still running:");
	for (int k = 0; k < o->npids; k++)
		if (handles[k])
			fprintf(stderr, " %d", (int)o->pids[k]);
	fprintf(stderr, "\n");
	return EXIT_TIMEDOUT;
}

/* Report the exit of ready (if it can be told yet): 1 reported, 0 not yet. */
static int collect(const struct wait_opts *o, struct pidshim_set *set,
		   struct pidshim **handles, struct pidshim *ready, bool info_exit)
{
	struct pidshim_exit ex;
	int r;

	if (info_exit)
		await_parent_reap(ready);
	r = pidshim_try_wait(ready, &ex);
	if (r == -EAGAIN) {
		/* Exited but not yet reportable (a tracer has not waited):
		 * block in the library a while rather than spin. */
		r = pidshim_wait_timeout(ready, 100, &ex);
		if (r == -ETIMEDOUT)
			return 0;
	}
	report(pidshim_pid(ready), r, &ex, o->json);
	for (int k = 0; k < o->npids; k++)
		if (handles[k] == ready)
			handles[k] = NULL;
	pidshim_set_remove(set, ready);
	pidshim_close(ready);
	return 1;
}

/* Until every PID (or, with --any, one) exited: the exit code. */
static int wait_loop(const struct wait_opts *o, struct pidshim_set *set,
		     struct pidshim **handles, bool info_exit)
{
	int64_t deadline = o->timeout_ms > 0 ? cli_deadline(o->timeout_ms) : INT64_MAX;
	int left = o->npids, r;

	while (left > 0) {
		struct pidshim *ready = NULL;

		r = pidshim_set_wait(
			set, deadline == INT64_MAX ? -1 : cli_ms_until(deadline), &ready);
		if (r == -ETIMEDOUT && cli_now_ms() < deadline)
			continue; /* the wait was capped at INT_MAX ms */
		if (r == -ETIMEDOUT)
			return timed_out(o, handles);
		if (r < 0) {
			fprintf(stderr, "pidshim wait: %s\n", strerror(-r));
			return EXIT_PROBLEM;
		}
		left -= collect(o, set, handles, ready, info_exit);
		if (o->any && left < o->npids)
			break;
	}
	return 0;
}

int cli_cmd_wait(int argc, char **argv)
{
	struct wait_opts o = { 0 };
	struct pidshim_set *set = NULL;
	struct pidshim **handles;
	bool info_exit;
	int rc, b;

	o.pids = calloc((size_t)argc, sizeof(*o.pids));
	handles = calloc((size_t)argc, sizeof(*handles));
	if (!o.pids || !handles) {
		fprintf(stderr, "pidshim wait: out of memory\n");
		rc = EXIT_PROBLEM;
		goto out;
	}
	rc = wait_parse(argc, argv, &o);
	if (rc >= 0)
		goto out;
	/* A PID that does not exist is the first thing to report, before
	 * any backend limitation. */
	for (int k = 0; k < o.npids; k++) {
		if (kill(o.pids[k], 0) < 0 && errno == ESRCH) {
			rc = open_error(o.pids[k], ESRCH);
			goto out;
		}
	}
	rc = EXIT_PROBLEM;
	b = cli_backend("wait");
	if (b < 0)
		goto out;
	info_exit =
		b != PIDSHIM_BACKEND_SIGNALFD && features_probe_one("pidfd_info_exit");
	b = pidshim_set_new(&set);
	if (b < 0) {
		fprintf(stderr, "pidshim wait: %s\n", strerror(-b));
		goto out;
	}
	rc = wait_open_all(&o, set, handles);
	if (rc == 0)
		rc = wait_loop(&o, set, handles, info_exit);
out:
	/* Closing never kills: the processes still running are left alone. */
	for (int k = 0; handles && k < o.npids; k++)
		pidshim_close(handles[k]);
	pidshim_set_free(set);
	free(o.pids);
	free(handles);
	return rc;
}
