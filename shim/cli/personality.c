// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * personality.c - the table of kernel personalities and the libseccomp
 * filters that emulate them (pidshim(7) PERSONALITIES).
 *
 * Two tables: facts[] lists each kernel fact a filter can emulate (which
 * syscall, for which argument values, answers what, and which kernel
 * version changed it), and personalities[] lists each personality with the
 * facts it emulates and the backend pidshim must select under it.  The
 * filters only take features away (default action ALLOW): a personality
 * never adds what the running kernel lacks.  Syscall numbers and flag
 * values come from the library's kabi.h, since the point is to run on and
 * emulate systems whose headers are older than the features.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#include <seccomp.h>

#include "pidshim.h"
#include "personality.h"

/* Syscall numbers and flags for a libseccomp too old to know the names. */
#include "kabi.h"

/*
 * PIDFD_GET_INFO is extensible (kabi.h): the kernel takes the struct size
 * from the request, so the filter compares direction, type and number and
 * ignores the size bits.
 */
#ifdef _IOC_SIZEMASK
#define PERS_IOC_SIZE_MASK ((uint32_t)_IOC_SIZEMASK << _IOC_SIZESHIFT)
#else
#define PERS_IOC_SIZE_MASK (((1u << 14) - 1) << 16) /* asm-generic/ioctl.h */
#endif
#define PERS_PIDFD_GET_INFO_ANY_SIZE ((uint32_t)PIDSHIM_PIDFD_GET_INFO_SIZED(0))

/*
 * clone()'s flags are its first argument, except on the CLONE_BACKWARDS2
 * architectures (s390, cris) where the stack comes first.
 */
#if defined(__s390__) || defined(__CRIS__)
#define CLONE_FLAGS_ARG 1
#else
#define CLONE_FLAGS_ARG 0
#endif

enum cond {
	COND_ALWAYS,  /* every call */
	COND_EQ32,    /* (uint32_t)arg == value */
	COND_ANY_BIT, /* any bit of value set in (uint32_t)arg or arg */
	COND_MASKED,  /* (arg & mask) == value */
};

/* The facts a filter can emulate; one bit each in personality.facts. */
enum {
	PF_NO_PIDFD_SEND_SIGNAL = 1u << 0,
	PF_NO_CLONE_PIDFD = 1u << 1,
	PF_NO_PIDFD_OPEN = 1u << 2,
	PF_NO_CLONE3 = 1u << 3,
	PF_PIDFD_OPEN_NO_FLAGS = 1u << 4,
	PF_NO_WAITID_PIDFD = 1u << 5,
	PF_NO_PIDFD_GETFD = 1u << 6,
	PF_NO_PIDFD_THREAD = 1u << 7,
	PF_NO_SEND_SIGNAL_FLAGS = 1u << 8,
	PF_NO_PIDFD_GET_INFO = 1u << 9,
	PF_EPERM_PIDFD = 1u << 10,
	PF_TRAP_PIDFD = 1u << 11,
};

struct fact_rule {
	const char *syscall; /* libseccomp name */
	long fallback_nr;    /* native number if libseccomp does not know the name */
	enum cond cond;
	unsigned int arg;
	uint64_t mask;
	uint64_t value;
};

struct fact {
	unsigned int bit;
	const char *since; /* the kernel that brought the feature */
	const char *what;  /* for --list */
	int err;	   /* errno to answer; 0: SECCOMP_RET_TRAP (SIGSYS) */
	struct fact_rule rules[3];
};

#define RULE_ALWAYS(name)                                \
	{                                                \
#name, __NR_##name, COND_ALWAYS, 0, 0, 0 \
	}

/*
 * What each kernel version lacks, as the kernel itself answers: a missing
 * syscall is ENOSYS, an unknown waitid idtype or flag EINVAL, an unknown
 * ioctl ENOTTY.  clone() before 5.2 silently ignored bit 0x1000 (the
 * retired CLONE_PID), but the personalities answer EINVAL so that a
 * probe which trusts the out-parameter without checking it is still
 * caught by the ENOSYS/EINVAL path.
 */
static const struct fact facts[] = {
	{ PF_NO_PIDFD_SEND_SIGNAL,
	  "5.1",
	  "pidfd_send_signal -> ENOSYS",
	  ENOSYS,
	  { RULE_ALWAYS(pidfd_send_signal) } },
	{ PF_NO_CLONE_PIDFD,
	  "5.2",
	  "clone(CLONE_PIDFD) -> EINVAL",
	  EINVAL,
	  { { "clone", __NR_clone, COND_MASKED, CLONE_FLAGS_ARG, CLONE_PIDFD,
	      CLONE_PIDFD } } },
	{ PF_NO_PIDFD_OPEN,
	  "5.3",
	  "pidfd_open -> ENOSYS",
	  ENOSYS,
	  { RULE_ALWAYS(pidfd_open) } },
	/* glibc >= 2.34 falls back to clone() only on ENOSYS: never EPERM or a trap. */
	{ PF_NO_CLONE3, "5.3", "clone3 -> ENOSYS", ENOSYS, { RULE_ALWAYS(clone3) } },
	/* 5.3 and 5.4 reject every pidfd_open flag; PIDFD_NONBLOCK came in 5.10. */
	{ PF_PIDFD_OPEN_NO_FLAGS,
	  "5.10",
	  "pidfd_open(flags != 0, e.g. PIDFD_NONBLOCK) -> EINVAL",
	  EINVAL,
	  { { "pidfd_open", __NR_pidfd_open, COND_ANY_BIT, 1, 0, 0xffffffffu } } },
	{ PF_NO_WAITID_PIDFD,
	  "5.4",
	  "waitid(P_PIDFD) -> EINVAL",
	  EINVAL,
	  { { "waitid", __NR_waitid, COND_EQ32, 0, 0, P_PIDFD } } },
	{ PF_NO_PIDFD_GETFD,
	  "5.6",
	  "pidfd_getfd -> ENOSYS",
	  ENOSYS,
	  { RULE_ALWAYS(pidfd_getfd) } },
	{ PF_NO_PIDFD_THREAD,
	  "6.9",
	  "pidfd_open(PIDFD_THREAD) -> EINVAL",
	  EINVAL,
	  { { "pidfd_open", __NR_pidfd_open, COND_ANY_BIT, 1, 0, PIDFD_THREAD } } },
	/* PIDFD_SIGNAL_THREAD/_THREAD_GROUP/_PROCESS_GROUP came with 6.9 too. */
	{ PF_NO_SEND_SIGNAL_FLAGS,
	  "6.9",
	  "pidfd_send_signal(flags != 0) -> EINVAL",
	  EINVAL,
	  { { "pidfd_send_signal", __NR_pidfd_send_signal, COND_ANY_BIT, 3, 0,
	      0xffffffffu } } },
	{ PF_NO_PIDFD_GET_INFO,
	  "6.13",
	  "ioctl(PIDFD_GET_INFO) -> ENOTTY",
	  ENOTTY,
	  { { "ioctl", __NR_ioctl, COND_MASKED, 1, 0xffffffffu & ~PERS_IOC_SIZE_MASK,
	      PERS_PIDFD_GET_INFO_ANY_SIZE } } },
	/* Docker < 20.10 (libseccomp too old to know the pidfd syscalls). */
	{ PF_EPERM_PIDFD,
	  NULL,
	  "pidfd_open, pidfd_send_signal, pidfd_getfd -> EPERM",
	  EPERM,
	  { RULE_ALWAYS(pidfd_open), RULE_ALWAYS(pidfd_send_signal),
	    RULE_ALWAYS(pidfd_getfd) } },
	/* Android's app filter kills or traps syscalls it does not list. */
	{ PF_TRAP_PIDFD,
	  NULL,
	  "pidfd_open, pidfd_send_signal, pidfd_getfd -> SIGSYS (RET_TRAP)",
	  0,
	  { RULE_ALWAYS(pidfd_open), RULE_ALWAYS(pidfd_send_signal),
	    RULE_ALWAYS(pidfd_getfd) } },
};

/* What every kernel before 6.13, 6.9 and 5.10 lacks, for the pidfd kernels. */
#define PF_PRE_6_13 PF_NO_PIDFD_GET_INFO
#define PF_PRE_6_9  (PF_PRE_6_13 | PF_NO_PIDFD_THREAD | PF_NO_SEND_SIGNAL_FLAGS)
#define PF_PRE_5_6  (PF_PRE_6_13 | PF_NO_SEND_SIGNAL_FLAGS | PF_NO_PIDFD_GETFD)

/*
 * THE table of personalities (pidshim(7) PERSONALITIES), newest first.  The
 * backend is what pidshim must pick under the personality on any kernel
 * that is at least as new as the one emulated.
 */
static const struct personality personalities[] = {
	{ "native", "the running kernel, no filter", PIDSHIM_BACKEND_PIDFD, 0 },
	{ "5.10", "Linux 5.10 (Debian 11, Android 12 GKI)", PIDSHIM_BACKEND_PIDFD,
	  PF_PRE_6_9 },
	{ "5.4", "Linux 5.4 (Ubuntu 20.04)", PIDSHIM_BACKEND_PIDFD,
	  PF_PRE_5_6 | PF_PIDFD_OPEN_NO_FLAGS },
	{ "5.3", "Linux 5.3 (first pidfd_open, no waitid(P_PIDFD))",
	  PIDSHIM_BACKEND_PIDFD_POLL,
	  PF_PRE_5_6 | PF_PIDFD_OPEN_NO_FLAGS | PF_NO_WAITID_PIDFD },
	{ "5.2", "Linux 5.2 (CLONE_PIDFD, no pidfd_open)", PIDSHIM_BACKEND_SIGNALFD,
	  PF_PRE_5_6 | PF_NO_PIDFD_OPEN | PF_NO_CLONE3 | PF_NO_WAITID_PIDFD },
	{ "5.1", "Linux 5.1 (pidfd_send_signal only)", PIDSHIM_BACKEND_SIGNALFD,
	  PF_PRE_5_6 | PF_NO_PIDFD_OPEN | PF_NO_CLONE3 | PF_NO_WAITID_PIDFD |
		  PF_NO_CLONE_PIDFD },
	{ "4.19", "Linux 4.19 (Debian 10): no pidfd at all", PIDSHIM_BACKEND_SIGNALFD,
	  PF_NO_PIDFD_SEND_SIGNAL | PF_NO_CLONE_PIDFD | PF_NO_PIDFD_OPEN | PF_NO_CLONE3 |
		  PF_NO_WAITID_PIDFD | PF_NO_PIDFD_GETFD | PF_NO_PIDFD_GET_INFO },
	{ "docker-eperm", "a Docker < 20.10 seccomp profile on a new kernel",
	  PIDSHIM_BACKEND_SIGNALFD, PF_EPERM_PIDFD | PF_NO_CLONE3 },
	{ "android-sigsys", "an Android app seccomp filter trapping unknown syscalls",
	  PIDSHIM_BACKEND_SIGNALFD, PF_TRAP_PIDFD | PF_NO_CLONE3 },
};

#define N_PERSONALITIES (sizeof(personalities) / sizeof(personalities[0]))
#define N_FACTS		(sizeof(facts) / sizeof(facts[0]))

const struct personality *personality_get(size_t i)
{
	return i < N_PERSONALITIES ? &personalities[i] : NULL;
}

const struct personality *personality_lookup(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < N_PERSONALITIES; i++)
		if (strcmp(personalities[i].name, name) == 0)
			return &personalities[i];
	return NULL;
}

void personality_print_table(FILE *f)
{
	fprintf(f, "%-15s %-11s %s\n", "NAME", "BACKEND",
		"EMULATES, AND WHAT THE FILTER DOES");
	for (size_t i = 0; i < N_PERSONALITIES; i++) {
		const struct personality *p = &personalities[i];

		fprintf(f, "%-15s %-11s %s\n", p->name, pidshim_backend_name(p->backend),
			p->models);
		for (size_t j = 0; j < N_FACTS; j++) {
			if (!(p->facts & facts[j].bit))
				continue;
			if (facts[j].since)
				fprintf(f, "%-27s  %s  (Linux %s changed this)\n", "",
					facts[j].what, facts[j].since);
			else
				fprintf(f, "%-27s  %s\n", "", facts[j].what);
		}
	}
}

/* The native number of a syscall, by libseccomp's name if it knows it. */
static int resolve(const struct fact_rule *r, int *known)
{
	int nr = seccomp_syscall_resolve_name(r->syscall);

	if (nr != __NR_SCMP_ERROR)
		return nr;
	*known = 0;
	return (int)r->fallback_nr;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, const struct fact_rule *r,
		    int nr)
{
	int rc = 0;

	switch (r->cond) {
	case COND_ALWAYS:
		return seccomp_rule_add(ctx, action, nr, 0);
	case COND_EQ32:
		/* Compare the low 32 bits only, as the kernel does for an int argument.
		 */
		return seccomp_rule_add(
			ctx, action, nr, 1,
			SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ, 0xffffffffu, r->value));
	case COND_MASKED:
		return seccomp_rule_add(
			ctx, action, nr, 1,
			SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ, r->mask, r->value));
	case COND_ANY_BIT:
		/*
		 * BPF has no "masked not-equal": "any of these bits" is one rule
		 * per bit, which libseccomp ORs together.  A flags argument is an
		 * unsigned int to the kernel, so bits 32-63 of the register are
		 * never looked at.
		 */
		for (unsigned int b = 0; b < 32 && rc == 0; b++) {
			uint64_t bit = 1ull << b;

			if (r->value & bit)
				rc = seccomp_rule_add(
					ctx, action, nr, 1,
					SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ, bit, bit));
		}
		return rc;
	}
	return -EINVAL;
}

/*
 * Add the architectures whose binaries the native one can exec (i386 and
 * x32 on x86-64, arm on arm64) so a 32-bit program sees the same old
 * kernel instead of being killed by the "bad architecture" action.  A
 * 32-bit build may run on a 64-bit kernel, whose programs its command can
 * exec too (an i386 pidshim starting /bin/sh on amd64).
 */
static void add_compat_arches(scmp_filter_ctx ctx)
{
	static const uint32_t compat[] = {
#if defined(__x86_64__)
		SCMP_ARCH_X86,
		SCMP_ARCH_X32,
#elif defined(__i386__)
		SCMP_ARCH_X86_64,
		SCMP_ARCH_X32,
#elif defined(__aarch64__)
		SCMP_ARCH_ARM,
#elif defined(__powerpc64__) && !defined(__LITTLE_ENDIAN__)
		SCMP_ARCH_PPC,
#elif defined(__s390x__)
		SCMP_ARCH_S390,
#endif
		0,
	};

	/* A compat ABI the filter cannot add is simply not filtered for. */
	for (size_t i = 0; compat[i]; i++)
		(void)seccomp_arch_add(ctx, compat[i]);
}

int personality_apply(const char *name)
{
	const struct personality *p = personality_lookup(name);
	scmp_filter_ctx ctx;
	int known = 1;
	int rc = 0;

	if (!p)
		return -ENOENT;
	if (!p->facts)
		return 0;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;

	/* Return the kernel's errno from seccomp_load(), not -ECANCELED. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	/* A multi-threaded caller gets the filter in every thread. */
	if (seccomp_api_get() >= 2)
		(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);

	/* Only translate to compat ABIs when libseccomp knows every syscall by name. */
	for (size_t i = 0; i < N_FACTS; i++)
		for (size_t j = 0; j < 3 && facts[i].rules[j].syscall; j++)
			if (p->facts & facts[i].bit)
				resolve(&facts[i].rules[j], &known);
	if (known)
		add_compat_arches(ctx);

	for (size_t i = 0; i < N_FACTS && rc == 0; i++) {
		const struct fact *f = &facts[i];
		uint32_t action =
			f->err ? SCMP_ACT_ERRNO((uint32_t)f->err) : SCMP_ACT_TRAP;

		if (!(p->facts & f->bit))
			continue;
		for (size_t j = 0; j < 3 && f->rules[j].syscall && rc == 0; j++) {
			int unused = 1;

			rc = add_rule(ctx, action, &f->rules[j],
				      resolve(&f->rules[j], &unused));
		}
	}
	if (rc == 0) {
		errno = 0;
		rc = seccomp_load(ctx);
		/*
		 * libseccomp 2.5.4 folds an errno it does not document (EPERM
		 * from a sandbox that refuses seccomp, say) into -EFAULT even
		 * with SYSRAWRC set; errno still holds the kernel's answer.
		 */
		if (rc == -EFAULT && errno > 0)
			rc = -errno;
	}
	seccomp_release(ctx);
	return rc > 0 ? -rc : rc;
}
