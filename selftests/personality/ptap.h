/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ptap.h - a minimal TAP runner for the personality checks.
 *
 * Every case runs in its own forked process so it starts with pidshim's
 * probe not yet done (the probe runs once per process and is cached) and
 * with default signal handlers: the SIGSYS and EMFILE cases depend on
 * that.  The parent never calls the library.  A case returns PT_PASS,
 * PT_FAIL or PT_SKIP; a case that dies by a signal or runs past its
 * alarm fails.  Skips carry a reason that must name the kernel feature that
 * is missing.  Header-only so each test is a single file.
 */
#ifndef PIDSHIM_PTAP_H
#define PIDSHIM_PTAP_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define PT_PASS 0
#define PT_FAIL 1
#define PT_SKIP 4 /* as KSFT_SKIP */

struct pt_case {
	const char *name;
	int (*fn)(void);
};

/* Where a case writes its skip reason; the parent reads it back. */
static int pt_reason_fd = -1;

__attribute__((format(printf, 1, 2))) static inline void pt_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

__attribute__((format(printf, 1, 2))) static inline int pt_skip(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && pt_reason_fd >= 0 && write(pt_reason_fd, buf, strlen(buf)) < 0)
		pt_diag("cannot report skip reason");
	return PT_SKIP;
}

/* Fail the current case with a message, from anywhere inside it. */
#define PT_CHECK(cond, ...)                                                            \
	do {                                                                           \
		if (!(cond)) {                                                         \
			pt_diag("%s:%d: check failed: %s", __FILE__, __LINE__, #cond); \
			pt_diag(__VA_ARGS__);                                          \
			return PT_FAIL;                                                \
		}                                                                      \
	} while (0)

/*
 * The running kernel's version as major * 1000 + minor (5.10 -> 5010), from
 * uname: the tests only use it to decide whether a missing feature is a
 * skip (the kernel is older than the feature) or a failure.
 */
static inline int pt_host_kernel(void)
{
	struct utsname u;
	int maj = 0, min = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &maj, &min) != 2)
		return 0;
	return maj * 1000 + min;
}

static inline int pt_run(const struct pt_case *cases, size_t n, unsigned int timeout_s)
{
	int failed = 0, passed = 0, skipped = 0;

	printf("TAP version 13\n1..%zu\n", n);
	fflush(stdout);
	for (size_t i = 0; i < n; i++) {
		char reason[256] = "";
		int p[2], status = 0;
		ssize_t len;
		pid_t pid;

		if (pipe2(p, O_CLOEXEC) < 0) {
			printf("not ok %zu - %s # pipe: %s\n", i + 1, cases[i].name,
			       strerror(errno));
			failed++;
			continue;
		}
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			close(p[0]);
			pt_reason_fd = p[1];
			alarm(timeout_s);
			_exit(cases[i].fn());
		}
		close(p[1]);
		/*
		 * Reap first, then read without blocking: a grandchild the case
		 * forked and failed to kill may still hold the pipe open.
		 */
		while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		len = pid < 0 ? -1 : read(p[0], reason, sizeof(reason) - 1);
		reason[len > 0 ? len : 0] = '\0';
		close(p[0]);
		if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == PT_PASS) {
			printf("ok %zu - %s\n", i + 1, cases[i].name);
			passed++;
		} else if (pid > 0 && WIFEXITED(status) &&
			   WEXITSTATUS(status) == PT_SKIP) {
			printf("ok %zu - %s # SKIP %s\n", i + 1, cases[i].name,
			       reason[0] ? reason : "(no reason given)");
			skipped++;
		} else {
			if (pid < 0)
				pt_diag("fork: %s", strerror(errno));
			else if (WIFSIGNALED(status))
				pt_diag("killed by signal %d (%s)", WTERMSIG(status),
					strsignal(WTERMSIG(status)));
			else
				pt_diag("exit status %d", WEXITSTATUS(status));
			printf("not ok %zu - %s\n", i + 1, cases[i].name);
			failed++;
		}
		fflush(stdout);
	}
	/* The kselftest harness's totals line, which selftests/run-suite.sh reads. */
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0\n", passed,
	       failed, skipped);
	return failed ? 1 : 0;
}

/*
 * The personality this process runs under: argv[1], else what `pidshim
 * emulate` put in the environment, else "native".
 */
static inline const char *pt_personality(int argc, char **argv)
{
	const char *e = getenv("PIDSHIM_PERSONALITY");

	if (argc > 1)
		return argv[1];
	return e && *e ? e : "native";
}

#endif /* PIDSHIM_PTAP_H */
