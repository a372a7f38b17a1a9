// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pidfd_features.c - the feature table of `pidshim probe` and one probe per
 * feature.  Each probe exercises the feature for real against a helper
 * child (a fork that waits for its pipe to close, then exits 7) and
 * checks the result, because "the syscall returned >= 0" is not enough:
 * kernels before 5.2 silently ignore the CLONE_PIDFD bit, pidfds of 5.2
 * are not pollable, and qemu-user has had pidfd_open without CLONE_PIDFD.
 * ENOSYS, EPERM, EACCES, EINVAL, ENOTTY and a SIGSYS from a
 * SECCOMP_RET_TRAP filter all mean "missing"; no probe may crash or hang.
 * Probes that need a pidfd take it from pidfd_open, or from
 * clone(CLONE_PIDFD) when pidfd_open is blocked, so one blocked syscall
 * does not hide features that still work.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kabi.h"
#include "backends.h"
#include "pidfd_features.h"
#include "sigsys-guard.h"

/* The ioctl in its 6.13 size: newer kernels take it too, and a
 * 6.13 kernel knows no larger one. */
#define PIDFD_GET_INFO_V0 PIDSHIM_PIDFD_GET_INFO_SIZED(PIDSHIM_PIDFD_INFO_SIZE_VER0)

#define HELPER_EXIT_CODE 7

/* guarded_syscall() in the CLI's terms: -1 with *err set to the errno
 * value or FEATURE_ERR_SIGSYS, else the result with *err 0. */
static long guarded(int *err, long nr, long a, long b, long c, long d, long e)
{
	long r = guarded_syscall(nr, a, b, c, d, e);

	if (r == SYSCALL_TRAPPED)
		*err = FEATURE_ERR_SIGSYS;
	else
		*err = r < 0 ? (int)-r : 0;
	return r < 0 ? -1 : r;
}

/* clone(flags | SIGCHLD) without a new stack, like fork; the parent tid
 * pointer (where CLONE_PIDFD stores the fd) is the third argument except
 * on s390, whose first two arguments are swapped. */
static long clone_raw(int *err, unsigned long flags, int *pidfd)
{
#if defined(__s390__) || defined(__s390x__)
	return guarded(err, SYS_clone, 0, (long)(flags | SIGCHLD), (long)pidfd, 0, 0);
#else
	return guarded(err, SYS_clone, (long)(flags | SIGCHLD), 0, (long)pidfd, 0, 0);
#endif
}

static void reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static void fail(struct feature_result *r, int err, const char *note)
{
	r->found = false;
	r->err = err;
	r->note = note;
}

struct helper {
	pid_t pid;
	int pidfd;
	int wfd;     /* closing it makes the helper exit */
	int rfd_num; /* the helper's copy of the pipe's read end */
	int reaped;
};

static void helper_child(int rfd, int wfd)
{
	char c;

	close(wfd);
	while (read(rfd, &c, 1) < 0 && errno == EINTR)
		;
	_exit(HELPER_EXIT_CODE);
}

/* Start a helper; with via_clone, through clone(CLONE_PIDFD) (h->pidfd set). */
static int helper_start(struct helper *h, int via_clone, int *err)
{
	int p[2], pidfd = -1;
	long pid;

	h->pid = -1;
	h->pidfd = -1;
	h->wfd = -1;
	h->reaped = 0;
	if (pipe2(p, O_CLOEXEC) < 0) {
		*err = errno;
		return -1;
	}
	if (via_clone) {
		pid = clone_raw(err, CLONE_PIDFD, &pidfd);
	} else {
		pid = fork();
		*err = pid < 0 ? errno : 0;
	}
	if (pid == 0)
		helper_child(p[0], p[1]);
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		return -1;
	}
	h->pid = (pid_t)pid;
	h->wfd = p[1];
	h->rfd_num = p[0];
	h->pidfd = pidfd;
	if (via_clone && pidfd < 0) {
		/* Pre-5.2 kernels ignore the bit: a child but no pidfd. */
		*err = 0;
		return -1;
	}
	return 0;
}

/* Let the helper exit (it stays a zombie until reaped). */
static void helper_release(struct helper *h)
{
	if (h->wfd >= 0)
		close(h->wfd);
	h->wfd = -1;
}

static void helper_stop(struct helper *h)
{
	helper_release(h);
	if (h->pid > 0 && !h->reaped)
		reap(h->pid);
	h->reaped = 1;
	if (h->pidfd >= 0)
		close(h->pidfd);
	h->pidfd = -1;
}

/* A helper with a pidfd from pidfd_open, else from clone(CLONE_PIDFD). */
static int helper_start_pidfd(struct helper *h, int *err)
{
	int open_err;

	if (helper_start(h, 0, err) < 0)
		return -1;
	h->pidfd = (int)guarded(err, SYS_pidfd_open, h->pid, 0, 0, 0, 0);
	if (h->pidfd >= 0)
		return 0;
	open_err = *err;
	helper_stop(h);
	if (helper_start(h, 1, err) == 0)
		return 0;
	helper_stop(h);
	*err = open_err;
	return -1;
}

static const char no_pidfd[] =
	"no pidfd to test with (pidfd_open and clone(CLONE_PIDFD) both fail)";

static void probe_pidfd_send_signal(struct feature_result *r)
{
	int err, fd;

	/* 5.1 took /proc/<pid> directory fds: no pidfd_open needed. */
	fd = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fd = (int)guarded(&err, SYS_pidfd_open, getpid(), 0, 0, 0, 0);
	if (fd < 0) {
		fail(r, ENOENT, "neither /proc nor pidfd_open gives a process fd");
		return;
	}
	if (guarded(&err, SYS_pidfd_send_signal, fd, 0, 0, 0, 0) == 0)
		r->found = true;
	else
		fail(r, err, NULL);
	close(fd);
}

static void probe_clone_pidfd(struct feature_result *r)
{
	int err, pidfd = -1;
	long pid = clone_raw(&err, CLONE_PIDFD, &pidfd);

	if (pid == 0)
		_exit(0);
	if (pid < 0) {
		fail(r, err, NULL);
		return;
	}
	reap((pid_t)pid);
	if (pidfd < 0) {
		fail(r, 0, "the kernel ignored CLONE_PIDFD (a child but no pidfd)");
		return;
	}
	close(pidfd);
	r->found = true;
}

static void probe_pidfd_open(struct feature_result *r)
{
	struct helper h;
	int err, fd;

	if (helper_start(&h, 0, &err) < 0) {
		fail(r, err, "fork failed");
		return;
	}
	fd = (int)guarded(&err, SYS_pidfd_open, h.pid, 0, 0, 0, 0);
	if (fd >= 0) {
		r->found = true;
		close(fd);
	} else {
		fail(r, err, NULL);
	}
	helper_stop(&h);
}

static void probe_pidfd_poll(struct feature_result *r)
{
	struct pollfd pfd;
	struct helper h;
	int err, n;

	if (helper_start_pidfd(&h, &err) < 0) {
		fail(r, err, no_pidfd);
		return;
	}
	pfd.fd = h.pidfd;
	pfd.events = POLLIN;
	n = poll(&pfd, 1, 0);
	if (n != 0) {
		/* 5.2's pidfds have no poll method: always "readable". */
		fail(r, 0, "pidfd readable while the process still runs");
		helper_stop(&h);
		return;
	}
	helper_release(&h);
	do
		n = poll(&pfd, 1, 5000);
	while (n < 0 && errno == EINTR);
	if (n == 1 && (pfd.revents & POLLIN))
		r->found = true;
	else
		fail(r, n < 0 ? errno : 0, "pidfd not readable within 5 s of the exit");
	helper_stop(&h);
}

static void probe_clone3(struct feature_result *r)
{
	struct pidshim_clone_args args;
	int err;
	long pid;

	memset(&args, 0, sizeof(args));
	args.exit_signal = SIGCHLD;
	pid = guarded(&err, SYS_clone3, (long)&args, (long)sizeof(args), 0, 0, 0);
	if (pid == 0)
		_exit(0);
	if (pid < 0) {
		fail(r, err, NULL);
		return;
	}
	reap((pid_t)pid);
	r->found = true;
}

static void probe_waitid_pidfd(struct feature_result *r)
{
	struct helper h;
	siginfo_t si;
	int err;

	if (helper_start_pidfd(&h, &err) < 0) {
		fail(r, err, no_pidfd);
		return;
	}
	helper_release(&h);
	memset(&si, 0, sizeof(si));
	do
		guarded(&err, SYS_waitid, P_PIDFD, h.pidfd, (long)&si, WEXITED, 0);
	while (err == EINTR);
	if (err) {
		fail(r, err, NULL);
	} else if (si.si_pid != h.pid || si.si_code != CLD_EXITED ||
		   si.si_status != HELPER_EXIT_CODE) {
		h.reaped = si.si_pid == h.pid;
		fail(r, 0, "waitid(P_PIDFD) reported a wrong status");
	} else {
		h.reaped = 1;
		r->found = true;
	}
	helper_stop(&h);
}

static void probe_pidfd_getfd(struct feature_result *r)
{
	struct helper h;
	int err, fd;

	if (helper_start_pidfd(&h, &err) < 0) {
		fail(r, err, no_pidfd);
		return;
	}
	/* Copy the helper's end of the pipe: needs ptrace access (a parent has it). */
	fd = (int)guarded(&err, SYS_pidfd_getfd, h.pidfd, h.rfd_num, 0, 0, 0);
	if (fd >= 0) {
		close(fd);
		r->found = true;
	} else {
		fail(r, err, NULL);
	}
	helper_stop(&h);
}

static void probe_pidfd_nonblock(struct feature_result *r)
{
	struct helper h;
	int err, fd, fl;

	if (helper_start(&h, 0, &err) < 0) {
		fail(r, err, "fork failed");
		return;
	}
	fd = (int)guarded(&err, SYS_pidfd_open, h.pid, PIDFD_NONBLOCK, 0, 0, 0);
	if (fd >= 0) {
		fl = fcntl(fd, F_GETFL);
		if (fl >= 0 && (fl & O_NONBLOCK))
			r->found = true;
		else
			fail(r, 0, "PIDFD_NONBLOCK accepted but the pidfd blocks");
		close(fd);
	} else {
		fail(r, err, NULL);
	}
	helper_stop(&h);
}

static void probe_process_mrelease(struct feature_result *r)
{
	struct helper h;
	int err;

	if (helper_start_pidfd(&h, &err) < 0) {
		fail(r, err, no_pidfd);
		return;
	}
	/*
	 * Releasing the memory of a live process that is not being killed
	 * is refused with EINVAL, and only an existing syscall can look at
	 * the process to say so: the one case where EINVAL means "present".
	 * (A zombie gives ESRCH on recent kernels, a dying process races.)
	 */
	if (guarded(&err, SYS_process_mrelease, h.pidfd, 0, 0, 0, 0) == 0 ||
	    err == EINVAL)
		r->found = true;
	else
		fail(r, err, NULL);
	helper_stop(&h);
}

static void probe_pidfd_thread(struct feature_result *r)
{
	int err, fd;

	fd = (int)guarded(&err, SYS_pidfd_open, getpid(), PIDFD_THREAD, 0, 0, 0);
	if (fd >= 0) {
		close(fd);
		r->found = true;
	} else {
		fail(r, err, NULL);
	}
}

static void probe_pidfd_get_info(struct feature_result *r)
{
	struct pidshim_pidfd_info info;
	struct helper h;
	int err;

	if (helper_start_pidfd(&h, &err) < 0) {
		fail(r, err, no_pidfd);
		return;
	}
	memset(&info, 0, sizeof(info));
	info.mask = PIDFD_INFO_PID;
	if (guarded(&err, SYS_ioctl, h.pidfd, (long)PIDFD_GET_INFO_V0, (long)&info, 0,
		    0) < 0)
		fail(r, err, NULL);
	else if (info.pid != (uint32_t)h.pid)
		fail(r, 0, "PIDFD_GET_INFO reported a wrong pid");
	else
		r->found = true;
	helper_stop(&h);
}

static void probe_pidfd_info_exit(struct feature_result *r)
{
	struct pidshim_pidfd_info info;
	struct helper h;
	int err;

	if (helper_start_pidfd(&h, &err) < 0) {
		fail(r, err, no_pidfd);
		return;
	}
	helper_release(&h);
	reap(h.pid);
	h.reaped = 1;
	memset(&info, 0, sizeof(info));
	info.mask = PIDFD_INFO_EXIT;
	/* Before 6.15 the ioctl of a reaped process fails with ESRCH. */
	if (guarded(&err, SYS_ioctl, h.pidfd, (long)PIDFD_GET_INFO_V0, (long)&info, 0,
		    0) < 0)
		fail(r, err, NULL);
	else if (!(info.mask & PIDFD_INFO_EXIT))
		fail(r, 0, "PIDFD_GET_INFO gave no exit status");
	else if (!WIFEXITED(info.exit_code) ||
		 WEXITSTATUS(info.exit_code) != HELPER_EXIT_CODE)
		fail(r, 0, "PIDFD_INFO_EXIT reported a wrong exit status");
	else
		r->found = true;
	helper_stop(&h);
}

const struct feature cli_features[] = {
	{ "pidfd_send_signal", "pidfd_send_signal()", 5, 1, BF_PIDFD_SEND_SIGNAL,
	  probe_pidfd_send_signal },
	{ "clone_pidfd", "clone(CLONE_PIDFD)", 5, 2, 0, probe_clone_pidfd },
	{ "pidfd_open", "pidfd_open()", 5, 3, BF_PIDFD_OPEN, probe_pidfd_open },
	{ "pidfd_poll", "poll() on a pidfd", 5, 3, 0, probe_pidfd_poll },
	{ "clone3", "clone3()", 5, 3, 0, probe_clone3 },
	{ "waitid_pidfd", "waitid(P_PIDFD)", 5, 4, BF_WAITID_PIDFD, probe_waitid_pidfd },
	{ "pidfd_getfd", "pidfd_getfd()", 5, 6, 0, probe_pidfd_getfd },
	{ "pidfd_nonblock", "PIDFD_NONBLOCK", 5, 10, 0, probe_pidfd_nonblock },
	{ "process_mrelease", "process_mrelease()", 5, 15, 0, probe_process_mrelease },
	{ "pidfd_thread", "PIDFD_THREAD", 6, 9, 0, probe_pidfd_thread },
	{ "pidfd_get_info", "ioctl(PIDFD_GET_INFO)", 6, 13, 0, probe_pidfd_get_info },
	{ "pidfd_info_exit", "PIDFD_INFO_EXIT", 6, 15, 0, probe_pidfd_info_exit },
};

const size_t cli_n_features = sizeof(cli_features) / sizeof(cli_features[0]);

int features_index(const char *name)
{
	for (size_t i = 0; i < cli_n_features; i++)
		if (!strcmp(cli_features[i].name, name))
			return (int)i;
	return -1;
}

/* Run probe(s) [from, to) with the SIGSYS guard in place. */
static void probe_range(struct feature_result *results, size_t from, size_t to)
{
	sigset_t oldmask;

	sigsys_guard_begin(&oldmask);

	for (size_t i = from; i < to; i++) {
		memset(&results[i - from], 0, sizeof(results[i - from]));
		cli_features[i].probe(&results[i - from]);
	}

	sigsys_guard_end(&oldmask);
}

void features_probe_all(struct feature_result *results)
{
	probe_range(results, 0, cli_n_features);
}

bool features_probe_one(const char *name)
{
	struct feature_result r;
	int i = features_index(name);

	if (i < 0)
		return false;
	probe_range(&r, (size_t)i, (size_t)i + 1);
	return r.found;
}
