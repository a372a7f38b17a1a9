/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pstest.h - shared helpers of the pidshim C selftests.
 *
 * Every selftest binary is one .c file that includes this header (the
 * kselftest harness defines non-static functions, so it can only live in
 * one translation unit per binary; hence everything here is static inline).
 * It provides: the backend fixture variants (pidfd, pidfd_poll, signalfd)
 * and the setup that forces PIDSHIM_BACKEND before the first library call
 * and turns an unavailable backend into "assert -ENOSYS, then SKIP naming
 * the missing kernel feature"; an independent raw probe of the kernel's
 * pidfd features, used to check the library's choice and to refuse skips
 * where the feature exists; spawning of the helper binary; fd, child and
 * clock utilities; and the PIDSHIM_TEST_QUICK / PIDSHIM_TEST_SLOW knobs.
 */
#ifndef PSTEST_H
#define PSTEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include <pidshim.h>

/*
 * The kernel ABI again, on purpose: the library, the CLI and the
 * personalities share shim/lib/kabi.h, and this oracle stays independent
 * of the code it checks (a wrong number there must not hide here).  The
 * same holds for ps_raw_syscall's SIGSYS guard and ps_kernel_serves below.
 */
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif
#ifndef __NR_close_range
#define __NR_close_range 436
#endif

/* Default per-test hang timeout in seconds (scaled by PIDSHIM_TEST_SLOW). */
#define PS_TIMEOUT 60

/*
 * The 6.1 harness runs a TEST_F body even when FIXTURE_SETUP called SKIP()
 * (later kernels fixed that); the wrapper stops a skipped test before its
 * body so that "skip" really means nothing was tested.
 */
#define PS_TEST_T(fx, name, tmo)                                             \
	static void fx##_##name##_body(struct __test_metadata *_metadata,    \
				       FIXTURE_DATA(fx) * self,              \
				       const FIXTURE_VARIANT(fx) * variant); \
	TEST_F_TIMEOUT(fx, name, tmo)                                        \
	{                                                                    \
		if (_metadata->skip)                                         \
			return;                                              \
		fx##_##name##_body(_metadata, self, variant);                \
	}                                                                    \
	static void fx##_##name##_body(                                      \
		struct __test_metadata __attribute__((unused)) * _metadata,  \
		FIXTURE_DATA(fx) __attribute__((unused)) * self,             \
		const FIXTURE_VARIANT(fx) __attribute__((unused)) * variant)
#define PS_TEST(fx, name) PS_TEST_T(fx, name, PS_TIMEOUT)

/*
 * The backends every behaviour test runs on: the two pidfd backends and
 * the fallback with each of its mechanisms (its thread, and SIGCHLD read
 * from a signalfd, which the test selects by blocking SIGCHLD before
 * anything else, as such programs do).
 */
#define PS_BACKEND_VARIANTS(fx)                                            \
	FIXTURE_VARIANT(fx)                                                \
	{                                                                  \
		const char *backend;                                       \
		int expect;                                                \
		bool sigchld;                                              \
	};                                                                 \
	FIXTURE_VARIANT_ADD(fx, pidfd){                                    \
		.backend = "pidfd",                                        \
		.expect = PIDSHIM_BACKEND_PIDFD,                           \
	};                                                                 \
	FIXTURE_VARIANT_ADD(fx, pidfd_poll){                               \
		.backend = "pidfd-poll",                                   \
		.expect = PIDSHIM_BACKEND_PIDFD_POLL,                      \
	};                                                                 \
	FIXTURE_VARIANT_ADD(fx, signalfd){                                 \
		.backend = "signalfd",                                     \
		.expect = PIDSHIM_BACKEND_SIGNALFD,                        \
	};                                                                 \
	FIXTURE_VARIANT_ADD(fx, signalfd_sigchld)                          \
	{                                                                  \
		.backend = "signalfd", .expect = PIDSHIM_BACKEND_SIGNALFD, \
		.sigchld = true,                                           \
	}

/* The variant's arguments for ps_setup_backend. */
#define PS_VARIANT variant->backend, variant->expect, variant->sigchld

/*
 * The harness main, with every test's hang timeout scaled for slow runs.
 * Fds inherited from whoever started us (make's jobserver, a CI runner's
 * log fd) are closed first: fd tests compare against a baseline, and
 * valgrind --track-fds would report them as leaks of every test.
 */
#define PS_MAIN                                      \
	int main(int argc, char **argv)              \
	{                                            \
		ps_close_fds_except(-1, -1);         \
		ps_scale_timeouts();                 \
		ps_filter_tests();                   \
		return test_harness_run(argc, argv); \
	}

/* ---- knobs ------------------------------------------------------------- */

/* PIDSHIM_TEST_SLOW=N: time bounds are N times wider (valgrind, ASan). */
static inline int ps_slow(void)
{
	const char *s = getenv("PIDSHIM_TEST_SLOW");
	int n = s ? atoi(s) : 1;

	return n < 1 ? 1 : n;
}

/* PIDSHIM_TEST_QUICK=1: heavy loops ten times smaller. */
static inline int ps_scaled(int n)
{
	const char *q = getenv("PIDSHIM_TEST_QUICK");

	if (q && *q && strcmp(q, "0") != 0)
		n = n / 10 ? n / 10 : 1;
	return n;
}

static inline void ps_scale_timeouts(void)
{
	struct __fixture_metadata *f;
	struct __test_metadata *t;
	int slow = ps_slow();

	for (f = __fixture_list; f; f = f->next)
		for (t = f->tests; t; t = t->next)
			t->timeout *= slow;
}

/*
 * PIDSHIM_TEST_ONLY=WORD: run only the tests whose test or variant name
 * contains WORD ("fixture.variant.test" as the harness prints it also
 * works: each dot-separated part must match its own name).  For debugging
 * one test (the 6.1 harness has no filter of its own); the plan counts
 * only what runs, so nothing is reported as skipped.
 */
static inline bool ps_name_matches(const char *want, const char *fx, const char *var,
				   const char *test)
{
	char buf[256], *parts[3] = { NULL, NULL, NULL }, *save = NULL, *p;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", want);
	for (p = strtok_r(buf, ".", &save); p && n < 3; p = strtok_r(NULL, ".", &save))
		parts[n++] = p;
	if (n == 1)
		return strstr(test, parts[0]) || strstr(var, parts[0]);
	if (n == 2)
		return strcmp(fx, parts[0]) == 0 && strstr(test, parts[1]);
	return strcmp(fx, parts[0]) == 0 && strcmp(var, parts[1]) == 0 &&
	       strstr(test, parts[2]);
}

static inline void ps_filter_tests(void)
{
	const char *want = getenv("PIDSHIM_TEST_ONLY");
	struct __fixture_metadata *f;

	if (!want || !*want)
		return;
	for (f = __fixture_list; f; f = f->next) {
		struct __fixture_variant_metadata *v, *vhead = NULL, *vtail = NULL,
						      *vnext;
		struct __test_metadata *t, *thead = NULL, *ttail = NULL, *tnext;

		/* Keep a test if some variant of it matches, and a variant if
		 * some test matches under it. */
		for (t = f->tests; t; t = tnext) {
			bool keep = false;

			tnext = t->next;
			for (v = f->variant; v; v = v->next)
				keep = keep ||
				       ps_name_matches(want, f->name, v->name, t->name);
			if (!f->variant)
				keep = ps_name_matches(want, f->name, "", t->name);
			if (!keep)
				continue;
			t->prev = ttail ? ttail : t;
			t->next = NULL;
			if (ttail)
				ttail->next = t;
			else
				thead = t;
			ttail = t;
		}
		if (thead)
			thead->prev = ttail;
		f->tests = thead;
		if (!f->variant)
			continue;
		for (v = f->variant; v; v = vnext) {
			bool keep = false;

			vnext = v->next;
			for (t = f->tests; t; t = t->next)
				keep = keep ||
				       ps_name_matches(want, f->name, v->name, t->name);
			if (!keep)
				continue;
			v->prev = vtail ? vtail : v;
			v->next = NULL;
			if (vtail)
				vtail->next = v;
			else
				vhead = v;
			vtail = v;
		}
		if (vhead)
			vhead->prev = vtail;
		f->variant = vhead;
	}
}

/* ---- clocks ------------------------------------------------------------ */

static inline int64_t ps_clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t ps_now_ms(void)
{
	return ps_clock_ns(CLOCK_MONOTONIC) / 1000000;
}

static inline void ps_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static inline int64_t ps_tv_ms(struct timeval tv)
{
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* ---- raw kernel probe (independent of the library) --------------------- */

static volatile sig_atomic_t ps_sigsys_seen;

static void ps_sigsys_handler(int sig)
{
	(void)sig;
	ps_sigsys_seen = 1;
}

/*
 * Runs a raw syscall with SIGSYS caught, so a SECCOMP_RET_TRAP filter
 * (Android) reads as "missing" instead of killing the test.  Returns the
 * result or -errno; -ENOSYS for a trap (the trapped syscall's return
 * register holds garbage, e.g. the syscall number, which must not be
 * taken for an fd).
 */
static inline long ps_raw_syscall(long nr, long a, long b, long c, long d, long e)
{
	struct sigaction sa = { .sa_handler = ps_sigsys_handler }, old;
	sigset_t sys, oldmask;
	long r;
	int err;

	/* A blocked SIGSYS from a trap is forced to its default: death. */
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, &oldmask);
	sigaction(SIGSYS, &sa, &old);
	ps_sigsys_seen = 0;
	r = syscall(nr, a, b, c, d, e);
	err = errno;
	sigaction(SIGSYS, &old, NULL);
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	if (ps_sigsys_seen)
		return -ENOSYS;
	return r < 0 ? -err : r;
}

struct ps_kernel {
	bool pidfd_open;	/* Linux 5.3 */
	bool pidfd_send_signal; /* Linux 5.1 (valgrind 3.24 lacks it) */
	bool waitid_pidfd;	/* Linux 5.4 */
	bool eventfd;		/* Linux 2.6.27 (eventfd2), the fallback's handle fds */
};

static inline struct ps_kernel ps_probe_kernel(void)
{
	struct ps_kernel k = { false, false, false, false };
	siginfo_t si;
	long fd;

	fd = ps_raw_syscall(__NR_pidfd_open, getpid(), 0, 0, 0, 0);
	if (fd >= 0) {
		k.pidfd_open = true;
		/*
		 * waitid(P_PIDFD) on our own pidfd: a kernel that knows
		 * P_PIDFD says ECHILD (we are not our own child), an older
		 * one (or a personality filter) says EINVAL.
		 */
		memset(&si, 0, sizeof(si));
		long r = ps_raw_syscall(SYS_waitid, P_PIDFD, fd, (long)&si,
					WEXITED | WNOHANG, 0);
		k.waitid_pidfd = r == 0 || r == -ECHILD;
		k.pidfd_send_signal =
			ps_raw_syscall(__NR_pidfd_send_signal, fd, 0, 0, 0, 0) == 0;
		close((int)fd);
	}
	/* The "signalfd" backend needs no signalfd: one eventfd per handle. */
	fd = ps_raw_syscall(SYS_eventfd2, 0, O_CLOEXEC, 0, 0, 0);
	if (fd >= 0) {
		k.eventfd = true;
		close((int)fd);
	}
	return k;
}

static inline bool ps_kernel_serves(const struct ps_kernel *k, int backend)
{
	switch (backend) {
	/* Both pidfd backends signal through pidfd_send_signal. */
	case PIDSHIM_BACKEND_PIDFD:
		return k->pidfd_open && k->pidfd_send_signal && k->waitid_pidfd;
	case PIDSHIM_BACKEND_PIDFD_POLL:
		return k->pidfd_open && k->pidfd_send_signal;
	case PIDSHIM_BACKEND_SIGNALFD:
		return k->eventfd;
	}
	return false;
}

/* The backend the library must pick on its own on this kernel. */
static inline int ps_kernel_best(const struct ps_kernel *k)
{
	if (ps_kernel_serves(k, PIDSHIM_BACKEND_PIDFD))
		return PIDSHIM_BACKEND_PIDFD;
	if (ps_kernel_serves(k, PIDSHIM_BACKEND_PIDFD_POLL))
		return PIDSHIM_BACKEND_PIDFD_POLL;
	return PIDSHIM_BACKEND_SIGNALFD;
}

/* Valgrind emulates syscalls and lacks some (3.24: pidfd_send_signal). */
static inline bool ps_under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "vgpreload");
}

static inline const char *ps_missing_feature(const struct ps_kernel *k, int backend)
{
	if (backend == PIDSHIM_BACKEND_SIGNALFD)
		return "kernel lacks eventfd2 (Linux 2.6.27)";
	if (!k->pidfd_open)
		return "kernel lacks pidfd_open (Linux 5.3)";
	if (!k->pidfd_send_signal)
		return "kernel lacks pidfd_send_signal (Linux 5.1)";
	if (backend == PIDSHIM_BACKEND_PIDFD && !k->waitid_pidfd)
		return "kernel lacks waitid(P_PIDFD) (Linux 5.4)";
	return "no missing kernel feature found";
}

/* ---- the helper binary ------------------------------------------------- */

/* build/selftests/helper next to the test binary, or $PIDSHIM_TEST_HELPER. */
static inline const char *ps_helper(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("PIDSHIM_TEST_HELPER");
	ssize_t n;
	char *slash;

	if (env && *env)
		return env;
	if (path[0])
		return path;
	n = readlink("/proc/self/exe", path, sizeof(path) - 16);
	if (n <= 0)
		return "./helper";
	path[n] = '\0';
	slash = strrchr(path, '/');
	strcpy(slash ? slash + 1 : path, "helper");
	return path;
}

#define PS_MAX_ARGS 16

/*
 * Spawns the helper through pidshim_spawn with "helper ARGS..." (NULL
 * terminated), stdin from in_fd and stdout to out_fd (-1: inherited).
 * Returns the library's result.
 */
static inline int ps_spawn_helper(struct pidshim **h, int in_fd, int out_fd, ...)
{
	char *argv[PS_MAX_ARGS + 2];
	posix_spawn_file_actions_t fa;
	va_list ap;
	int i = 0, r;

	argv[i++] = (char *)ps_helper();
	va_start(ap, out_fd);
	while (i < PS_MAX_ARGS && (argv[i] = va_arg(ap, char *)))
		i++;
	va_end(ap);
	argv[i] = NULL;
	posix_spawn_file_actions_init(&fa);
	if (in_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	r = pidshim_spawn(h, argv[0], &fa, NULL, argv, NULL);
	posix_spawn_file_actions_destroy(&fa);
	return r;
}

/* A pipe whose both ends are O_CLOEXEC, so no other child inherits them. */
#define PS_PIPE(p) ASSERT_EQ(0, pipe2(p, O_CLOEXEC))

static inline void ps_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * A "blocker": a helper child that waits for EOF on its stdin, then exits
 * with code.  Closing *release makes it exit at a moment the test chooses.
 */
static inline int ps_spawn_blocker(struct pidshim **h, int *release, int code)
{
	char buf[16];
	int p[2], r;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	snprintf(buf, sizeof(buf), "%d", code);
	r = ps_spawn_helper(h, p[0], -1, "wait", buf, NULL);
	close(p[0]);
	if (r < 0) {
		close(p[1]);
		return r;
	}
	*release = p[1];
	return 0;
}

/*
 * Fills buf with DIR/name.XXXXXX for mkstemp/mkdtemp, DIR being $TMPDIR
 * or the first writable of /tmp, /dev/shm, / (a busybox initramfs of the
 * kernel matrix may have no /tmp).
 */
static inline char *ps_tmpname(char *buf, size_t size, const char *name)
{
	static const char *const dirs[] = { "/tmp", "/dev/shm", "/" };
	const char *dir = getenv("TMPDIR");
	size_t i;

	for (i = 0; (!dir || !*dir || access(dir, W_OK)) && i < 3; i++)
		dir = dirs[i];
	snprintf(buf, size, "%s/%s.XXXXXX", strcmp(dir, "/") ? dir : "", name);
	return buf;
}

/* ---- processes --------------------------------------------------------- */

/*
 * Can posix_spawn report exec errors here?  glibc reports them from a
 * CLONE_VM|CLONE_VFORK child through shared memory; valgrind runs that
 * child as a plain fork, so posix_spawn of a missing program "succeeds"
 * and the child exits 127.  Exec-error tests skip only in that case.
 */
#define PS_NO_EXEC_ERRORS                                                      \
	"posix_spawn reports no exec errors here (CLONE_VFORK child run as a " \
	"fork, as under valgrind)"
static inline bool ps_exec_errors_reported(void)
{
	char *argv[] = { (char *)"/nonexistent/pidshim-probe", NULL };
	pid_t pid;
	int r, st;

	r = posix_spawn(&pid, argv[0], NULL, NULL, argv, NULL);
	if (r == 0)
		waitpid(pid, &st, 0);
	return r == ENOENT;
}

/* True when this process has no child at all (running, zombie or else). */
static inline bool ps_no_children(void)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD;
}

/* No child of any kind either: __WALL also sees clone children that
 * send no signal at exit (the library's kick child, service.c). */
static inline bool ps_no_children_at_all(void)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0 &&
	       errno == ECHILD;
}

/* The pid of a zombie child of ours, 0 if there is none (nothing reaped). */
static inline pid_t ps_zombie_child(void)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return 0;
	return si.si_pid;
}

/* Waits up to ms for pid to be a zombie (not reaped); true if it is. */
static inline bool ps_wait_zombie(pid_t pid, int ms)
{
	int64_t end = ps_now_ms() + ms;
	siginfo_t si;

	do {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == pid)
			return true;
		ps_sleep_ms(2);
	} while (ps_now_ms() < end);
	return false;
}

/* Waits up to ms for our child pid to have exited (a zombie, or reaped
 * already); true if it has. */
static inline bool ps_exited(pid_t pid, int ms)
{
	int64_t end = ps_now_ms() + ms;
	siginfo_t si;
	int r;

	do {
		memset(&si, 0, sizeof(si));
		r = waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT);
		if ((r == 0 && si.si_pid == pid) || (r < 0 && errno == ECHILD))
			return true;
		ps_sleep_ms(2);
	} while (ps_now_ms() < end);
	return false;
}

/* The state letter of /proc/PID/stat ('R', 'S', 'Z', ...), 0 if gone. */
static inline char ps_proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] && p[2] ? p[2] : 0;
}

/*
 * Closes every fd >= 3 except keep1/keep2 (-1: none): for raw fork()
 * children, which must not hold the test's pipe ends (a blocker would never
 * see EOF) and never use the library, and for main() to drop inherited fds.
 * Only fds that are open and below RLIMIT_NOFILE are closed, read from
 * /proc/self/fd with getdents64 (no malloc after fork): valgrind flags
 * closing a closed fd, and keeps its own fds above the limit.
 */
static inline void ps_close_fds_except(int keep1, int keep2)
{
	char buf[4096];
	int fds[1024], n, i, dir;
	struct rlimit rl;
	long got;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		rl.rlim_cur = 1024;
	dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		for (i = 3; i < (int)rl.rlim_cur && i < 65536; i++)
			if (i != keep1 && i != keep2)
				close(i);
		return;
	}
	do {
		/* Collect a batch, close it, and read the directory again. */
		n = 0;
		lseek(dir, 0, SEEK_SET);
		while (n < 1024 &&
		       (got = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
			for (long off = 0; off < got;) {
				struct {
					uint64_t ino;
					int64_t off;
					unsigned short reclen;
					unsigned char type;
					char name[];
				} *d = (void *)(buf + off);
				int fd = atoi(d->name);

				off += d->reclen;
				if (d->name[0] < '0' || d->name[0] > '9' || fd < 3 ||
				    fd == dir || fd == keep1 || fd == keep2 ||
				    (rlim_t)fd >= rl.rlim_cur)
					continue;
				if (n < 1024)
					fds[n++] = fd;
			}
		}
		for (i = 0; i < n; i++)
			close(fds[i]);
	} while (n == 1024);
	close(dir);
}

/*
 * _exit for raw fork() children: all fds closed first, because under
 * valgrind --track-fds every fd still open at exit is an error that turns
 * the child's exit code into 99.
 */
static inline void ps_child_exit(int code)
{
	ps_close_fds_except(-1, -1);
	_exit(code);
}

/*
 * fork()s a child that waits for EOF on a pipe, then _exit(code): a child
 * the library did not spawn.  *release is the write end.
 */
static inline pid_t ps_fork_blocker(int *release, int code)
{
	char c;
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		ps_close_fds_except(p[0], -1);
		while (read(p[0], &c, 1) != 0 && errno == EINTR)
			;
		ps_child_exit(code);
	}
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		return -1;
	}
	*release = p[1];
	return pid;
}

/* ---- fds --------------------------------------------------------------- */

#define PS_MAX_FDS 8192

struct ps_fds {
	int n;
	int fd[PS_MAX_FDS];
};

/* The open fds of this process (the directory's own fd excluded). */
static inline void ps_fds_list(struct ps_fds *s)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	s->n = 0;
	if (!d)
		return;
	while ((e = readdir(d)) && s->n < PS_MAX_FDS) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fd == dirfd(d))
			continue;
		s->fd[s->n++] = fd;
	}
	closedir(d);
}

static inline bool ps_fds_has(const struct ps_fds *s, int fd)
{
	for (int i = 0; i < s->n; i++)
		if (s->fd[i] == fd)
			return true;
	return false;
}

static inline int ps_fd_count(void)
{
	static struct ps_fds s;

	ps_fds_list(&s);
	return s.n;
}

static inline bool ps_cloexec(int fd)
{
	int f = fcntl(fd, F_GETFD);

	return f >= 0 && (f & FD_CLOEXEC);
}

/* POLLIN within ms (0: right now)? */
static inline bool ps_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r > 0 && (p.revents & POLLIN);
}

/* A pidshim_wait run in another thread (pthread_create(..., ps_bg_wait_fn,
 * &w)): its result, the status and when it returned; done turns 1 last. */
struct ps_bg_wait {
	struct pidshim *h;
	struct pidshim_exit ex;
	int ret;
	volatile int done;
	int64_t done_ms;
};

static inline void *ps_bg_wait_fn(void *arg)
{
	struct ps_bg_wait *w = arg;

	w->ret = pidshim_wait(w->h, &w->ex);
	w->done_ms = ps_now_ms();
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* The contract's "readable within 100 ms after the exit", plus slack. */
#define PS_READY_MS (100 * ps_slow() + 50)

/*
 * Closes *release (the blocker child pid exits now) and returns how many ms
 * after the exit fd became readable, or -1 if it did not within 5 s
 * (scaled).  The exit moment is when a raw pidfd of the child turns
 * readable, where the kernel lets us open one, so that load which delays
 * the child's own exit is not charged to the library; else the release.
 */
static inline int64_t ps_release_and_time_readiness(int *release, pid_t pid, int fd)
{
	long ref = ps_raw_syscall(__NR_pidfd_open, pid, 0, 0, 0, 0);
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
			       { .fd = ref >= 0 ? (int)ref : -1, .events = POLLIN } };
	int64_t t0, now, t_exit = -1, t_ready = -1, end;

	t0 = ps_now_ms();
	close(*release);
	*release = -1;
	end = t0 + 5000 * ps_slow();
	do {
		if (poll(p, 2, 100) < 0 && errno != EINTR)
			break;
		now = ps_now_ms();
		if (p[1].fd >= 0 && (p[1].revents & POLLIN)) {
			t_exit = now;
			p[1].fd = -1;
		}
		if (p[0].revents & POLLIN)
			t_ready = now;
	} while (t_ready < 0 && now < end);
	if (ref >= 0)
		close((int)ref);
	if (t_ready < 0)
		return -1;
	if (ref < 0)
		t_exit = t0;
	return t_exit < 0 || t_ready < t_exit ? 0 : t_ready - t_exit;
}

/* Raises RLIMIT_NOFILE's soft limit to want (capped by the hard limit). */
static inline rlim_t ps_raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

/*
 * For teardowns: wait (up to 2 s, scaled) until the library has nothing
 * pending, so the children of handles the test closed are reaped and the
 * fds that name them closed before the test process exits (valgrind
 * --track-fds reports every fd still open at exit).
 */
static inline void ps_library_settle(void)
{
	for (int i = 0; i < 200 * ps_slow() && pidshim_quiesce() == -EBUSY; i++)
		ps_sleep_ms(10);
}

/* Threads of this process now (/proc/self/task). */
static inline int ps_thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* ---- a private pid namespace --------------------------------------------- */

#define PS_NS_SKIP 77

/*
 * Runs fn as init of a new pid namespace with its own /proc mounted (so
 * that /proc/PID names the namespace's processes, as the library needs),
 * and returns its exit code, PS_NS_SKIP with *why filled when namespaces
 * cannot be made here, or -1 when it did not finish in time.
 */
static inline int ps_in_pidns(int (*fn)(void), char *why, size_t whylen)
{
	int p[2], st, n;
	pid_t outer;
	int64_t end;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	outer = fork();
	if (outer < 0)
		return -1;
	if (outer == 0) {
		char msg[128];
		pid_t init;

		close(p[0]);
		if (unshare(CLONE_NEWPID | CLONE_NEWNS) ||
		    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL)) {
			n = snprintf(msg, sizeof(msg),
				     "unshare(CLONE_NEWPID|CLONE_NEWNS): %s",
				     strerror(errno));
			if (write(p[1], msg, (size_t)n) < 0)
				_exit(1);
			_exit(PS_NS_SKIP);
		}
		init = fork();
		if (init == 0) {
			/* Killed with outer on a time-out: the namespace and
			 * everything in it ends with its init. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (mount("proc", "/proc", "proc",
				  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
				n = snprintf(msg, sizeof(msg), "mount of a new /proc: %s",
					     strerror(errno));
				if (write(p[1], msg, (size_t)n) < 0)
					_exit(1);
				_exit(PS_NS_SKIP);
			}
			close(p[1]);
			n = fn();
			ps_library_settle();
			ps_close_fds_except(-1, -1); /* valgrind: nothing open at exit */
			_exit(n);
		}
		close(p[1]);
		if (init < 0 || waitpid(init, &st, 0) != init)
			_exit(1);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
	close(p[1]);
	end = ps_now_ms() + 30000 * ps_slow();
	while (waitpid(outer, &st, WNOHANG) == 0) {
		if (ps_now_ms() > end) {
			kill(outer, SIGKILL);
			waitpid(outer, &st, 0);
			close(p[0]);
			return -1;
		}
		ps_sleep_ms(5);
	}
	n = (int)read(p[0], why, whylen - 1);
	why[n > 0 ? n : 0] = '\0';
	close(p[0]);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define PS_RUN_IN_PIDNS(fn)                                                          \
	do {                                                                         \
		char why[160];                                                       \
		int rc = ps_in_pidns(fn, why, sizeof(why));                          \
		if (rc == PS_NS_SKIP)                                                \
			SKIP(return, "no private pid namespace here (%s)", why);     \
		EXPECT_EQ(0, rc)                                                     \
		{                                                                    \
			if (rc < 0)                                                  \
				TH_LOG("no end within %d s: killed, with the "       \
				       "namespace",                                  \
				       30 * ps_slow());                              \
			else                                                         \
				TH_LOG("%d failed checks in the pid namespace", rc); \
		}                                                                    \
	} while (0)

/* The next process created in this pid namespace gets pid. */
static inline int ps_set_next_pid(pid_t pid)
{
	char buf[32];
	int fd, n, r;

	fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d", (int)pid - 1);
	r = write(fd, buf, (size_t)n) == n ? 0 : -errno;
	close(fd);
	return r;
}

/* ---- fixture setup ----------------------------------------------------- */

/*
 * Forces the variant's backend before any library call.  When the library
 * answers -ENOSYS, checks that open and spawn fail with -ENOSYS too, that
 * the kernel really lacks the feature, and skips naming it.  Returns true
 * when the test was skipped (the caller must return).
 */
static inline bool ps_setup_backend(struct __test_metadata *_metadata,
				    const char *backend, int expect, bool sigchld)
{
	static char mark;
	struct pidshim *const sentinel = (struct pidshim *)&mark;
	struct pidshim *h = sentinel;
	struct ps_kernel k;
	char *argv[] = { (char *)ps_helper(), (char *)"exit", (char *)"0", NULL };
	int b;

	ASSERT_EQ(0, setenv("PIDSHIM_BACKEND", backend, 1));
	if (sigchld) { /* the program's promise: SIGCHLD blocked everywhere */
		sigset_t chld;

		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &chld, NULL));
	}
	b = pidshim_backend();
	k = ps_probe_kernel();
	if (b == -ENOSYS) {
		ASSERT_EQ(-ENOSYS, pidshim_open(getpid(), 0, &h));
		ASSERT_EQ(-ENOSYS, pidshim_spawn(&h, argv[0], NULL, NULL, argv, NULL));
		ASSERT_EQ(sentinel, h);
		ASSERT_TRUE(ps_no_children());
		ASSERT_FALSE(ps_kernel_serves(&k, expect))
		{
			TH_LOG("library says -ENOSYS for %s, but the kernel has it",
			       backend);
		}
		SKIP(return true, "%s: %s%s", backend, ps_missing_feature(&k, expect),
			    ps_under_valgrind()
				    ? " (valgrind's syscall emulation lacks it)"
				    : "");
	}
	ASSERT_EQ(expect, b);
	ASSERT_TRUE(ps_kernel_serves(&k, expect))
	{
		TH_LOG("library runs %s, but the raw probe says: %s", backend,
		       ps_missing_feature(&k, expect));
	}
	if (b == PIDSHIM_BACKEND_SIGNALFD) {
		ASSERT_EQ(sigchld ? PIDSHIM_MECHANISM_SIGNALFD : PIDSHIM_MECHANISM_THREAD,
			  pidshim_mechanism());
	} else {
		ASSERT_EQ(-ENOSYS, pidshim_mechanism());
	}
	return false;
}

#endif /* PSTEST_H */
