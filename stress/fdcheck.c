// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pidshim-fdcheck - no library fd may reach a child, on one backend
 * (PIDSHIM_BACKEND).  With handles of every kind open (spawned children
 * still running, an adopted child, a set with members, a reaped handle)
 * it starts children three ways - pidshim_spawn, plain posix_spawn and
 * fork+exec by other code - and reads /proc/<child>/fd while the child
 * runs (after it said its exec is done): only 0, 1 and 2 may be there.
 * It also checks that every fd the library opened is close-on-exec.
 */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pidshim.h>

extern char **environ;

static const char *bname;

/* The fds of pid, other than 0..2, as a printable list; returns the count. */
static int extra_fds(pid_t pid, char *list, size_t size)
{
	char path[64];
	DIR *d;
	struct dirent *de;
	int n = 0;

	list[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		die("%s: %s", path, strerror(errno));
	while ((de = readdir(d))) {
		char link[256] = "", lpath[600];
		ssize_t len;
		int fd = atoi(de->d_name);

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd <= 2)
			continue;
		snprintf(lpath, sizeof(lpath), "%s/%s", path, de->d_name);
		len = readlink(lpath, link, sizeof(link) - 1);
		if (len > 0)
			link[len] = 0;
		n++;
		snprintf(list + strlen(list), size - strlen(list), " %d->%s", fd, link);
	}
	closedir(d);
	return n;
}

/* Wait for the child's "exec done" byte on pipe rd. */
static void ready(int rd)
{
	char c;

	if (read(rd, &c, 1) != 1)
		die("child did not start");
}

static void check_child(const char *how, pid_t pid)
{
	char list[1024];
	int n = extra_fds(pid, list, sizeof(list));

	tap_ok(n == 0, "%s: child started by %s holds no fd beyond 0-2%s%s", bname, how,
	       n ? ":" : "", list);
}

int main(void)
{
	struct pidshim *run[3], *adopted, *reaped, *probe;
	struct pidshim_set *set;
	struct pidshim_exit e;
	char *argv_w[] = { (char *)"stress-child", (char *)"w", NULL };
	char *argv_r[] = { (char *)"stress-child", (char *)"r", NULL };
	posix_spawn_file_actions_t fa;
	int p[2], rc, backend, fds_before, bad_cloexec = 0;
	pid_t pid;
	DIR *d;
	struct dirent *de;

	setvbuf(stdout, NULL, _IOLBF, 0);
	cloexec_inherited_fds();
	child_path();
	if (forced_backend() && pidshim_backend() == -ENOSYS) {
		printf("1..0 # SKIP %s\n", backend_needs());
		return 0;
	}
	backend = require_backend();
	bname = pidshim_backend_name(backend);
	fds_before = count_fds();

	for (int i = 0; i < 3; i++)
		if ((rc = pidshim_spawn(&run[i], child_path(), NULL, NULL, argv_w, NULL)))
			die("spawn: %d", rc);
	if (posix_spawn(&pid, child_path(), NULL, NULL, argv_w, environ))
		die("posix_spawn");
	if ((rc = pidshim_open(pid, 0, &adopted)))
		die("open: %d", rc);
	if ((rc = pidshim_set_new(&set)) || (rc = pidshim_set_add(set, run[0])) ||
	    (rc = pidshim_set_add(set, adopted)))
		die("set: %d", rc);
	if ((rc = pidshim_spawn(&reaped, child_path(), NULL, NULL, argv_w, NULL)) ||
	    (rc = pidshim_send_signal(reaped, SIGKILL)) || (rc = pidshim_wait(reaped, &e)))
		die("reaped: %d", rc);

	/* Every fd this process gained is the library's: all must be CLOEXEC. */
	d = opendir("/proc/self/fd");
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd <= 2 || fd == dirfd(d))
			continue;
		if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC)) {
			bad_cloexec++;
			tap_diag("%s: fd %d is not close-on-exec", bname, fd);
		}
	}
	closedir(d);
	tap_ok(!bad_cloexec, "%s: all %d library fds are close-on-exec", bname,
	       count_fds() - fds_before);

	/* 1. through the library */
	if (pipe2(p, O_CLOEXEC))
		die("pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	if ((rc = pidshim_spawn(&probe, child_path(), &fa, NULL, argv_r, NULL)))
		die("spawn: %d", rc);
	close(p[1]);
	ready(p[0]);
	close(p[0]);
	check_child("pidshim_spawn", pidshim_pid(probe));
	pidshim_send_signal(probe, SIGKILL);
	rc = pidshim_wait(probe, &e);
	tap_ok(!rc && e.info.si_code == CLD_KILLED && e.info.si_status == SIGKILL,
	       "%s: probe child killed and reaped (%d)", bname, rc);
	pidshim_close(probe);

	/* 2. plain posix_spawn by other code in the same process */
	if (pipe2(p, O_CLOEXEC))
		die("pipe");
	posix_spawn_file_actions_destroy(&fa);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	if (posix_spawn(&pid, child_path(), &fa, NULL, argv_r, environ))
		die("posix_spawn");
	close(p[1]);
	ready(p[0]);
	close(p[0]);
	check_child("posix_spawn", pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	/* 3. fork + exec */
	if (pipe2(p, O_CLOEXEC))
		die("pipe");
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		execv(child_path(), argv_r);
		_exit(127);
	}
	close(p[1]);
	ready(p[0]);
	close(p[0]);
	check_child("fork+exec", pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	posix_spawn_file_actions_destroy(&fa);

	for (int i = 0; i < 3; i++) {
		pidshim_send_signal(run[i], SIGKILL);
		pidshim_wait(run[i], &e);
		pidshim_close(run[i]);
	}
	pidshim_send_signal(adopted, SIGKILL);
	pidshim_wait(adopted, &e);
	pidshim_close(adopted);
	pidshim_close(reaped);
	pidshim_set_free(set);
	tap_ok(zombies_after_grace(1000, NULL, 0) == 0 && scan_children(NULL, NULL, 0) == 0,
	       "%s: nothing left behind", bname);
	return tap_done();
}
