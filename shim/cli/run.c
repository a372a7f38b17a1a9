// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * run.c - `pidshim run [--timeout DUR] [--signal SIG] [--kill-after DUR]
 * [--foreground] [--json] -- CMD...`: timeout(1) on a process handle,
 * for the whole process tree.  CMD is spawned with pidshim_spawnp as the
 * leader of a new process group, and pidshim becomes a child subreaper;
 * on a timeout (or a forwarded TERM, INT, HUP or QUIT) the signal goes to
 * CMD through its handle and to every descendant (tree.c), and once CMD
 * has ended, what is left gets until the kill-after delay, then KILL,
 * and is reaped: a CI job capturing the output with $(...) is not held
 * by a grandchild that kept the pipe.  --foreground keeps timeout(1)'s
 * meaning: CMD stays in pidshim's group (it may use the terminal) and
 * only CMD is signalled.  pidshim waits on the handle's fd and a
 * self-pipe fed by its signal handlers, so there is no polling.  Exit
 * codes follow timeout(1) and env(1): CMD's own, 128+N when signal N
 * killed it, 124 after a timeout (137 when it took a KILL), 125 when
 * pidshim itself failed, 126 when CMD cannot run, 127 when it is not found.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "parse.h"
#include "pidshim.h"
#include "tree.h"

/* After CMD ended, how long KILL keeps trying on what is left. */
#define TEARDOWN_KILL_MS 5000
/* Period of the /proc walk while waiting for leftovers to exit. */
#define TEARDOWN_POLL_MS 20

struct run_opts {
	int64_t timeout_ms, kill_after_ms;
	int sig;
	bool json, foreground;
	char **cmd;
};

struct run_state {
	struct pidshim *h;
	struct cli_tree tree;
	struct pidshim_exit ex;
	int64_t started, term_at, kill_at;
	int sig_sent;
	bool timed_out, stopping, kill_sent;
	unsigned left_running;
};

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
#define N_FORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

static int sig_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;

	if (write(sig_pipe[1], &c, 1) < 0) {
		/* Pipe full: a burst of the same signals, one is enough. */
	}
	errno = saved;
}

/* The help text, laid out as printed. */
/* clang-format off */
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
		"  -k, --kill-after DUR  send KILL if CMD or a descendant still runs DUR\n"
		"                        after SIG\n"
		"      --foreground      signal CMD only, not its descendants, and leave\n"
		"                        CMD in pidshim's process group (the terminal)\n"
		"      --json            print exit status and resource usage as JSON\n"
		"                        on stdout after CMD ends\n"
		"  -h, --help            this text\n"
		"\n"
		"DUR is a number with an optional unit: ms, s (default), m, h, d;\n"
		"e.g. 10, 1.5s, 200ms, 2m.  On a timeout SIG reaches CMD's process\n"
		"group and every descendant that left it; when CMD has ended, what\n"
		"is left is killed (after the --kill-after delay) and reaped.  TERM,\n"
		"INT, HUP and QUIT sent to pidshim are forwarded the same way.\n"
		"\n"
		"Exit status: CMD's own; 128+N if signal N killed CMD; 124 timed out\n"
		"(137 if CMD had to be killed with KILL); 125 pidshim failed; 126 CMD\n"
		"cannot be run; 127 CMD not found; 2 bad usage.\n");
}
/* clang-format on */

static int parse_dur(const char *opt, const char *v, int64_t *ms)
{
	const char *why;

	if (cli_parse_duration(v, ms, &why) < 0)
		return cli_usage_error("run", "bad duration '%s' for %s: %s", v, opt,
				       why);
	return 0;
}

/* Returns -1 to go on, or the exit code (0 after --help). */
static int run_parse(int argc, char **argv, struct run_opts *o)
{
	static const struct option longs[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "signal", required_argument, NULL, 's' },
		{ "kill-after", required_argument, NULL, 'k' },
		{ "foreground", no_argument, NULL, 'F' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *why;
	int c, r = 0;

	*o = (struct run_opts){ .sig = SIGTERM };
	optind = 0;
	opterr = 0;
	while (r == 0 && (c = getopt_long(argc, argv, "+:t:s:k:h", longs, NULL)) != -1) {
		switch (c) {
		case 't':
			r = parse_dur("--timeout", optarg, &o->timeout_ms);
			break;
		case 'k':
			r = parse_dur("--kill-after", optarg, &o->kill_after_ms);
			break;
		case 's':
			if (cli_parse_signal(optarg, &o->sig, &why) < 0)
				r = cli_usage_error("run", "bad signal '%s': %s", optarg,
						    why);
			break;
		case 'F':
			o->foreground = true;
			break;
		case 'J':
			o->json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return cli_getopt_error("run", c, argv);
		}
	}
	if (r)
		return r;
	if (optind >= argc || strcmp(argv[optind - 1], "--") != 0) {
		if (optind < argc)
			return cli_usage_error("run",
					       "missing '--' before the command '%s'",
					       argv[optind]);
		if (optind == 1 || strcmp(argv[optind - 1], "--") != 0)
			return cli_usage_error("run",
					       "missing '--' and the command to run");
		return cli_usage_error("run", "no command after '--'");
	}
	o->cmd = &argv[optind];
	return -1;
}

/*
 * Catch the signals we forward, except those we inherited as ignored
 * (nohup, `cmd &` in a script): CMD must keep ignoring them too.  SIGCHLD
 * only wakes the loop up to reap orphaned descendants.
 */
static int setup_signals(void)
{
	struct sigaction sa, old;

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < N_FORWARDED; i++) {
		if (sigaction(forwarded[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(forwarded[i], &sa, NULL);
	}
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
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

/* Returns -1 when CMD runs, else the exit code. */
static int run_spawn(const struct run_opts *o, struct run_state *s)
{
	posix_spawnattr_t attr;
	int r;

	r = setup_signals();
	if (r < 0) {
		fprintf(stderr, "pidshim run: cannot set up signal handling: %s\n",
			strerror(-r));
		return EXIT_CANCELED;
	}
	if (cli_backend("run") < 0)
		return EXIT_CANCELED;
	if (!o->foreground && cli_tree_subreaper() < 0) {
		fprintf(stderr, "pidshim run: cannot become a child subreaper: %s\n",
			strerror(errno));
		return EXIT_CANCELED;
	}
	posix_spawnattr_init(&attr);
	if (!o->foreground) {
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
		posix_spawnattr_setpgroup(&attr, 0);
	}
	s->started = cli_now_ms();
	r = pidshim_spawnp(&s->h, o->cmd[0], NULL, &attr, o->cmd, NULL);
	posix_spawnattr_destroy(&attr);
	if (r < 0)
		return spawn_error_exit(o->cmd[0], -r);
	s->tree.self = getpid();
	s->tree.cmd = pidshim_pid(s->h);
	s->tree.pgid = o->foreground ? 0 : s->tree.cmd;
	s->term_at = o->timeout_ms > 0 ? cli_deadline(o->timeout_ms) : INT64_MAX;
	s->kill_at = INT64_MAX;
	return -1;
}

/*
 * Send sig to CMD (then CONT, as timeout(1), so a stopped CMD sees it)
 * and, unless --foreground, to all its descendants.
 */
static void run_stop(const struct run_opts *o, struct run_state *s, int sig)
{
	pidshim_send_signal(s->h, sig);
	if (sig != SIGKILL && sig != SIGCONT)
		pidshim_send_signal(s->h, SIGCONT);
	if (!o->foreground)
		cli_tree_signal(&s->tree, sig);
	s->stopping = true;
	if (o->kill_after_ms > 0 && s->kill_at == INT64_MAX && sig != SIGKILL)
		s->kill_at = cli_deadline(o->kill_after_ms);
}

/* Act on what the signal handlers wrote to the pipe. */
static void run_drain_signals(const struct run_opts *o, struct run_state *s)
{
	unsigned char sigs[16];
	ssize_t n;

	while ((n = read(sig_pipe[0], sigs, sizeof(sigs))) > 0) {
		for (ssize_t k = 0; k < n; k++) {
			if (sigs[k] == SIGCHLD)
				cli_tree_reap(&s->tree);
			else
				run_stop(o, s, sigs[k]);
		}
	}
}

/* The timers: the timeout's signal, then the kill-after's KILL. */
static void run_timers(const struct run_opts *o, struct run_state *s)
{
	int64_t now = cli_now_ms();

	if (now >= s->term_at) {
		s->term_at = INT64_MAX;
		s->timed_out = true;
		s->sig_sent = o->sig;
		run_stop(o, s, o->sig);
	}
	if (now >= s->kill_at) {
		s->kill_at = INT64_MAX;
		s->kill_sent = true;
		run_stop(o, s, SIGKILL);
	}
}

/* CMD's fd is readable: 0 when CMD was reaped, -EAGAIN, or an error. */
static int run_collect(struct run_state *s, int wait_ms)
{
	int r = pidshim_try_wait(s->h, &s->ex);

	if (r == -EAGAIN) {
		/* Readable but not reapable yet (a spurious wake-up on
		 * signalfd, or a tracer that has not waited): block in the
		 * library for a while instead of spinning. */
		int slice = wait_ms < 0 || wait_ms > 100 ? 100 : wait_ms;

		r = pidshim_wait_timeout(s->h, slice, &s->ex);
		if (r == -ETIMEDOUT)
			r = -EAGAIN;
	}
	if (r == 0)
		s->tree.cmd_reaped = true;
	return r;
}

/* Until CMD is reaped: 0, or EXIT_CANCELED after printing why. */
static int run_wait(const struct run_opts *o, struct run_state *s)
{
	for (;;) {
		int64_t next = s->term_at < s->kill_at ? s->term_at : s->kill_at;
		int wait_ms = next == INT64_MAX ? -1 : cli_ms_until(next), r;
		struct pollfd fds[2] = {
			{ .fd = pidshim_fd(s->h), .events = POLLIN },
			{ .fd = sig_pipe[0], .events = POLLIN },
		};

		if (poll(fds, 2, wait_ms) < 0 && errno != EINTR) {
			fprintf(stderr, "pidshim run: poll: %s\n", strerror(errno));
			return EXIT_CANCELED;
		}
		if (fds[1].revents & POLLIN)
			run_drain_signals(o, s);
		if (fds[0].revents) {
			r = run_collect(s, wait_ms);
			if (r == 0)
				return 0;
			if (r != -EAGAIN) {
				fprintf(stderr, "pidshim run: waiting for %d: %s\n",
					(int)pidshim_pid(s->h), strerror(-r));
				return EXIT_CANCELED;
			}
		}
		run_timers(o, s);
	}
}

/*
 * CMD has ended.  After a stop, what is left of its tree gets until the
 * kill-after deadline (none: no grace), then KILL until nothing is left;
 * without a stop, leftovers run on as with timeout(1), and only the
 * orphans that already exited are reaped.
 */
static void run_teardown(const struct run_opts *o, struct run_state *s)
{
	int64_t grace_end = s->kill_at != INT64_MAX ? s->kill_at : cli_now_ms();
	int64_t give_up = grace_end + TEARDOWN_KILL_MS;

	cli_tree_reap(&s->tree);
	/* Without a stop, the /proc walk only counts leftovers for --json. */
	if (o->foreground || (!s->stopping && !o->json)) {
		s->left_running = 0;
		return;
	}
	while ((s->left_running = cli_tree_count(&s->tree)) > 0 && s->stopping) {
		struct pollfd pfd = { .fd = sig_pipe[0], .events = POLLIN };
		int64_t now = cli_now_ms();

		if (now >= give_up)
			break;
		if (now >= grace_end) {
			cli_tree_signal(&s->tree, SIGKILL);
			s->kill_sent = true;
		}
		poll(&pfd, 1, TEARDOWN_POLL_MS);
		run_drain_signals(o, s);
	}
	cli_tree_reap(&s->tree);
	if (s->stopping && s->left_running)
		fprintf(stderr, "pidshim run: %u descendants of %d could not be killed\n",
			s->left_running, (int)s->tree.cmd);
}

/* As timeout(1): CMD's code, 128+N for a signal, 124 after a timeout
 * unless KILL was needed. */
static int run_exit_code(const struct run_state *s)
{
	const siginfo_t *si = &s->ex.info;
	bool killed = si->si_code != CLD_EXITED;

	if (s->timed_out)
		return killed && si->si_status == SIGKILL ? 128 + SIGKILL : EXIT_TIMEDOUT;
	return killed ? 128 + si->si_status : si->si_status & 0xff;
}

static double tv_sec(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void print_rusage(const struct rusage *ru)
{
	printf("{\"user_sec\": %.6f, \"system_sec\": %.6f, \"max_rss_kb\": %ld}",
	       tv_sec(ru->ru_utime), tv_sec(ru->ru_stime), ru->ru_maxrss);
}

static void run_report_json(const struct run_opts *o, const struct run_state *s, int code)
{
	const siginfo_t *si = &s->ex.info;
	char buf[32];

	printf("{\"command\": [");
	for (int i = 0; o->cmd[i]; i++) {
		if (i)
			fputs(", ", stdout);
		cli_json_string(stdout, o->cmd[i]);
	}
	printf("], \"pid\": %d, \"backend\": ", (int)pidshim_pid(s->h));
	cli_json_string_or_null(stdout, pidshim_backend_name(pidshim_backend()));
	if (si->si_code == CLD_EXITED)
		printf(", \"exit\": {\"code\": %d, \"core_dumped\": false}",
		       si->si_status);
	else
		printf(", \"exit\": {\"signal\": %d, \"signal_name\": \"%s\", "
		       "\"core_dumped\": %s}",
		       si->si_status, cli_signal_name(si->si_status, buf, sizeof(buf)),
		       si->si_code == CLD_DUMPED ? "true" : "false");
	printf(", \"timed_out\": %s, \"signal_sent\": ", s->timed_out ? "true" : "false");
	cli_json_string_or_null(
		stdout,
		s->sig_sent ? cli_signal_name(s->sig_sent, buf, sizeof(buf)) : NULL);
	printf(", \"kill_sent\": %s, \"elapsed_sec\": %.6f, \"rusage\": ",
	       s->kill_sent ? "true" : "false",
	       (double)(cli_now_ms() - s->started) / 1000.0);
	print_rusage(&s->ex.rusage);
	printf(", \"descendants\": {\"process_group\": %s, \"reaped\": %u, "
	       "\"left_running\": %u, "
	       "\"rusage\": ",
	       o->foreground ? "false" : "true", s->tree.reaped, s->left_running);
	print_rusage(&s->tree.ru);
	printf("}, \"exit_code\": %d}\n", code);
}

int cli_cmd_run(int argc, char **argv)
{
	struct run_opts o;
	struct run_state s = { 0 };
	int code;

	code = run_parse(argc, argv, &o);
	if (code >= 0)
		return code;
	code = run_spawn(&o, &s);
	if (code >= 0)
		return code;
	code = run_wait(&o, &s);
	if (code == 0) {
		run_teardown(&o, &s);
		code = run_exit_code(&s);
		if (o.json) {
			run_report_json(&o, &s, code);
			if (fflush(stdout) != 0 && code == 0)
				code = EXIT_CANCELED;
		}
	}
	pidshim_close(s.h);
	return code;
}
