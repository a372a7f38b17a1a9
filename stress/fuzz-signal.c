// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer harness: the CLI's cli_parse_signal() and
 * cli_signal_name() (shim/cli/parse.c).  The oracle takes its names
 * from glibc's sigabbrev_np() plus the documented aliases (IOT, CLD, POLL,
 * IO) and RTMIN[+N] / RTMAX[-N], so it is independent of the CLI's table.
 * Every accepted signal must also survive a round trip through
 * cli_signal_name().
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool dig(char c)
{
	return c >= '0' && c <= '9';
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!dig(*s))
			return false;
	return true;
}

/* A decimal string as a number, capped at 1000000. */
static long num(const char *s)
{
	long n = 0;

	for (; *s && n < 1000000; s++)
		n = n * 10 + (*s - '0');
	return n;
}

static int oracle(const char *s, int *sig)
{
	static const struct {
		const char *name;
		int sig;
	} alias[] = { { "IOT", SIGABRT }, { "CLD", SIGCHLD }, { "POLL", SIGIO }, { "IO", SIGIO } };
	const char *name = s;

	if (all_digits(s)) {
		long n = num(s);

		if (n < 1 || n > SIGRTMAX)
			return -EINVAL;
		*sig = (int)n;
		return 0;
	}
	if (!strncasecmp(name, "SIG", 3))
		name += 3;
	for (int i = 1; i < SIGRTMIN; i++) {
		const char *abbrev = sigabbrev_np(i);

		if (abbrev && !strcasecmp(name, abbrev)) {
			*sig = i;
			return 0;
		}
	}
	for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
		if (!strcasecmp(name, alias[i].name)) {
			*sig = alias[i].sig;
			return 0;
		}
	if (!strncasecmp(name, "RTMIN", 5) || !strncasecmp(name, "RTMAX", 5)) {
		bool min = !strncasecmp(name, "RTMIN", 5);
		const char *p = name + 5;
		long n = 0;

		if (*p) {
			if (*p != (min ? '+' : '-') || !all_digits(p + 1))
				return -EINVAL;
			n = num(p + 1);
			if (n > SIGRTMAX - SIGRTMIN)
				return -EINVAL;
		}
		*sig = min ? SIGRTMIN + (int)n : SIGRTMAX - (int)n;
		return 0;
	}
	return -EINVAL;
}

static void check_name(int sig)
{
	char buf[32];
	int back = -1;

	cli_signal_name(sig, buf, sizeof(buf));
	if (cli_parse_signal(buf, &back, NULL) || back != sig) {
		fprintf(stderr, "signal %d is named \"%s\", which parses back to %d\n", sig, buf, back);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool names_checked;
	char *s = malloc(size + 1);
	int got = -12345, want = -1, rc, orc;
	const char *why = NULL;

	if (!names_checked) {
		for (int i = 1; i <= SIGRTMAX; i++)
			check_name(i);
		names_checked = true;
	}
	memcpy(s, data, size);
	s[size] = 0;
	rc = cli_parse_signal(s, &got, &why);
	orc = oracle(s, &want);
	if (rc != orc || (!rc && got != want) || (rc && got != -12345) || (rc && !why)) {
		fprintf(stderr, "parse_signal(\"%s\") = %d, %d; oracle %d, %d\n", s, rc, got, orc, want);
		abort();
	}
	if (!rc)
		check_name(got);
	free(s);
	return 0;
}
