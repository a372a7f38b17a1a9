/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared helpers of the stress, torture, fault and security tests: TAP
 * output, /proc accounting (fds, RSS, children and zombies of this
 * process), the path of the static child helper, and sentinel processes
 * that count every signal they receive so a misdirected signal cannot go
 * unnoticed.  Sentinels are started with plain posix_spawn and reaped with
 * waitpid(pid), never through the library, so they also prove that the
 * library leaves processes it does not own alone.
 */
#ifndef STRESS_COMMON_H
#define STRESS_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define LEAK_CODE 250 /* stress-child exit code: an fd >= 3 survived exec */

/* TAP.  Every check of every program goes through these. */
void tap_ok(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tap_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tap_done(void); /* prints the plan; returns the exit status (1 if anything failed) */
extern int tap_failed;

/* Fail loudly and stop: for harness errors that make the run meaningless. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* /proc accounting of this process. */
int count_fds(void);
long rss_kib(void);
/*
 * Children of this process: *zombies in state Z, return value all of them.
 * Pids listed in skip (n_skip entries) are not counted.
 */
int scan_children(int *zombies, const pid_t *skip, int n_skip);
/* SIGKILL and reap every child of ours (a test's leftovers, so that one
 * failure does not cascade into the next check); returns how many. */
int kill_children(const pid_t *skip, int n_skip);
/* Count open fds without opening one (works while the table is full). */
int count_fds_nofd(void);
/* Print each child (pid, state, command line) as a TAP diagnostic. */
void show_children(const pid_t *skip, int n_skip);
/* Wait up to grace_ms for the zombies among our children to go away. */
int zombies_after_grace(int grace_ms, const pid_t *skip, int n_skip);

/* Mark every inherited fd >= 3 close-on-exec so that children can treat
 * any fd >= 3 they see as a leak of the library. */
void cloexec_inherited_fds(void);

/* Absolute path of the stress-child helper next to this executable. */
const char *child_path(void);

/* The backend PIDSHIM_BACKEND asks for (enum value), 0 if unset. */
int forced_backend(void);
/* The kernel features the forced backend needs, for skip messages. */
const char *backend_needs(void);
/* Check that the library runs the forced backend; dies otherwise. */
int require_backend(void);

/* Sentinels. */
struct sentinel {
	pid_t pid;
	int in_w;  /* closing it tells the sentinel to exit */
};
/* Start a sentinel; returns 0 once its handlers are installed. */
int sentinel_start(struct sentinel *s);
/* Stop it; returns the number of signals it counted, -SIG if it was
 * killed by SIG (itself a misdirected signal), or SENTINEL_STOLEN if
 * something else (the library) reaped it. */
#define SENTINEL_STOLEN (-1000)
int sentinel_stop(struct sentinel *s);

/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);

/* xorshift, per thread. */
static inline uint64_t rnd_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Write a pid's predecessor to ns_last_pid; 0 or -errno. */
int set_ns_last_pid(pid_t pid);

#endif
