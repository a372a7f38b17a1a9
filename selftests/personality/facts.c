// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * facts.c - what a program calling the pidfd syscalls directly sees under
 * a personality: `pidshim emulate 4.19 -- facts` must see ENOSYS from
 * pidfd_open, EINVAL from waitid(P_PIDFD) and clone(CLONE_PIDFD), ENOSYS
 * from clone3, while fork, posix_spawn, threads and system() keep working
 * (glibc falls back from clone3 to clone on ENOSYS); 5.3 must accept
 * pidfd_open(flags 0) and refuse PIDFD_NONBLOCK; docker-eperm answers
 * EPERM; android-sigsys raises SIGSYS.  Expectations come from pmodel.h
 * (kernel history), not from the filter table, and the filters must not
 * take away more than the kernel they emulate lacked (a feature the
 * personality keeps must work, or be skipped only when the running kernel
 * is older than that feature).
 *
 * Usage: facts [PERSONALITY]   (default: $PIDSHIM_PERSONALITY, else native)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pmodel.h"
#include "ptap.h"

#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif
#define T_PIDFD_NONBLOCK	    O_NONBLOCK
#define T_PIDFD_THREAD		    O_EXCL
#define T_PIDFD_SIGNAL_THREAD_GROUP (1u << 1)
/* _IOWR(0xFF, 11, struct pidfd_info) for two struct sizes: the kernel takes either. */
#define T_PIDFD_GET_INFO(size) \
	((3u << 30) | ((unsigned int)(size) << 16) | (0xFFu << 8) | 11u)
#define T_PIDFD_INFO_PID 1ull

extern char **environ;

static const struct pm *pers;

static volatile sig_atomic_t sigsys_count;
static volatile sig_atomic_t sigsys_nr = -1;
static volatile sig_atomic_t sigsys_code;

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	sigsys_count++;
	sigsys_nr = si->si_syscall;
	sigsys_code = si->si_code;
}

/* Count SIGSYS (android-sigsys): the emulated program has its own handler. */
static void catch_sigsys(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSYS, &sa, NULL);
}

/*
 * A trapped syscall returns whatever the register held (its own number on
 * x86-64): report a trap as ENOSYS so a SIGSYS never passes for a pidfd.
 */
static long sys_pidfd_open(pid_t pid, unsigned int flags)
{
	int traps = sigsys_count;
	long rc = syscall(__NR_pidfd_open, pid, flags);

	if (sigsys_count != traps) {
		errno = ENOSYS;
		return -1;
	}
	return rc;
}

/*
 * Judge one call.  "Present" when the personality keeps the feature: the
 * call must succeed (ok_present), or be skipped only if the running
 * kernel predates the feature.  "Missing" when the personality takes it:
 * exactly missing_errno.  blocked_by_profile marks the syscalls that the
 * docker-eperm and android-sigsys profiles refuse with EPERM / SIGSYS.
 */
static int judge(const char *feature, int since, int missing_errno,
		 int blocked_by_profile, int ok_present, long rc, int err, long nr,
		 int traps_before)
{
	if (blocked_by_profile && pers->kind == PM_EPERM) {
		PT_CHECK(rc == -1 && err == EPERM,
			 "%s under docker-eperm: rc %ld errno %s, want EPERM", feature,
			 rc, strerror(err));
		return PT_PASS;
	}
	if (blocked_by_profile && pers->kind == PM_SIGSYS) {
		PT_CHECK(sigsys_count == traps_before + 1,
			 "%s under android-sigsys: %d SIGSYS, want 1", feature,
			 (int)(sigsys_count - traps_before));
		PT_CHECK(sigsys_code == SYS_SECCOMP && sigsys_nr == nr,
			 "SIGSYS si_code %d si_syscall %d, want SYS_SECCOMP and %ld",
			 (int)sigsys_code, (int)sigsys_nr, nr);
		return PT_PASS;
	}
	PT_CHECK(sigsys_count == traps_before, "unexpected SIGSYS for %s", feature);
	if (pers->version < since) {
		PT_CHECK(rc == -1 && err == missing_errno,
			 "%s under %s: rc %ld errno %s, want %s", feature, pers->name, rc,
			 strerror(err), strerror(missing_errno));
		return PT_PASS;
	}
	if (ok_present)
		return PT_PASS;
	if (pt_host_kernel() < since)
		return pt_skip("the running kernel lacks %s (Linux %d.%d)", feature,
			       since / 1000, since % 1000);
	pt_diag("%s under %s: rc %ld errno %s, but the personality keeps it and this "
		"kernel has it",
		feature, pers->name, rc, strerror(err));
	return PT_FAIL;
}

static int case_pidfd_send_signal(void)
{
	int fd = open("/proc/self", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	long rc;
	int err;

	PT_CHECK(fd >= 0, "open /proc/self: %s", strerror(errno));
	catch_sigsys();
	/* Since 5.1, a /proc/<pid> directory fd works as a pidfd. */
	errno = 0;
	rc = syscall(__NR_pidfd_send_signal, fd, 0, NULL, 0);
	err = errno;
	return judge("pidfd_send_signal", 5001, ENOSYS, 1, rc == 0, rc, err,
		     __NR_pidfd_send_signal, 0);
}

static int case_pidfd_send_signal_flags(void)
{
	int fd = open("/proc/self", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	long rc;
	int err;

	PT_CHECK(fd >= 0, "open /proc/self: %s", strerror(errno));
	catch_sigsys();
	errno = 0;
	rc = syscall(__NR_pidfd_send_signal, fd, 0, NULL, T_PIDFD_SIGNAL_THREAD_GROUP);
	err = errno;
	return judge("pidfd_send_signal(PIDFD_SIGNAL_THREAD_GROUP)", 6009,
		     pers->version < 5001 ? ENOSYS : EINVAL, 1, rc == 0, rc, err,
		     __NR_pidfd_send_signal, 0);
}

/* clone() with the flags in the right argument; the pidfd comes back in parent_tid. */
static long raw_clone(unsigned long flags, int *pidfd)
{
#if defined(__s390__)
	return syscall(SYS_clone, 0, flags, pidfd, NULL, 0);
#else
	return syscall(SYS_clone, flags, 0, pidfd, NULL, 0);
#endif
}

static int reap(pid_t pid, int want_code)
{
	int status;

	PT_CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	PT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == want_code,
		 "child status %#x, want exit %d", status, want_code);
	return PT_PASS;
}

static int case_clone_pidfd(void)
{
	int pidfd = -1;
	long rc;
	int err;

	rc = raw_clone(CLONE_PIDFD | SIGCHLD, &pidfd);
	if (rc == 0)
		_exit(5);
	err = errno;
	if (rc > 0) {
		PT_CHECK(reap((pid_t)rc, 5) == PT_PASS, "CLONE_PIDFD child");
		PT_CHECK(pidfd >= 0, "clone(CLONE_PIDFD) returned no pidfd");
	}
	return judge("clone(CLONE_PIDFD)", 5002, EINVAL, 0, rc > 0, rc, err, SYS_clone,
		     0);
}

/* A plain clone() is never filtered: the filter looks at the flags. */
static int case_clone_plain(void)
{
	long rc = raw_clone(SIGCHLD, NULL);

	if (rc == 0)
		_exit(6);
	PT_CHECK(rc > 0, "clone(SIGCHLD): %s", strerror(errno));
	return reap((pid_t)rc, 6);
}

static int case_pidfd_open(void)
{
	long rc;
	int err;

	catch_sigsys();
	errno = 0;
	rc = sys_pidfd_open(getpid(), 0);
	err = errno;
	return judge("pidfd_open", 5003, ENOSYS, 1, rc >= 0, rc, err, __NR_pidfd_open, 0);
}

static int case_pidfd_open_nonblock(void)
{
	long rc;
	int err;

	catch_sigsys();
	errno = 0;
	rc = sys_pidfd_open(getpid(), T_PIDFD_NONBLOCK);
	err = errno;
	if (rc >= 0)
		PT_CHECK(fcntl((int)rc, F_GETFL) & O_NONBLOCK,
			 "PIDFD_NONBLOCK pidfd is blocking");
	return judge("pidfd_open(PIDFD_NONBLOCK)", 5010,
		     pers->version < 5003 ? ENOSYS : EINVAL, 1, rc >= 0, rc, err,
		     __NR_pidfd_open, 0);
}

static int case_pidfd_open_thread(void)
{
	long rc;
	int err;

	catch_sigsys();
	errno = 0;
	rc = sys_pidfd_open((pid_t)syscall(SYS_gettid), T_PIDFD_THREAD);
	err = errno;
	return judge("pidfd_open(PIDFD_THREAD)", 6009,
		     pers->version < 5003 ? ENOSYS : EINVAL, 1, rc >= 0, rc, err,
		     __NR_pidfd_open, 0);
}

struct t_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static int case_clone3(void)
{
	struct t_clone_args args;
	long rc;
	int err;

	memset(&args, 0, sizeof(args));
	args.exit_signal = SIGCHLD;
	catch_sigsys();
	errno = 0;
	rc = syscall(__NR_clone3, &args, sizeof(args));
	if (rc == 0)
		_exit(8);
	err = errno;
	if (rc > 0)
		PT_CHECK(reap((pid_t)rc, 8) == PT_PASS, "clone3 child");
	/* Every profile that lacks clone3 must say ENOSYS: glibc falls back only then. */
	if (pers->kind != PM_KERNEL) {
		PT_CHECK(rc == -1 && err == ENOSYS,
			 "clone3 under %s: rc %ld errno %s, want ENOSYS", pers->name, rc,
			 strerror(err));
		PT_CHECK(sigsys_count == 0, "clone3 raised SIGSYS");
		return PT_PASS;
	}
	return judge("clone3", 5003, ENOSYS, 0, rc > 0, rc, err, __NR_clone3, 0);
}

static int case_waitid_pidfd(void)
{
	siginfo_t si;
	pid_t child;
	long pidfd;
	int fd, rc, err;

	catch_sigsys();
	child = fork();
	if (child == 0)
		_exit(7);
	PT_CHECK(child > 0, "fork: %s", strerror(errno));
	pidfd = sys_pidfd_open(child, 0);
	if (pidfd < 0) {
		/* No pidfd here: a waitid(P_PIDFD) that exists says EBADF for a
		 * non-pidfd. */
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		errno = 0;
		rc = waitid((idtype_t)P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG);
		err = errno;
		PT_CHECK(reap(child, 7) == PT_PASS, "child");
		return judge("waitid(P_PIDFD)", 5004, EINVAL, 0, rc == -1 && err == EBADF,
			     rc, err, SYS_waitid, sigsys_count);
	}
	memset(&si, 0, sizeof(si));
	errno = 0;
	rc = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED);
	err = errno;
	if (rc == 0) {
		PT_CHECK(si.si_pid == child && si.si_code == CLD_EXITED &&
				 si.si_status == 7,
			 "waitid(P_PIDFD) gave pid %d code %d status %d", si.si_pid,
			 si.si_code, si.si_status);
	} else {
		PT_CHECK(reap(child, 7) == PT_PASS, "child");
	}
	return judge("waitid(P_PIDFD)", 5004, EINVAL, 0, rc == 0, rc, err, SYS_waitid, 0);
}

/* waitid(P_PID) is what pidfd-poll and signalfd rely on: never filtered. */
static int case_waitid_pid(void)
{
	siginfo_t si;
	pid_t child = fork();

	if (child == 0)
		_exit(9);
	PT_CHECK(child > 0, "fork: %s", strerror(errno));
	memset(&si, 0, sizeof(si));
	PT_CHECK(waitid(P_PID, (id_t)child, &si, WEXITED) == 0, "waitid(P_PID): %s",
		 strerror(errno));
	PT_CHECK(si.si_pid == child && si.si_status == 9, "waitid(P_PID) status %d",
		 si.si_status);
	return PT_PASS;
}

static int case_pidfd_getfd(void)
{
	long pidfd, rc;
	int err, traps;

	catch_sigsys();
	pidfd = sys_pidfd_open(getpid(), 0);
	traps = sigsys_count;
	errno = 0;
	if (pidfd >= 0) {
		rc = syscall(__NR_pidfd_getfd, pidfd, 1, 0);
		err = errno;
		return judge("pidfd_getfd", 5006, ENOSYS, 1, rc >= 0, rc, err,
			     __NR_pidfd_getfd, traps);
	}
	/* No pidfd to give it: an existing pidfd_getfd says EBADF for fd -1. */
	rc = syscall(__NR_pidfd_getfd, -1, 1, 0);
	err = errno;
	return judge("pidfd_getfd", 5006, ENOSYS, 1, rc == -1 && err == EBADF, rc, err,
		     __NR_pidfd_getfd, traps);
}

/* A pidfd to this process by any means the personality leaves, or -1. */
static int some_pidfd(pid_t *child)
{
	long fd = sys_pidfd_open(getpid(), 0);
	int pidfd = -1;
	long rc;

	*child = 0;
	if (fd >= 0)
		return (int)fd;
	rc = raw_clone(CLONE_PIDFD | SIGCHLD, &pidfd);
	if (rc == 0) {
		pause();
		_exit(0);
	}
	if (rc > 0)
		*child = (pid_t)rc;
	return rc > 0 ? pidfd : -1;
}

/* struct pidfd_info of Linux 6.13, padded: the ioctl copies at most the size asked. */
struct t_pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
	uint8_t pad[128];
};

static int get_info_size(unsigned int size)
{
	struct t_pidfd_info info;
	pid_t child = 0, want;
	int fd, rc, err, r, traps;

	catch_sigsys();
	fd = some_pidfd(&child);
	traps = sigsys_count;
	want = child ? child : getpid();
	if (fd < 0) {
		/* Linux < 5.2 has no pidfd at all: the ioctl on another fd is ENOTTY. */
		fd = open("/proc/self", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		PT_CHECK(pers->kind == PM_KERNEL && pers->version < 5002,
			 "no pidfd could be made under %s", pers->name);
	}
	memset(&info, 0, sizeof(info));
	info.mask = T_PIDFD_INFO_PID;
	errno = 0;
	rc = ioctl(fd, T_PIDFD_GET_INFO(size), &info);
	err = errno;
	if (child) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	r = judge("ioctl(PIDFD_GET_INFO)", 6013, ENOTTY, 0,
		  rc == 0 && (pid_t)info.pid == want, rc, err, SYS_ioctl, traps);
	if (r == PT_PASS && rc == 0)
		pt_diag("PIDFD_GET_INFO (%u bytes) reported pid %u", size, info.pid);
	return r;
}

static int case_pidfd_get_info(void)
{
	return get_info_size(64);
}

/* The size is a version, not part of the request: a bigger struct must be filtered too.
 */
static int case_pidfd_get_info_v1(void)
{
	return get_info_size(72);
}

/* Other ioctls pass: the filter compares type and number, not just the number. */
static int case_other_ioctl(void)
{
	int p[2], n = -1;

	PT_CHECK(pipe(p) == 0, "pipe");
	PT_CHECK(write(p[1], "xy", 2) == 2, "write");
	PT_CHECK(ioctl(p[0], FIONREAD, &n) == 0 && n == 2, "FIONREAD: %s, n %d",
		 strerror(errno), n);
	return PT_PASS;
}

static void *thread_fn(void *arg)
{
	return arg;
}

/* glibc's clone3 -> clone fallback keeps threads, posix_spawn and system() working. */
static int case_glibc_fallbacks(void)
{
	char *argv[] = { "sh", "-c", "exit 4", NULL };
	pthread_t t;
	void *res = NULL;
	pid_t pid;
	int rc;

	PT_CHECK(pthread_create(&t, NULL, thread_fn, (void *)0x5) == 0, "pthread_create");
	PT_CHECK(pthread_join(t, &res) == 0 && res == (void *)0x5, "pthread_join");
	rc = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ);
	PT_CHECK(rc == 0, "posix_spawn: %s", strerror(rc));
	PT_CHECK(reap(pid, 4) == PT_PASS, "posix_spawn child");
	pid = fork();
	if (pid == 0)
		_exit(3);
	PT_CHECK(pid > 0 && reap(pid, 3) == PT_PASS, "fork");
	rc = system("exit 3");
	PT_CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 3, "system: %#x", rc);
	PT_CHECK(sigsys_count == 0, "SIGSYS");
	return PT_PASS;
}

static const struct pt_case cases[] = {
	{ "pidfd_send_signal", case_pidfd_send_signal },
	{ "pidfd_send_signal flags (6.9)", case_pidfd_send_signal_flags },
	{ "clone(CLONE_PIDFD)", case_clone_pidfd },
	{ "plain clone() unaffected", case_clone_plain },
	{ "pidfd_open", case_pidfd_open },
	{ "pidfd_open(PIDFD_NONBLOCK)", case_pidfd_open_nonblock },
	{ "pidfd_open(PIDFD_THREAD)", case_pidfd_open_thread },
	{ "clone3", case_clone3 },
	{ "waitid(P_PIDFD)", case_waitid_pidfd },
	{ "waitid(P_PID) unaffected", case_waitid_pid },
	{ "pidfd_getfd", case_pidfd_getfd },
	{ "ioctl(PIDFD_GET_INFO) 64-byte struct", case_pidfd_get_info },
	{ "ioctl(PIDFD_GET_INFO) 72-byte struct", case_pidfd_get_info_v1 },
	{ "other ioctls unaffected", case_other_ioctl },
	{ "threads, posix_spawn, fork, system() work", case_glibc_fallbacks },
};

int main(int argc, char **argv)
{
	const char *name = pt_personality(argc, argv);

	pers = pm_lookup(name);
	if (!pers) {
		fprintf(stderr, "facts: unknown personality '%s'\n", name);
		return 2;
	}
	return pt_run(cases, sizeof(cases) / sizeof(cases[0]), 20);
}
