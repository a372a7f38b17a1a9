/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pidfd_features.h - the one table of pidfd-related kernel features that
 * `pidshim probe` reports: each feature's stable name (used as-is in the
 * JSON output), the kernel version that introduced it, and a probe that
 * tests the behaviour by really using it.  The probes never read uname:
 * backports, seccomp filters and emulators (qemu-user, gVisor) make the
 * version string lie in both directions.  (Not called features.h: that
 * name would shadow glibc's <features.h> under -Ishim/cli.)
 */
#ifndef PIDSHIM_CLI_PIDFD_FEATURES_H
#define PIDSHIM_CLI_PIDFD_FEATURES_H

#include <stdbool.h>
#include <stddef.h>

/* The err value recorded when a SECCOMP_RET_TRAP filter raised SIGSYS. */
#define FEATURE_ERR_SIGSYS (-1)

struct feature_result {
	bool found;
	/*
	 * Why it is missing: an errno value (ENOSYS, EPERM, EACCES, EINVAL,
	 * ENOTTY ...), FEATURE_ERR_SIGSYS, or 0 when the call "worked" but
	 * did not behave (see note).
	 */
	int err;
	/* Static text: what was seen when it did not behave, or NULL. */
	const char *note;
};

struct feature {
	const char *name;  /* stable identifier: "pidfd_open", "waitid_pidfd" ... */
	const char *label; /* as a human writes it: "waitid(P_PIDFD)" */
	int major, minor;  /* kernel version that introduced it */
	unsigned int backend_feature; /* its bit in backends.h, or 0 */
	void (*probe)(struct feature_result *r);
};

/* The table, oldest feature first. */
extern const struct feature cli_features[];
extern const size_t cli_n_features;

/*
 * Run every probe, filling results[cli_n_features].  Installs a
 * temporary SIGSYS handler (restoring the old one and the signal mask
 * afterwards) so a trapping filter shows up as "missing", not as a crash.
 * Forks short-lived helper children and reaps exactly those.
 */
void features_probe_all(struct feature_result *results);

/* Probe the single feature called name (with the same guards). */
bool features_probe_one(const char *name);

/* The index of the feature called name, or -1. */
int features_index(const char *name);

#endif /* PIDSHIM_CLI_PIDFD_FEATURES_H */
