// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * emulate.c - `pidshim emulate NAME -- CMD...`: run a command as if on an
 * older kernel (or under a container's seccomp profile) by installing one
 * of the seccomp personalities of personality.c and exec'ing the command.
 * The exit codes follow env(1) and timeout(1): 125 when the filter cannot
 * be installed, 126 when CMD cannot be run, 127 when it is not found, 2 for
 * bad usage; otherwise the exit code is CMD's own, since CMD replaces us.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pidshim.h"
#include "personality.h"

/* The help text, laid out as printed. */
/* clang-format off */
static void usage(FILE *f)
{
	fprintf(f,
		"Usage: pidshim emulate NAME [--] CMD [ARG...]\n"
		"       pidshim emulate --list | --names | --expected-backend NAME\n"
		"\n"
		"Run CMD under a seccomp filter that makes the kernel look like an\n"
		"older one (or a container profile) to the pidfd system calls.\n"
		"\n"
		"  -l, --list                 the personalities, the backend pidshim\n"
		"                             selects under each, what each filter does\n"
		"      --names                the personality names, one a line\n"
		"      --expected-backend NAME  the backend pidshim must select under NAME\n"
		"  -h, --help                 this text\n"
		"\n"
		"CMD sees PIDSHIM_PERSONALITY=NAME in its environment.  Exit status:\n"
		"CMD's own; 125 the filter could not be installed; 126 CMD could not\n"
		"be run; 127 CMD not found; 2 bad usage.  See pidshim-emulate(1).\n");
}
/* clang-format on */

static const struct personality *lookup_or_complain(const char *name)
{
	const struct personality *p = personality_lookup(name);

	if (!p)
		cli_usage_error("emulate", "unknown personality '%s', see --list", name);
	return p;
}

int cli_cmd_emulate(int argc, char **argv)
{
	const struct personality *p;
	int i = 1;
	int rc;

	if (argc < 2)
		return cli_usage_error("emulate", "missing personality name");

	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-l") || !strcmp(argv[1], "--list")) {
		if (argc > 2)
			return cli_usage_error("emulate",
					       "unexpected argument '%s' after --list",
					       argv[2]);
		personality_print_table(stdout);
		return fflush(stdout) ? 1 : 0;
	}
	if (!strcmp(argv[1], "--names")) {
		if (argc > 2)
			return cli_usage_error("emulate",
					       "unexpected argument '%s' after --names",
					       argv[2]);
		for (size_t k = 0; (p = personality_get(k)); k++)
			printf("%s\n", p->name);
		return fflush(stdout) ? 1 : 0;
	}
	if (!strcmp(argv[1], "--expected-backend")) {
		if (argc != 3)
			return cli_usage_error(
				"emulate",
				"--expected-backend takes one personality name");
		p = lookup_or_complain(argv[2]);
		if (!p)
			return EXIT_USAGE;
		printf("%s\n", pidshim_backend_name(p->backend));
		return fflush(stdout) ? 1 : 0;
	}
	if (argv[1][0] == '-' && strcmp(argv[1], "--") != 0)
		return cli_usage_error("emulate", "unknown option '%s'", argv[1]);
	if (!strcmp(argv[1], "--"))
		return cli_usage_error("emulate", "missing personality name before '--'");

	p = lookup_or_complain(argv[i++]);
	if (!p)
		return EXIT_USAGE;
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (i >= argc)
		return cli_usage_error("emulate",
				       "missing command to run under personality '%s'",
				       p->name);

	rc = personality_apply(p->name);
	if (rc < 0) {
		/* Never run CMD unfiltered: it would test the wrong kernel and pass. */
		const char *hint = "";

		if (rc == -EPERM || rc == -EACCES)
			hint = " (seccomp is refused here, e.g. by a container's own "
			       "filter)";
		else if (rc == -ENOSYS || rc == -EINVAL)
			hint = " (this kernel lacks seccomp filters)";
		fprintf(stderr,
			"pidshim emulate: cannot install the seccomp filter of '%s': "
			"%s%s\n",
			p->name, strerror(-rc), hint);
		return EXIT_CANCELED;
	}
	/* Tell the command (and `pidshim probe`) what it runs under. */
	if (setenv("PIDSHIM_PERSONALITY", p->name, 1) < 0) {
		fprintf(stderr, "pidshim emulate: setenv: %s\n", strerror(errno));
		return EXIT_CANCELED;
	}

	fflush(NULL);
	execvp(argv[i], &argv[i]);
	rc = errno;
	fprintf(stderr, "pidshim emulate: %s: %s\n", argv[i], strerror(rc));
	return rc == ENOENT ? EXIT_ENOENT : EXIT_CANNOT_INVOKE;
}
