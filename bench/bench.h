/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench.h - the contract between the benchmark driver (bench/common.c) and
 * one implementation of "spawn a child and notice its exit" (raw syscalls,
 * pidshim, libuv, GLib, libev, sd-event).  Each implementation is built
 * into its own binary, so every library is measured in a process that
 * loads only that library, and the pidshim binary can be run once per
 * backend (the backend choice is cached per process).
 */
#ifndef PIDSHIM_BENCH_H
#define PIDSHIM_BENCH_H

#include <stdint.h>
#include <sys/types.h>

/* The most idle children an implementation is asked to track (B3, B4). */
#define BENCH_MAX_IDLE 4096

struct bench_ops {
	const char *name;
	/* Once per process, before anything else.  Returns 0, or a negative
	 * errno; -ENOSYS means "cannot run here" (the driver skips it). */
	int (*init)(void);
	/* B1: run n children of path (no arguments), at most conc at a
	 * time, each reaped through the implementation.  Returns 0 or -errno. */
	int (*spawn_wait)(const char *path, int n, int conc);
	/* B3/B4: grow the set of tracked idle children to k (argv idle).
	 * in_loop: register them with the event loop / set, as a program
	 * waiting on all of them would; 0 for the bare per-handle cost (B4). */
	int (*track_idle)(char *const argv[], int k, int in_loop);
	/* B2/B3: spawn argv (the stamping helper), wait for its exit and
	 * return the CLOCK_MONOTONIC time (ns) at which the implementation
	 * told the caller about it.  in_loop: 1, wait the way an event loop
	 * tracking every idle child would (set / loop); 2, poll the one
	 * child's own fd (pidshim_fd) where there is one, else as 1; 0, the
	 * plain blocking wait.  Returns 0 or -errno. */
	int (*probe)(char *const argv[], int in_loop, uint64_t *woke_ns);
	/* Kill and reap every tracked idle child. */
	void (*untrack_all)(void);
	/* Extra "key":value JSON members describing the implementation
	 * (e.g. the pidshim backend), or NULL. */
	const char *(*describe)(void);
};

extern const struct bench_ops bench_impl;

uint64_t bench_now_ns(void);
/* Prints "bench: what: strerror(-err)" to stderr and exits 1. */
void bench_die(const char *what, int err) __attribute__((noreturn));

#endif /* PIDSHIM_BENCH_H */
