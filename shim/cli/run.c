// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * run.c - `pidshim run [--timeout DUR] [--signal SIG] [--kill-after DUR]
 * [--json] -- CMD...`: timeout(1) on a process handle.  CMD is spawned
 * with pidshim_spawnp; pidshim waits on the handle's fd together with a
 * self-pipe for the signals it forwards (TERM, INT, HUP, QUIT, as
 * timeout(1) does), so there is no polling and no PID reuse window: every
 * signal goes through pidshim_send_signal to exactly the process spawned.
 * The exit code follows timeout(1) and env(1): CMD's own, 128+N when a
 * signal N killed it, 124 after a timeout (137 when it took a KILL),
 * 125 when pidshim itself failed, 126 when CMD cannot run, 127 when it
 * is not found.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "parse.h"
#include "pidshim.h"

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
#define N_FORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

static int sig_pipe[2] = { -1, -1 };

static void on_forwarded_signal(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;

	if (write(sig_pipe[1], &c, 1) < 0) {
		/* Pipe full: a burst of the same signals, one is enough. */
	}
	errno = saved;
}

/*
 * Send sig, then CONT as timeout(1) does: a stopped CMD would otherwise
 * keep the signal pending, and pidshim would wait forever.
 */
static void send_and_continue(struct pidshim *h, int sig)
{
	pidshim_send_signal(h, sig);
	if (sig != SIGKILL && sig != SIGCONT)
		pidshim_send_signal(h, SIGCONT);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: pidshim run [OPTION...] -- CMD [ARG...]\n"
		"\n"
		"Run CMD, wait for it, and exit with its exit code, like timeout(1).\n"
		"\n"
		"  -t, --timeout DUR     send SIG after DUR (0: no timeout, the default)\n"
		"  -s, --signal SIG      signal sent on timeout (default TERM); a name\n"
		"                        with or without SIG, or a number\n"
		"  -k, --kill-after DUR  send KILL if CMD still runs DUR after SIG\n"
		"      --json            print exit status and resource usage as JSON\n"
		"                        on stdout after CMD ends\n"
		"  -h, --help            this text\n"
		"\n"
		"DUR is a number with an optional unit: ms, s (default), m, h, d;\n"
		"e.g. 10, 1.5s, 200ms, 2m.  TERM, INT, HUP and QUIT sent to pidshim\n"
		"are forwarded to CMD.\n"
		"\n"
		"Exit status: CMD's own; 128+N if signal N killed CMD; 124 timed out\n"
		"(137 if CMD had to be killed with KILL); 125 pidshim failed; 126 CMD\n"
		"cannot be run; 127 CMD not found; 2 bad usage.\n");
}

/* Catch the signals we forward, except those we inherited as ignored
 * (nohup, `cmd &` in a script): CMD must keep ignoring them too. */
static int setup_forwarding(void)
{
	struct sigaction sa, old;

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_forwarded_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < N_FORWARDED; i++) {
		if (sigaction(forwarded[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(forwarded[i], &sa, NULL);
	}
	return 0;
}

static int spawn_error_exit(const char *cmd, int err)
{
	fprintf(stderr, "pidshim run: %s: %s\n", cmd,
		err == ENOENT ? "command not found" : strerror(err));
	switch (err) {
	case ENOENT:
		return EXIT_ENOENT;
	case EAGAIN:
	case ENOMEM:
	case EMFILE:
	case ENFILE:
	case ENOSYS:
	case EINVAL:
	case EFAULT:
		/* Ours, not CMD's: no process or no handle could be made. */
		return EXIT_CANCELED;
	default:
		return EXIT_CANNOT_INVOKE;
	}
}

static double tv_sec(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void print_json(char **cmd, pid_t pid, const struct pidshim_exit *ex, bool timed_out,
		       int sig_sent, bool kill_sent, double elapsed, int code)
{
	const siginfo_t *si = &ex->info;
	char buf[32];

	printf("{\"command\": [");
	for (int i = 0; cmd[i]; i++) {
		if (i)
			printf(", ");
		json_string(stdout, cmd[i]);
	}
	printf("], \"pid\": %d, \"backend\": ", (int)pid);
	json_string_or_null(stdout, pidshim_backend_name(pidshim_backend()));
	if (si->si_code == CLD_EXITED)
		printf(", \"exit\": {\"code\": %d, \"core_dumped\": false}", si->si_status);
	else
		printf(", \"exit\": {\"signal\": %d, \"signal_name\": \"%s\", \"core_dumped\": %s}",
		       si->si_status, pidshim_signal_name(si->si_status, buf, sizeof(buf)),
		       si->si_code == CLD_DUMPED ? "true" : "false");
	printf(", \"timed_out\": %s, \"signal_sent\": ", timed_out ? "true" : "false");
	json_string_or_null(stdout, sig_sent ? pidshim_signal_name(sig_sent, buf, sizeof(buf)) : NULL);
	printf(", \"kill_sent\": %s, \"elapsed_sec\": %.6f", kill_sent ? "true" : "false", elapsed);
	printf(", \"rusage\": {\"user_sec\": %.6f, \"system_sec\": %.6f, \"max_rss_kb\": %ld}",
	       tv_sec(ex->rusage.ru_utime), tv_sec(ex->rusage.ru_stime), ex->rusage.ru_maxrss);
	printf(", \"exit_code\": %d}\n", code);
}

int pidshim_cmd_run(int argc, char **argv)
{
	int64_t timeout_ms = 0, kill_after_ms = 0, term_at, kill_at = INT64_MAX, started;
	int sig = SIGTERM, sig_sent = 0, cmd_at = -1, r, code;
	bool json = false, timed_out = false, kill_sent = false;
	struct pidshim_exit ex;
	struct pidshim *h = NULL;
	const char *v, *why;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			cmd_at = i + 1;
			break;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(a, "--json")) {
			json = true;
			continue;
		}
		if ((r = cli_opt_value(argc, argv, &i, "--timeout", "-t", &v, "run"))) {
			if (r < 0)
				return -r;
			if (pidshim_parse_duration(v, &timeout_ms, &why) < 0)
				return cli_usage_error("run", "bad duration '%s' for --timeout: %s", v,
						       why);
			continue;
		}
		if ((r = cli_opt_value(argc, argv, &i, "--kill-after", "-k", &v, "run"))) {
			if (r < 0)
				return -r;
			if (pidshim_parse_duration(v, &kill_after_ms, &why) < 0)
				return cli_usage_error("run", "bad duration '%s' for --kill-after: %s",
						       v, why);
			continue;
		}
		if ((r = cli_opt_value(argc, argv, &i, "--signal", "-s", &v, "run"))) {
			if (r < 0)
				return -r;
			if (pidshim_parse_signal(v, &sig, &why) < 0)
				return cli_usage_error("run", "bad signal '%s': %s", v, why);
			continue;
		}
		if (a[0] == '-' && a[1])
			return cli_usage_error("run", "unknown option '%s'", a);
		return cli_usage_error("run", "missing '--' before the command '%s'", a);
	}
	if (cmd_at < 0)
		return cli_usage_error("run", "missing '--' and the command to run");
	if (cmd_at >= argc)
		return cli_usage_error("run", "no command after '--'");

	r = setup_forwarding();
	if (r < 0) {
		fprintf(stderr, "pidshim run: cannot set up signal forwarding: %s\n", strerror(-r));
		return EXIT_CANCELED;
	}
	if (cli_backend("run") < 0)
		return EXIT_CANCELED;
	started = cli_now_ms();
	r = pidshim_spawnp(&h, argv[cmd_at], NULL, NULL, &argv[cmd_at], NULL);
	if (r < 0)
		return spawn_error_exit(argv[cmd_at], -r);

	term_at = timeout_ms > 0 ? cli_deadline(timeout_ms) : INT64_MAX;
	for (;;) {
		int64_t next = term_at < kill_at ? term_at : kill_at;
		int wait_ms = next == INT64_MAX ? -1 : cli_ms_until(next);
		struct pollfd fds[2] = {
			{ .fd = pidshim_fd(h), .events = POLLIN },
			{ .fd = sig_pipe[0], .events = POLLIN },
		};
		unsigned char sigs[16];
		ssize_t n;

		if (poll(fds, 2, wait_ms) < 0 && errno != EINTR) {
			fprintf(stderr, "pidshim run: poll: %s\n", strerror(errno));
			pidshim_close(h);
			return EXIT_CANCELED;
		}
		if (fds[1].revents & POLLIN) {
			while ((n = read(sig_pipe[0], sigs, sizeof(sigs))) > 0) {
				for (ssize_t k = 0; k < n; k++)
					send_and_continue(h, sigs[k]);
				if (kill_after_ms > 0 && kill_at == INT64_MAX)
					kill_at = cli_deadline(kill_after_ms);
			}
		}
		if (fds[0].revents) {
			r = pidshim_try_wait(h, &ex);
			if (r == -EAGAIN) {
				/* Readable but not reapable yet (a spurious wake-up on
				 * signalfd, or a tracer that has not waited): block in
				 * the library for a while instead of spinning. */
				int slice = wait_ms < 0 || wait_ms > 100 ? 100 : wait_ms;

				r = pidshim_wait_timeout(h, slice, &ex);
				if (r == -ETIMEDOUT)
					r = -EAGAIN;
			}
			if (r == 0)
				break;
			if (r != -EAGAIN) {
				fprintf(stderr, "pidshim run: waiting for %d: %s\n", (int)pidshim_pid(h),
					strerror(-r));
				pidshim_close(h);
				return EXIT_CANCELED;
			}
		}
		int64_t now = cli_now_ms();

		if (now >= term_at) {
			term_at = INT64_MAX;
			timed_out = true;
			sig_sent = sig;
			send_and_continue(h, sig);
			if (kill_after_ms > 0 && sig != SIGKILL)
				kill_at = cli_deadline(kill_after_ms);
		}
		if (now >= kill_at) {
			kill_at = INT64_MAX;
			kill_sent = true;
			pidshim_send_signal(h, SIGKILL);
		}
	}

	if (ex.info.si_code == CLD_EXITED)
		code = ex.info.si_status & 0xff;
	else
		code = 128 + ex.info.si_status;
	if (timed_out)
		/* As timeout(1): 124, unless KILL was needed. */
		code = ex.info.si_code != CLD_EXITED && ex.info.si_status == SIGKILL ? 128 + SIGKILL
										   : EXIT_TIMEDOUT;
	if (json) {
		print_json(&argv[cmd_at], pidshim_pid(h), &ex, timed_out, sig_sent, kill_sent,
			   (double)(cli_now_ms() - started) / 1000.0, code);
		if (fflush(stdout) != 0 && code == 0)
			code = EXIT_CANCELED;
	}
	pidshim_close(h);
	return code;
}
