// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * emulate-errors.c - `pidshim emulate` where the filter cannot be loaded:
 * inside a sandbox that refuses seccomp() (as some container runtimes
 * do), `pidshim emulate 4.19 -- CMD` must exit 125 with one line on
 * stderr and never run CMD, since running it unfiltered would silently
 * test the wrong kernel; `native`, which installs nothing, must still run
 * CMD.  The sandbox is a raw BPF filter of this program's own, so the test
 * does not rely on the code it checks.
 *
 * Usage: emulate-errors PIDSHIM   (the pidshim binary to test)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ptap.h"

static const char *pidshim;

/*
 * Refuse seccomp() and prctl(PR_SET_SECCOMP) with EPERM, allow the rest.
 * No architecture check: only native binaries run under it.
 */
static int refuse_seccomp(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_prctl, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_SET_SECCOMP, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -errno;
	return 0;
}

/* Run pidshim emulate NAME -- sh -c 'echo ran' in the sandbox; collect its output. */
static int run_emulate(const char *name, int *status, char *out, size_t outsz, char *err,
		       size_t errsz)
{
	int o[2], e[2];
	ssize_t n;
	pid_t pid;

	if (pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(o[1], 1);
		dup2(e[1], 2);
		if (refuse_seccomp() < 0)
			_exit(99);
		execl(pidshim, "pidshim", "emulate", name, "--", "/bin/sh", "-c",
		      "echo ran", (char *)NULL);
		_exit(98);
	}
	close(o[1]);
	close(e[1]);
	waitpid(pid, status, 0);
	n = read(o[0], out, outsz - 1);
	out[n > 0 ? n : 0] = '\0';
	n = read(e[0], err, errsz - 1);
	err[n > 0 ? n : 0] = '\0';
	close(o[0]);
	close(e[0]);
	return 0;
}

static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static int case_refused_filter_is_125(void)
{
	char out[256], err[1024];
	int status;

	PT_CHECK(run_emulate("4.19", &status, out, sizeof(out), err, sizeof(err)) == 0,
		 "run");
	PT_CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 99),
		 "this kernel refuses the test's own sandbox");
	PT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 125,
		 "status %#x, want exit 125 (%s)", status, err);
	PT_CHECK(out[0] == '\0', "the command ran without its filter: '%s'", out);
	PT_CHECK(lines(err) == 1 && strstr(err, "pidshim emulate"), "stderr: '%s'", err);
	pt_diag("%s", strtok(err, "\n"));
	return PT_PASS;
}

static int case_native_needs_no_filter(void)
{
	char out[256], err[1024];
	int status;

	PT_CHECK(run_emulate("native", &status, out, sizeof(out), err, sizeof(err)) == 0,
		 "run");
	PT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x (%s)", status,
		 err);
	PT_CHECK(!strcmp(out, "ran\n"), "stdout '%s'", out);
	return PT_PASS;
}

static const struct pt_case cases[] = {
	{ "seccomp refused: exit 125, one line, command not run",
	  case_refused_filter_is_125 },
	{ "seccomp refused: native still runs the command", case_native_needs_no_filter },
};

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: emulate-errors PIDSHIM\n");
		return 2;
	}
	pidshim = argv[1];
	return pt_run(cases, sizeof(cases) / sizeof(cases[0]), 20);
}
