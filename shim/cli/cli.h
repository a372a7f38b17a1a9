/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli.h - what the `pidshim` subcommands share: their entry points, the
 * exit codes (those of timeout(1) and env(1), plus 2 for bad usage), and
 * the small helpers for messages, errno names, monotonic time and JSON
 * output that live in util.c.
 */
#ifndef PIDSHIM_CLI_H
#define PIDSHIM_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define EXIT_PROBLEM	   1   /* probe inconsistent, no such process, ... */
#define EXIT_USAGE	   2   /* bad command line */
#define EXIT_TIMEDOUT	   124 /* like timeout(1) */
#define EXIT_CANCELED	   125 /* pidshim itself failed */
#define EXIT_CANNOT_INVOKE 126
#define EXIT_ENOENT	   127

int cli_cmd_probe(int argc, char **argv);   /* probe.c */
int cli_cmd_run(int argc, char **argv);	    /* run.c */
int cli_cmd_wait(int argc, char **argv);    /* wait.c */
int cli_cmd_emulate(int argc, char **argv); /* emulate.c */
int cli_cmd_matrix(int argc, char **argv);  /* matrix.c */

/*
 * Print "pidshim CMD: <message> (try 'pidshim CMD --help')" on one line to
 * stderr and return EXIT_USAGE.
 */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print "pidshim CMD: <message>" on one line to stderr and return code. */
int cli_fail(const char *cmd, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * After getopt_long returned c (':' for a missing value, '?' for an
 * unknown option, opterr 0 and ':' leading the short options): print the
 * one-line usage error naming the option and return EXIT_USAGE.
 */
int cli_getopt_error(const char *cmd, int c, char **argv);

/*
 * pidshim_backend(), explaining a failure on stderr (a forced backend the
 * kernel cannot serve, an unknown PIDSHIM_BACKEND name) for command cmd.
 */
int cli_backend(const char *cmd);

/* "ENOSYS" for ENOSYS, "E123" for numbers without a known name. */
const char *cli_errno_name(int err, char *buf, size_t size);

/*
 * snprintf that says when it truncated: 0, or -ENAMETOOLONG (buf then
 * holds the truncated text).  For paths and notes built from parts.
 */
int cli_fmt(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* CLOCK_MONOTONIC in milliseconds. */
int64_t cli_now_ms(void);

/* Milliseconds from now until deadline, clamped to 0 .. INT_MAX. */
int cli_ms_until(int64_t deadline);

/* deadline = now + ms, saturating instead of overflowing. */
int64_t cli_deadline(int64_t ms);

/* Write s as a JSON string (quotes and escapes included). */
void cli_json_string(FILE *f, const char *s);

/* Write a JSON string or null. */
void cli_json_string_or_null(FILE *f, const char *s);

#endif /* PIDSHIM_CLI_H */
