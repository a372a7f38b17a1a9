/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * backends.h - the one table of backends: each one's id, name, operations
 * and the kernel features it needs, best first, with the rule that picks
 * one.  The library's probe (probe.c) walks it for pidshim_backend(),
 * pidshim_backend_name(), PIDSHIM_BACKEND and the handle operations; the
 * CLI's `pidshim probe` asks the same rule which backend the features it
 * found call for, so the two can never disagree on the rule.  Adding a
 * backend is one row here (and its enum value in pidshim.h).
 *
 * The library defines BACKEND_OPS(name) as the address of
 * pidshim_<name>_ops before including this header; elsewhere the
 * operations are not reachable (hidden names) and read as NULL.
 */
#ifndef PIDSHIM_BACKENDS_H
#define PIDSHIM_BACKENDS_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "pidshim.h"

/* The kernel features a backend can need, as the probes find them. */
enum backend_feature {
	BF_PIDFD_SEND_SIGNAL = 1u << 0, /* Linux 5.1 */
	BF_PIDFD_OPEN = 1u << 1,	/* Linux 5.3 */
	BF_WAITID_PIDFD = 1u << 2,	/* Linux 5.4: waitid(P_PIDFD) */
	BF_EVENTFD = 1u << 3,		/* Linux 2.6.22: every backend's spawn */
};

struct backend_ops;

struct backend_def {
	int id;			       /* enum pidshim_backend */
	const char *name;	       /* pidshim_backend_name(), PIDSHIM_BACKEND */
	const struct backend_ops *ops; /* NULL outside the library */
	unsigned int needs;	       /* enum backend_feature bits, all required */
};

#ifndef BACKEND_OPS
#define BACKEND_OPS(name) NULL
#endif

/* Best first: with nothing forced, the first one the kernel serves. */
__attribute__((unused)) static const struct backend_def backend_table[] = {
	{ PIDSHIM_BACKEND_PIDFD, "pidfd", BACKEND_OPS(pidfd),
	  BF_PIDFD_OPEN | BF_PIDFD_SEND_SIGNAL | BF_WAITID_PIDFD | BF_EVENTFD },
	/* Linux 5.3: reaps with waitid(P_PID); remove once 5.4 is the baseline. */
	{ PIDSHIM_BACKEND_PIDFD_POLL, "pidfd-poll", BACKEND_OPS(pidfd_poll),
	  BF_PIDFD_OPEN | BF_PIDFD_SEND_SIGNAL | BF_EVENTFD },
	/* The fallback: no pidfd at all (see pidshim.h for its name). */
	{ PIDSHIM_BACKEND_SIGNALFD, "signalfd", BACKEND_OPS(signalfd), BF_EVENTFD },
};

#define BACKEND_COUNT (sizeof(backend_table) / sizeof(backend_table[0]))

static inline const struct backend_def *backend_by_id(int id)
{
	for (size_t i = 0; i < BACKEND_COUNT; i++)
		if (backend_table[i].id == id)
			return &backend_table[i];
	return NULL;
}

static inline const struct backend_def *backend_by_name(const char *name)
{
	for (size_t i = 0; i < BACKEND_COUNT; i++)
		if (strcmp(backend_table[i].name, name) == 0)
			return &backend_table[i];
	return NULL;
}

/* Can a kernel with the features in have run backend b? */
static inline bool backend_served(const struct backend_def *b, unsigned int have)
{
	return (b->needs & have) == b->needs;
}

/* The rule: the best backend a kernel with these features serves, or NULL. */
static inline const struct backend_def *backend_best(unsigned int have)
{
	for (size_t i = 0; i < BACKEND_COUNT; i++)
		if (backend_served(&backend_table[i], have))
			return &backend_table[i];
	return NULL;
}

#endif
