// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Helpers shared by the stress programs (see common.h): TAP output, /proc
 * accounting, sentinel processes.  Kept free of library calls so that a
 * library bug cannot hide in the instruments that look for it.
 */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pidshim.h>

extern char **environ;

static int tap_n;
int tap_failed;
static pthread_mutex_t tap_lock = PTHREAD_MUTEX_INITIALIZER;

void tap_ok(bool ok, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&tap_lock);
	tap_n++;
	if (!ok)
		tap_failed++;
	printf("%sok %d - ", ok ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	pthread_mutex_unlock(&tap_lock);
}

void tap_skip(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&tap_lock);
	tap_n++;
	printf("ok %d # SKIP ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	pthread_mutex_unlock(&tap_lock);
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&tap_lock);
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	pthread_mutex_unlock(&tap_lock);
}

int tap_done(void)
{
	printf("1..%d\n", tap_n);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

void die(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	_exit(99);
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		die("opendir /proc/self/fd: %s", strerror(errno));
	while ((de = readdir(d)))
		if (de->d_name[0] >= '0' && de->d_name[0] <= '9')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

static bool skipped(pid_t pid, const pid_t *skip, int n_skip)
{
	for (int i = 0; i < n_skip; i++)
		if (skip[i] == pid)
			return true;
	return false;
}

/* Calls fn for each child of this process (from /proc), except those in
 * skip; stops early when fn returns false.  Returns false if /proc could
 * not be read. */
static bool for_each_child(const pid_t *skip, int n_skip,
			   bool (*fn)(pid_t pid, char state, void *arg), void *arg)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();

	if (!d)
		return false;
	while ((de = readdir(d))) {
		char path[64], buf[512], state;
		const char *p;
		int fd, ppid;
		ssize_t len;
		pid_t pid;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		pid = atoi(de->d_name);
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* gone meanwhile */
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = 0;
		/* comm may hold spaces and parentheses: parse after the last ')'. */
		p = strrchr(buf, ')');
		if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2)
			continue;
		if (ppid != self || skipped(pid, skip, n_skip))
			continue;
		if (!fn(pid, state, arg))
			break;
	}
	closedir(d);
	return true;
}

struct child_count {
	int n, zombies;
};

static bool count_one(pid_t pid, char state, void *arg)
{
	struct child_count *c = arg;

	(void)pid;
	c->n++;
	if (state == 'Z')
		c->zombies++;
	return true;
}

int scan_children(int *zombies, const pid_t *skip, int n_skip)
{
	struct child_count c = { 0, 0 };

	if (!for_each_child(skip, n_skip, count_one, &c))
		die("opendir /proc: %s", strerror(errno));
	if (zombies)
		*zombies = c.zombies;
	return c.n;
}

static bool kill_one(pid_t pid, char state, void *arg)
{
	(void)state;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	++*(int *)arg;
	return true;
}

int kill_children(const pid_t *skip, int n_skip)
{
	int n = 0;

	for_each_child(skip, n_skip, kill_one, &n);
	return n;
}

int count_fds_nofd(void)
{
	struct rlimit lim;
	int n = 0;

	getrlimit(RLIMIT_NOFILE, &lim);
	for (rlim_t fd = 0; fd < lim.rlim_cur && fd < 65536; fd++)
		if (fcntl((int)fd, F_GETFD) >= 0)
			n++;
	return n;
}

/* Field 38 of /proc/PID/stat: the signal its parent gets at its exit
 * (0 for a clone child such as the library's kick child), or -1. */
static int exit_signal_of(pid_t pid)
{
	char path[64], buf[1024], *p, *save = NULL;
	ssize_t len;
	int fd, field = 2;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = 0;
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	for (p = strtok_r(p + 1, " ", &save); p; p = strtok_r(NULL, " ", &save))
		if (++field == 38)
			return atoi(p);
	return -1;
}

static bool show_one(pid_t pid, char state, void *arg)
{
	char path[64], cmd[256] = "";
	ssize_t len;
	int fd;

	(void)arg;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		len = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		for (ssize_t i = 0; i < len; i++)
			if (!cmd[i])
				cmd[i] = ' ';
		if (len > 0)
			cmd[len] = 0;
	}
	tap_diag("child %d state %c, exit signal %d: %s", pid, state, exit_signal_of(pid),
		 cmd);
	return true;
}

void show_children(const pid_t *skip, int n_skip)
{
	for_each_child(skip, n_skip, show_one, NULL);
}

int zombies_after_grace(int grace_ms, const pid_t *skip, int n_skip)
{
	uint64_t end = now_ns() + (uint64_t)grace_ms * 1000000u;
	int z;

	for (;;) {
		scan_children(&z, skip, n_skip);
		if (!z || now_ns() > end)
			return z;
		usleep(10000);
	}
}

void cloexec_inherited_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (fd > 2 && fd != dirfd(d))
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	closedir(d);
}

const char *child_path(void)
{
	static char path[PATH_MAX];
	char *slash;
	ssize_t n;

	if (path[0])
		return path;
	if (getenv("STRESS_CHILD")) {
		snprintf(path, sizeof(path), "%s", getenv("STRESS_CHILD"));
		return path;
	}
	n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (n < 0)
		die("readlink /proc/self/exe: %s", strerror(errno));
	path[n] = 0;
	slash = strrchr(path, '/');
	strcpy(slash + 1, "stress-child");
	if (access(path, X_OK))
		die("%s: %s", path, strerror(errno));
	return path;
}

int forced_backend(void)
{
	const char *b = getenv("PIDSHIM_BACKEND");

	if (!b || !*b)
		return 0;
	if (!strcmp(b, "pidfd"))
		return PIDSHIM_BACKEND_PIDFD;
	if (!strcmp(b, "pidfd-poll"))
		return PIDSHIM_BACKEND_PIDFD_POLL;
	if (!strcmp(b, "signalfd"))
		return PIDSHIM_BACKEND_SIGNALFD;
	die("PIDSHIM_BACKEND=%s is not a backend name", b);
}

const char *backend_needs(void)
{
	switch (forced_backend()) {
	case PIDSHIM_BACKEND_PIDFD:
		return "backend pidfd needs pidfd_open and waitid(P_PIDFD) (Linux 5.4), "
		       "which this kernel lacks";
	case PIDSHIM_BACKEND_PIDFD_POLL:
		return "backend pidfd-poll needs pidfd_open (Linux 5.3), which this "
		       "kernel lacks";
	default:
		return "backend signalfd needs signalfd (Linux 2.6.22), which this "
		       "kernel lacks";
	}
}

int require_backend(void)
{
	int want = forced_backend(), got = pidshim_backend();

	if (got == -ENOSYS && want) {
		printf("1..0 # SKIP %s\n", backend_needs());
		exit(0);
	}
	if (got < 0)
		die("pidshim_backend() = %d (%s) with PIDSHIM_BACKEND=%s", got,
		    strerror(-got),
		    getenv("PIDSHIM_BACKEND") ? getenv("PIDSHIM_BACKEND") : "");
	if (want && got != want)
		die("forced backend %d but the library runs %d", want, got);
	return got;
}

int sentinel_start(struct sentinel *s)
{
	posix_spawn_file_actions_t fa;
	int in[2], out[2], rc;
	char *argv[] = { (char *)"stress-child", (char *)"S", NULL };
	char c;

	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	rc = posix_spawn(&s->pid, child_path(), &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	if (rc) {
		close(in[1]);
		close(out[0]);
		return -rc;
	}
	s->in_w = in[1];
	/* Wait until its handlers are installed. */
	while ((rc = (int)read(out[0], &c, 1)) < 0 && errno == EINTR)
		;
	close(out[0]);
	return rc == 1 ? 0 : -EIO;
}

int sentinel_stop(struct sentinel *s)
{
	int st;

	close(s->in_w);
	while (waitpid(s->pid, &st, 0) < 0) {
		if (errno == ECHILD)
			return SENTINEL_STOLEN;
		if (errno != EINTR)
			die("waitpid(sentinel %d): %s", s->pid, strerror(errno));
	}
	if (WIFSIGNALED(st))
		return -WTERMSIG(st);
	return WEXITSTATUS(st);
}

int set_ns_last_pid(pid_t pid)
{
	char buf[32];
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	int len, rc = 0;

	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%d", pid - 1);
	if (write(fd, buf, (size_t)len) != len)
		rc = -errno;
	close(fd);
	return rc;
}
