/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pmodel.h - what the personality checks expect of each personality,
 * written down independently of shim/cli/personality.c so that the two
 * tables check each other: a personality named after a kernel version
 * lacks every feature that came later (the versions below are from the
 * kernel's history, not from the filter table), "docker-eperm" and
 * "android-sigsys" model a new kernel whose pidfd syscalls a seccomp
 * profile refuses, and the expected backend is the one pidshim(7)
 * PERSONALITIES names.
 */
#ifndef PIDSHIM_PMODEL_H
#define PIDSHIM_PMODEL_H

#include <stdlib.h>
#include <string.h>

#include "pidshim.h"

#define PM_NEWEST 999999

enum pm_kind { PM_KERNEL, PM_EPERM, PM_SIGSYS };

struct pm {
	const char *name;
	int version; /* major * 1000 + minor; PM_NEWEST: not limited */
	enum pm_kind kind;
};

static const struct pm pm_table[] = {
	{ "native", PM_NEWEST, PM_KERNEL },
	{ "5.10", 5010, PM_KERNEL },
	{ "5.4", 5004, PM_KERNEL },
	{ "5.3", 5003, PM_KERNEL },
	{ "5.2", 5002, PM_KERNEL },
	{ "5.1", 5001, PM_KERNEL },
	{ "4.19", 4019, PM_KERNEL },
	{ "docker-eperm", PM_NEWEST, PM_EPERM },
	{ "android-sigsys", PM_NEWEST, PM_SIGSYS },
};

static inline const struct pm *pm_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(pm_table) / sizeof(pm_table[0]); i++)
		if (!strcmp(pm_table[i].name, name))
			return &pm_table[i];
	return NULL;
}

/* The backend pidshim must pick: PIDSHIM_EXPECT_BACKEND if set, else the
 * one pidshim(7) PERSONALITIES names. */
static inline int pm_expected_backend(const struct pm *p)
{
	const char *e = getenv("PIDSHIM_EXPECT_BACKEND");

	if (e && *e) {
		for (int b = PIDSHIM_BACKEND_PIDFD; b <= PIDSHIM_BACKEND_SIGNALFD; b++)
			if (!strcmp(e, pidshim_backend_name(b)))
				return b;
		return -1;
	}
	if (p->kind != PM_KERNEL || p->version < 5003)
		return PIDSHIM_BACKEND_SIGNALFD;
	return p->version == 5003 ? PIDSHIM_BACKEND_PIDFD_POLL : PIDSHIM_BACKEND_PIDFD;
}

/* Can the personality serve a forced backend?  pidfd needs 5.4, pidfd-poll 5.3. */
static inline int pm_can_serve(const struct pm *p, int backend)
{
	switch (backend) {
	case PIDSHIM_BACKEND_PIDFD:
		return p->kind == PM_KERNEL && p->version >= 5004;
	case PIDSHIM_BACKEND_PIDFD_POLL:
		return p->kind == PM_KERNEL && p->version >= 5003;
	case PIDSHIM_BACKEND_SIGNALFD:
		return 1;
	}
	return 0;
}

#endif /* PIDSHIM_PMODEL_H */
