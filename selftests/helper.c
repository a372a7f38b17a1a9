// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * helper.c - the child program the selftests spawn.
 *
 * Spawning /bin/sh for every child would make the 1000-child tests slow and
 * would add a shell's own signal handling to what is measured, so the tests
 * spawn this small statically linked program instead.  It never links the
 * library and is built without sanitizers: an ASan runtime in the child
 * would ptrace its own threads at exit (LeakSanitizer), which breaks the
 * ptrace test, and would slow every spawn down.
 *
 *   helper exit N            _exit(N)
 *   helper wait N            read stdin until EOF, then _exit(N)
 *   helper echo              copy stdin to stdout byte by byte; exit 0 at EOF
 *   helper sleep MS [N]      sleep MS milliseconds, then _exit(N)
 *   helper burn MS           burn MS milliseconds of CPU, then _exit(0)
 *   helper raise SIG         die from signal SIG (default action restored)
 *   helper dump DIR SIG      chdir DIR, allow core files, die from SIG
 *   helper sigstate          print SigBlk/SigIgn/SigCgt of /proc/self/status
 *   helper fds               print the open fds, one per line
 *   helper env NAME VALUE    exit 0 if $NAME == VALUE, 1 if different, 2 unset
 *   helper pgid              exit 0 if the child leads its own process group
 *   helper ptraceable N      allow any tracer (Yama), print "r", then as wait N
 *   helper stops N           for a tracer: allow it (Yama), print "r", read one
 *                            byte, raise SIGUSR1 (a signal-delivery stop), make
 *                            three getppid calls (syscall stops), then exec
 *                            itself as "exit N" (an exec event stop)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifndef PR_SET_PTRACER
#define PR_SET_PTRACER 0x59616d61
#endif
#ifndef PR_SET_PTRACER_ANY
#define PR_SET_PTRACER_ANY ((unsigned long)-1)
#endif

static void wait_eof(void)
{
	char buf[64];
	ssize_t n;

	do
		n = read(0, buf, sizeof(buf));
	while (n > 0 || (n < 0 && errno == EINTR));
}

static void die_by(int sig)
{
	sigset_t set;

	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	_exit(100); /* the signal did not kill us: the test sees 100 */
}

static void put(const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t n = write(1, s, len);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			_exit(3);
		}
		s += n;
		len -= (size_t)n;
	}
}

static int sigstate(void)
{
	char buf[4096], *line, *save = NULL;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "SigBlk:", 7) || !strncmp(line, "SigIgn:", 7) ||
		    !strncmp(line, "SigCgt:", 7)) {
			put(line);
			put("\n");
		}
	}
	return 0;
}

static int fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char line[300];

	if (!d)
		return 1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		snprintf(line, sizeof(line), "%s\n", e->d_name);
		put(line);
	}
	closedir(d);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* A global, so neither compiler drops the loop nor warns about it. */
static volatile unsigned long burn_sink;

static void burn(long ms)
{
	struct timespec ts;

	do {
		for (int i = 0; i < 10000; i++)
			burn_sink += (unsigned long)i;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	} while (ts.tv_sec * 1000 + ts.tv_nsec / 1000000 < ms);
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	int n = argc > 2 ? atoi(argv[2]) : 0;

	if (!strcmp(m, "exit"))
		_exit(n);
	if (!strcmp(m, "wait")) {
		wait_eof();
		_exit(n);
	}
	if (!strcmp(m, "echo")) {
		char c;
		ssize_t r;

		while ((r = read(0, &c, 1)) != 0) {
			if (r < 0) {
				if (errno == EINTR)
					continue;
				_exit(1);
			}
			if (write(1, &c, 1) != 1)
				_exit(2);
		}
		_exit(0);
	}
	if (!strcmp(m, "sleep")) {
		sleep_ms(n);
		_exit(argc > 3 ? atoi(argv[3]) : 0);
	}
	if (!strcmp(m, "burn")) {
		burn(n);
		_exit(0);
	}
	if (!strcmp(m, "raise"))
		die_by(n);
	if (!strcmp(m, "dump") && argc > 3) {
		struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

		if (chdir(argv[2]))
			_exit(101);
		if (setrlimit(RLIMIT_CORE, &rl)) {
			getrlimit(RLIMIT_CORE, &rl);
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_CORE, &rl);
		}
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		die_by(atoi(argv[3]));
	}
	if (!strcmp(m, "sigstate"))
		_exit(sigstate());
	if (!strcmp(m, "fds"))
		_exit(fds());
	if (!strcmp(m, "env") && argc > 3) {
		const char *v = getenv(argv[2]);

		_exit(!v ? 2 : strcmp(v, argv[3]) ? 1 : 0);
	}
	if (!strcmp(m, "pgid"))
		_exit(getpgrp() == getpid() ? 0 : 1);
	if (!strcmp(m, "ptraceable")) {
		/* Yama ptrace_scope 1 lets only ancestors attach otherwise. */
		prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
		put("r");
		wait_eof();
		_exit(n);
	}
	if (!strcmp(m, "stops") && argc > 2) {
		char *args[] = { argv[0], (char *)"exit", argv[2], NULL };
		char c;

		prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
		put("r");
		while (read(0, &c, 1) < 0 && errno == EINTR)
			;
		raise(SIGUSR1); /* a tracer suppresses it */
		for (int i = 0; i < 3; i++)
			(void)getppid();
		execv(argv[0], args);
		_exit(126);
	}
	fprintf(stderr, "helper: unknown mode '%s'\n", m);
	_exit(127);
}
