// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * parse.c - durations, signal names and PIDs for the `pidshim` command
 * line.  Deliberately hand-written instead of strtod/strtol: those accept
 * leading spaces, signs, hex, "inf" and "nan" and depend on the locale,
 * and every one of those has turned a typo into a surprising timeout in
 * some tool.  Pure functions only (see parse.h): they are fuzzed.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "parse.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char to_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static void set_why(const char **why, const char *text)
{
	if (why)
		*why = text;
}

int cli_parse_duration(const char *s, int64_t *ms, const char **why)
{
	const char *p = s, *frac = NULL, *frac_end = NULL;
	uint64_t ip = 0, unit, total, part = 0;
	bool digits = false, rest = false;

	if (!s || !*s) {
		set_why(why, "empty duration");
		return -EINVAL;
	}
	if (*p == '-') {
		set_why(why, "negative duration");
		return -EINVAL;
	}
	/* Integer part: only overflow matters here; the unit comes later. */
	for (; is_digit(*p); p++) {
		digits = true;
		if (ip > (UINT64_MAX - 9) / 10) {
			/* Keep the syntax check: "1e99999999999999999999" is garbage. */
			ip = UINT64_MAX;
			continue;
		}
		ip = ip * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		for (frac = ++p; is_digit(*p); p++)
			digits = true;
		frac_end = p;
	}
	if (!digits) {
		set_why(why, "not a number (expected e.g. 10, 1.5s, 200ms, 2m, 1h)");
		return -EINVAL;
	}

	if (!*p || !strcmp(p, "s"))
		unit = 1000;
	else if (!strcmp(p, "ms"))
		unit = 1;
	else if (!strcmp(p, "m"))
		unit = 60 * 1000;
	else if (!strcmp(p, "h"))
		unit = 60 * 60 * 1000;
	else if (!strcmp(p, "d"))
		unit = 24 * 60 * 60 * 1000;
	else {
		set_why(why, "unknown unit (use ms, s, m, h or d)");
		return -EINVAL;
	}

	if (ip > (uint64_t)INT64_MAX / unit) {
		set_why(why, "duration too large");
		return -ERANGE;
	}
	total = ip * unit;
	/*
	 * floor(0.FRAC * unit), exactly, for any number of digits: long
	 * multiplication from the last digit, carrying into the integer
	 * part; then round up if anything was left over, so that a positive
	 * duration never becomes 0 ("no timeout").
	 */
	if (frac) {
		for (const char *q = frac_end; q > frac; q--) {
			uint64_t t = (uint64_t)(q[-1] - '0') * unit + part;

			rest |= t % 10 != 0;
			part = t / 10;
		}
		if (rest)
			part++;
	}
	if (part > (uint64_t)INT64_MAX - total) {
		set_why(why, "duration too large");
		return -ERANGE;
	}
	*ms = (int64_t)(total + part);
	return 0;
}

static const struct {
	const char *name;
	int sig;
} signal_names[] = {
	/* The canonical name of each number comes first. */
	{ "HUP", SIGHUP },
	{ "INT", SIGINT },
	{ "QUIT", SIGQUIT },
	{ "ILL", SIGILL },
	{ "TRAP", SIGTRAP },
	{ "ABRT", SIGABRT },
	{ "BUS", SIGBUS },
	{ "FPE", SIGFPE },
	{ "KILL", SIGKILL },
	{ "USR1", SIGUSR1 },
	{ "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE },
	{ "ALRM", SIGALRM },
	{ "TERM", SIGTERM },
#ifdef SIGSTKFLT
	{ "STKFLT", SIGSTKFLT },
#endif
	{ "CHLD", SIGCHLD },
	{ "CONT", SIGCONT },
	{ "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP },
	{ "TTIN", SIGTTIN },
	{ "TTOU", SIGTTOU },
	{ "URG", SIGURG },
	{ "XCPU", SIGXCPU },
	{ "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM },
	{ "PROF", SIGPROF },
	{ "WINCH", SIGWINCH },
	{ "IO", SIGIO },
#ifdef SIGPWR
	{ "PWR", SIGPWR },
#endif
	{ "SYS", SIGSYS },
	/* Aliases: accepted, never printed. */
	{ "IOT", SIGABRT },
	{ "CLD", SIGCHLD },
	{ "POLL", SIGIO },
};

#define N_SIGNAL_NAMES (sizeof(signal_names) / sizeof(signal_names[0]))

/* Case-insensitive ASCII comparison of s (NUL-terminated) with name. */
static bool name_is(const char *s, const char *name)
{
	for (; *s && *name; s++, name++)
		if (to_upper(*s) != *name)
			return false;
	return !*s && !*name;
}

/* "RTMIN", "RTMIN+N", "RTMAX", "RTMAX-N" (s without "SIG"). */
static int parse_rt(const char *s, int *sig)
{
	int base, dir, n = 0;
	const char *p;

	if (!strncasecmp(s, "RTMIN", 5)) {
		base = SIGRTMIN;
		dir = 1;
	} else if (!strncasecmp(s, "RTMAX", 5)) {
		base = SIGRTMAX;
		dir = -1;
	} else {
		return -EINVAL;
	}
	p = s + 5;
	if (*p) {
		if (*p != (dir > 0 ? '+' : '-') || !is_digit(p[1]))
			return -EINVAL;
		for (p++; is_digit(*p); p++) {
			n = n * 10 + (*p - '0');
			if (n > SIGRTMAX - SIGRTMIN)
				return -EINVAL;
		}
		if (*p)
			return -EINVAL;
	}
	*sig = base + dir * n;
	return 0;
}

int cli_parse_signal(const char *s, int *sig, const char **why)
{
	const char *name;
	int n = 0;

	if (!s || !*s) {
		set_why(why, "empty signal name");
		return -EINVAL;
	}
	if (is_digit(*s)) {
		for (const char *p = s; *p; p++) {
			if (!is_digit(*p)) {
				set_why(why, "unknown signal (use a name like TERM or a "
					     "number)");
				return -EINVAL;
			}
			n = n * 10 + (*p - '0');
			if (n > SIGRTMAX) {
				set_why(why, "signal number out of range");
				return -EINVAL;
			}
		}
		if (n == 0) {
			set_why(why, "signal 0 sends nothing");
			return -EINVAL;
		}
		*sig = n;
		return 0;
	}
	if (*s == '-') {
		set_why(why, "negative signal number");
		return -EINVAL;
	}
	name = s;
	if (!strncasecmp(name, "SIG", 3))
		name += 3;
	for (size_t i = 0; i < N_SIGNAL_NAMES; i++) {
		if (name_is(name, signal_names[i].name)) {
			*sig = signal_names[i].sig;
			return 0;
		}
	}
	if (parse_rt(name, &n) == 0) {
		*sig = n;
		return 0;
	}
	set_why(why, "unknown signal name");
	return -EINVAL;
}

const char *cli_signal_name(int sig, char *buf, size_t size)
{
	for (size_t i = 0; i < N_SIGNAL_NAMES; i++) {
		if (signal_names[i].sig == sig) {
			snprintf(buf, size, "%s", signal_names[i].name);
			return buf;
		}
	}
	if (sig == SIGRTMIN)
		snprintf(buf, size, "RTMIN");
	else if (sig == SIGRTMAX)
		snprintf(buf, size, "RTMAX");
	else if (sig > SIGRTMIN && sig < SIGRTMAX)
		snprintf(buf, size, "RTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, size, "%d", sig);
	return buf;
}

int cli_parse_pid(const char *s, pid_t *pid, const char **why)
{
	long n = 0;

	if (!s || !*s) {
		set_why(why, "empty pid");
		return -EINVAL;
	}
	if (*s == '-' && is_digit(s[1])) {
		set_why(why, "negative pid");
		return -EINVAL;
	}
	for (const char *p = s; *p; p++) {
		if (!is_digit(*p)) {
			set_why(why, "pid is not a number");
			return -EINVAL;
		}
		n = n * 10 + (*p - '0');
		if (n > CLI_PID_MAX_LIMIT) {
			/* Keep scanning: "99999999x" is garbage, not "too large". */
			for (p++; *p; p++) {
				if (!is_digit(*p)) {
					set_why(why, "pid is not a number");
					return -EINVAL;
				}
			}
			set_why(why, "pid too large (Linux pids are at most 4194304)");
			return -ERANGE;
		}
	}
	if (n == 0) {
		set_why(why, "pid 0 is not a process");
		return -EINVAL;
	}
	*pid = (pid_t)n;
	return 0;
}
