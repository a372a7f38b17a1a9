// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer harness: the CLI's cli_parse_pid() (shim/cli/parse.c)
 * against the grammar of parse.h: decimal digits only, 1 ..
 * CLI_PID_MAX_LIMIT; all digits but too large is -ERANGE, anything
 * else -EINVAL.  *pid must be untouched on failure and *why set.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int oracle(const char *s, pid_t *pid)
{
	unsigned long long n = 0;
	const char *p;

	if (!*s)
		return -EINVAL;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (n <= CLI_PID_MAX_LIMIT)
			n = n * 10 + (unsigned)(*p - '0');
	}
	if (n == 0)
		return -EINVAL;
	if (n > CLI_PID_MAX_LIMIT)
		return -ERANGE;
	*pid = (pid_t)n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	pid_t got = -12345, want = -1;
	const char *why = NULL;
	int rc, orc;

	memcpy(s, data, size);
	s[size] = 0;
	rc = cli_parse_pid(s, &got, &why);
	orc = oracle(s, &want);
	if (rc != orc || (!rc && got != want) || (rc && got != -12345) || (rc && !why)) {
		fprintf(stderr, "parse_pid(\"%s\") = %d, %d; oracle %d, %d\n", s, rc, got, orc, want);
		abort();
	}
	free(s);
	return 0;
}
