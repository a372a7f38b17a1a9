// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer harness: the CLI's cli_parse_duration() (shim/cli/parse.c)
 * against an independent oracle.  The oracle implements the grammar of
 * parse.h (DIGITS ["." DIGITS] [ms|s|m|h|d], or "." DIGITS [unit]) and
 * computes the exact result with digit-by-digit long multiplication, so a
 * fraction of any length is rounded up exactly as documented ("rounded up
 * to the next millisecond").  Mismatch in verdict, error code or value
 * aborts; *ms must be untouched on failure and *why set.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool dig(char c)
{
	return c >= '0' && c <= '9';
}

/* 0 and *ms, -EINVAL or -ERANGE. */
static int oracle(const char *s, int64_t *ms)
{
	const char *p = s, *ip_start, *ip_end, *fr_start = NULL, *fr_end = NULL;
	unsigned __int128 ip = 0, total;
	uint64_t unit, carry = 0;
	bool nonzero = false, huge = false;

	for (ip_start = p; dig(*p); p++)
		;
	ip_end = p;
	if (*p == '.') {
		for (fr_start = ++p; dig(*p); p++)
			;
		fr_end = p;
	}
	if (ip_end == ip_start && (!fr_start || fr_end == fr_start))
		return -EINVAL;
	if (!*p || !strcmp(p, "s"))
		unit = 1000;
	else if (!strcmp(p, "ms"))
		unit = 1;
	else if (!strcmp(p, "m"))
		unit = 60000;
	else if (!strcmp(p, "h"))
		unit = 3600000;
	else if (!strcmp(p, "d"))
		unit = 86400000;
	else
		return -EINVAL;
	for (const char *q = ip_start; q < ip_end; q++) {
		ip = ip * 10 + (unsigned)(*q - '0');
		if (ip > (unsigned __int128)INT64_MAX * 10) {
			huge = true;
			break;
		}
	}
	if (huge)
		return -ERANGE;
	/* floor(0.FRAC * unit) and whether anything is left over. */
	if (fr_start)
		for (const char *q = fr_end; q > fr_start; q--) {
			uint64_t t = (uint64_t)(q[-1] - '0') * unit + carry;

			nonzero |= t % 10 != 0;
			carry = t / 10;
		}
	total = ip * unit + carry + (nonzero ? 1 : 0);
	if (total > INT64_MAX)
		return -ERANGE;
	*ms = (int64_t)total;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	int64_t got = -12345, want = -1;
	const char *why = NULL;
	int rc, orc;

	memcpy(s, data, size);
	s[size] = 0;
	rc = cli_parse_duration(s, &got, &why);
	orc = oracle(s, &want);
	if (rc != orc || (!rc && got != want) || (rc && got != -12345) || (rc && !why)) {
		fprintf(stderr, "parse_duration(\"%s\") = %d, %lld; oracle %d, %lld%s\n", s, rc,
			(long long)got, orc, (long long)want,
			rc && got != -12345 ? " (*ms written on failure)" : "");
		abort();
	}
	free(s);
	return 0;
}
