/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * personality.h - seccomp "kernel personalities" for `pidshim emulate`.
 *
 * A personality makes the running kernel look like an older one (or like a
 * container runtime's seccomp profile) to the pidfd surface, so a program
 * and the whole selftest suite can be run "as if" on Linux 4.19, 5.1, 5.2,
 * 5.3, 5.4, 5.10, a Docker host answering EPERM, or Android trapping with
 * SIGSYS.  The table of personalities, the kernel facts each one emulates
 * and the backend pidshim must select under it live in personality.c (one
 * table); this header is the only interface to it.  Only the CLI links
 * libseccomp: the library never does.
 */
#ifndef PIDSHIM_CLI_PERSONALITY_H
#define PIDSHIM_CLI_PERSONALITY_H

#include <stddef.h>
#include <stdio.h>

struct personality {
	const char *name;   /* "4.19", "docker-eperm", ... */
	const char *models; /* what it stands for, e.g. "Linux 4.19 (Debian 10)" */
	int backend;	    /* enum pidshim_backend pidshim must select under it */
	unsigned int facts; /* PF_* bits of personality.c: what the filter does */
};

/* The personality called name, or NULL. */
const struct personality *personality_lookup(const char *name);

/* The i-th personality of the table (newest kernel first), or NULL past the end. */
const struct personality *personality_get(size_t i);

/* Print the table (name, expected backend, what the filter does) to f. */
void personality_print_table(FILE *f);

/*
 * personality_apply - install the personality's seccomp filter in the
 * calling process (inherited by children and kept across execve).  Sets
 * no_new_privs, so it works without privileges; synchronises all threads
 * when the kernel allows.  "native" installs nothing.
 *
 * Returns 0, or
 *   -ENOENT  no personality of that name
 *   -EINVAL, -ENOMEM, -EFAULT, ...  libseccomp could not build the filter
 *   -EACCES, -EPERM, -ENOSYS, ...    the kernel refused to load it
 */
int personality_apply(const char *name);

#endif /* PIDSHIM_CLI_PERSONALITY_H */
