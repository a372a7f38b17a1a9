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
			printf("{\"signal\": %d, \"signal_name\": \"%s\", \"core_dumped\": %s}",
			       si->si_status, pidshim_signal_name(si->si_status, name, sizeof(name)),
			       si->si_code == CLD_DUMPED ? "true" : "false");
		printf("}\n");
	} else if (!known) {
		printf("%d exited\n", (int)pid);
	} else if (si->si_code == CLD_EXITED) {
		printf("%d exited with status %d\n", (int)pid, si->si_status);
	} else {
		printf("%d killed by signal %d (SIG%s)%s\n", (int)pid, si->si_status,
		       pidshim_signal_name(si->si_status, name, sizeof(name)),
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
			"pidshim wait: pid %d: not a child of pidshim, and the %s backend "
			"can only watch its own children (it needs pidfd_open, Linux >= 5.3, "
			"not blocked by seccomp; see 'pidshim probe')\n",
			(int)pid, b > 0 ? pidshim_backend_name(b) : "chosen");
	else if (err == ESRCH)
		fprintf(stderr, "pidshim wait: pid %d: no such process (ESRCH)\n", (int)pid);
	else
		fprintf(stderr, "pidshim wait: pid %d: %s (%s)\n", (int)pid, strerror(err),
			cli_errno_name(err, eb, sizeof(eb)));
	return EXIT_PROBLEM;
}

int pidshim_cmd_wait(int argc, char **argv)
{
	int64_t timeout_ms = 0, deadline = INT64_MAX;
	bool any = false, json = false, options = true, info_exit;
	struct pidshim_set *set = NULL;
	struct pidshim **handles;
	pid_t *pids;
	int npids = 0, left, r, b, rc = 0;
	const char *v, *why;

	pids = calloc((size_t)argc, sizeof(*pids));
	handles = calloc((size_t)argc, sizeof(*handles));
	if (!pids || !handles) {
		fprintf(stderr, "pidshim wait: out of memory\n");
		rc = EXIT_PROBLEM;
		goto out;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool dup = false;
		pid_t pid;

		if (options && a[0] == '-' && !(a[1] >= '0' && a[1] <= '9')) {
			if (!strcmp(a, "--")) {
				options = false;
				continue;
			}
			if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
				usage(stdout);
				goto out;
			}
			if (!strcmp(a, "--any")) {
				any = true;
				continue;
			}
			if (!strcmp(a, "--json")) {
				json = true;
				continue;
			}
			if ((r = cli_opt_value(argc, argv, &i, "--timeout", "-t", &v, "wait"))) {
				if (r < 0) {
					rc = -r;
					goto out;
				}
				if (pidshim_parse_duration(v, &timeout_ms, &why) < 0) {
					rc = cli_usage_error("wait", "bad duration '%s' for --timeout: %s",
							     v, why);
					goto out;
				}
				continue;
			}
			rc = cli_usage_error("wait", "unknown option '%s'", a);
			goto out;
		}
		if (pidshim_parse_pid(a, &pid, &why) < 0) {
			rc = cli_usage_error("wait", "bad pid '%s': %s", a, why);
			goto out;
		}
		if (pid == getpid()) {
			rc = cli_usage_error("wait", "pid %d is pidshim itself", (int)pid);
			goto out;
		}
		for (int k = 0; k < npids; k++)
			dup |= pids[k] == pid;
		if (!dup)
			pids[npids++] = pid;
	}
	if (!npids) {
		rc = cli_usage_error("wait", "no pid given");
		goto out;
	}

	/* A PID that does not exist is the first thing to report, before
	 * any backend limitation. */
	for (int k = 0; k < npids; k++) {
		if (kill(pids[k], 0) < 0 && errno == ESRCH) {
			rc = open_error(pids[k], ESRCH);
			goto out;
		}
	}
	b = cli_backend("wait");
	if (b < 0) {
		rc = EXIT_PROBLEM;
		goto out;
	}
	info_exit = b != PIDSHIM_BACKEND_SIGNALFD && features_probe_one("pidfd_info_exit");
	r = pidshim_set_new(&set);
	if (r < 0) {
		fprintf(stderr, "pidshim wait: %s\n", strerror(-r));
		rc = EXIT_PROBLEM;
		goto out;
	}
	for (int k = 0; k < npids; k++) {
		r = pidshim_open(pids[k], 0, &handles[k]);
		if (r < 0) {
			rc = open_error(pids[k], -r);
			goto out;
		}
		r = pidshim_set_add(set, handles[k]);
		if (r < 0) {
			fprintf(stderr, "pidshim wait: pid %d: %s\n", (int)pids[k], strerror(-r));
			rc = EXIT_PROBLEM;
			goto out;
		}
	}

	if (timeout_ms > 0)
		deadline = cli_deadline(timeout_ms);
	for (left = npids; left > 0;) {
		struct pidshim_exit ex;
		struct pidshim *ready = NULL;

		r = pidshim_set_wait(set, deadline == INT64_MAX ? -1 : cli_ms_until(deadline), &ready);
		if (r == -ETIMEDOUT) {
			if (cli_now_ms() < deadline)
				continue; /* the wait was capped at INT_MAX ms */
			fprintf(stderr, "pidshim wait: timed out; still running:");
			for (int k = 0; k < npids; k++)
				if (handles[k])
					fprintf(stderr, " %d", (int)pids[k]);
			fprintf(stderr, "\n");
			rc = EXIT_TIMEDOUT;
			goto out;
		}
		if (r < 0) {
			fprintf(stderr, "pidshim wait: %s\n", strerror(-r));
			rc = EXIT_PROBLEM;
			goto out;
		}
		if (info_exit)
			await_parent_reap(ready);
		r = pidshim_try_wait(ready, &ex);
		if (r == -EAGAIN) {
			/* Exited but not yet reportable (a tracer has not waited):
			 * block in the library a while rather than spin. */
			r = pidshim_wait_timeout(ready, 100, &ex);
			if (r == -ETIMEDOUT)
				continue;
		}
		report(pidshim_pid(ready), r, &ex, json);
		for (int k = 0; k < npids; k++)
			if (handles[k] == ready)
				handles[k] = NULL;
		pidshim_set_remove(set, ready);
		pidshim_close(ready);
		left--;
		if (any)
			break;
	}
out:
	/* Closing never kills: the processes still running are left alone. */
	for (int k = 0; handles && k < npids; k++)
		pidshim_close(handles[k]);
	pidshim_set_free(set);
	free(pids);
	free(handles);
	return rc;
}
