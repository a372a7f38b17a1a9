/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * parse.h - the pure parsers behind the `pidshim` command line: durations
 * ("10", "1.5s", "200ms", "2m", "1h", "1d"), signals ("TERM", "SIGTERM",
 * "15", "RTMIN+2") and process IDs.  They touch no global state, allocate
 * nothing and never print, so they can be unit-tested and fuzzed
 * (libFuzzer) in isolation.  Each returns 0 and fills its output, or a
 * negative errno value with *why (when why is not NULL) pointing to a
 * static, human-readable reason that the CLI prints after the argument.
 */
#ifndef PIDSHIM_CLI_PARSE_H
#define PIDSHIM_CLI_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The largest PID Linux can hand out (PID_MAX_LIMIT on 64-bit kernels). */
#define CLI_PID_MAX_LIMIT 4194304

/*
 * cli_parse_duration - a duration in milliseconds.
 *
 * Grammar: DIGITS [ "." DIGITS ] [ UNIT ], or "." DIGITS [ UNIT ]; UNIT is
 * "ms", "s" (the default), "m", "h" or "d".  No sign, no spaces, no
 * exponent, no hex.  A fraction is rounded up to the next millisecond, so
 * a positive duration never becomes 0 (which means "no timeout").
 *
 * Returns 0 and sets *ms (0 .. INT64_MAX), or
 *   -EINVAL  empty, negative, garbage, unknown unit
 *   -ERANGE  does not fit in 64-bit milliseconds
 */
int cli_parse_duration(const char *s, int64_t *ms, const char **why);

/*
 * cli_parse_signal - a signal number from a name or a number.
 *
 * Accepts names with or without "SIG", in any case ("TERM", "sigterm"),
 * the aliases IOT, CLD and POLL, RTMIN, RTMAX, RTMIN+N, RTMAX-N, and
 * decimal numbers 1 .. SIGRTMAX.  Signal 0 is refused: it delivers nothing.
 *
 * Returns 0 and sets *sig, or -EINVAL with *why.
 */
int cli_parse_signal(const char *s, int *sig, const char **why);

/*
 * cli_signal_name - the name of sig without the "SIG" prefix ("TERM",
 * "RTMIN+3") written to buf, or the number when it has no name.
 * Returns buf.
 */
const char *cli_signal_name(int sig, char *buf, size_t size);

/*
 * cli_parse_pid - a process ID: decimal digits only, 1 ..
 * CLI_PID_MAX_LIMIT.
 *
 * Returns 0 and sets *pid, or
 *   -EINVAL  empty, non-numeric, negative, or 0
 *   -ERANGE  larger than any PID Linux can have
 */
int cli_parse_pid(const char *s, pid_t *pid, const char **why);

#endif /* PIDSHIM_CLI_PARSE_H */
