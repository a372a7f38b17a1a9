// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * main.c - the `pidshim` command: dispatches to the subcommands (probe,
 * run, wait, emulate, matrix) and answers --help and --version.  Also puts
 * SIGCHLD back to its default first: a shell or service manager may have
 * started us with it ignored, which makes the kernel auto-reap our
 * children and would turn every exit status into ECHILD.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "pidshim.h"

/* The help text, laid out as printed. */
/* clang-format off */
static void usage(FILE *f)
{
	fprintf(f,
		"Usage: pidshim COMMAND [OPTION...] [ARG...]\n"
		"\n"
		"Race-free process handles (pidfds, or a fallback without them)\n"
		"from the command line.\n"
		"\n"
		"Commands:\n"
		"  probe [--json|--tap]       kernel pidfd features, backend, consistency\n"
		"  run [OPTION...] -- CMD...  run CMD with a timeout, report its exit\n"
		"  wait [OPTION...] PID...    wait for any processes to exit\n"
		"  emulate NAME -- CMD...     run CMD as if on an older kernel\n"
		"  matrix [OPTION...] -- TEST...  run TEST on real kernels under qemu\n"
		"\n"
		"  -h, --help      this text ('pidshim COMMAND --help' for a command)\n"
		"  -V, --version   print the version\n"
		"\n"
		"Exit status: see each command; 2 means bad usage.  See pidshim(1).\n");
}
/* clang-format on */

int main(int argc, char **argv)
{
	const char *cmd;

	signal(SIGCHLD, SIG_DFL);

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "probe"))
		return cli_cmd_probe(argc - 1, argv + 1);
	if (!strcmp(cmd, "run"))
		return cli_cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "wait"))
		return cli_cmd_wait(argc - 1, argv + 1);
	if (!strcmp(cmd, "emulate"))
		return cli_cmd_emulate(argc - 1, argv + 1);
	if (!strcmp(cmd, "matrix"))
		return cli_cmd_matrix(argc - 1, argv + 1);
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("pidshim %s\n", PIDSHIM_VERSION_STRING);
		return 0;
	}
	if (cmd[0] == '-')
		return cli_usage_error(NULL, "unknown option '%s'", cmd);
	return cli_usage_error(NULL, "unknown command '%s'", cmd);
}
