/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ident.c - who a PID names.  A PID is only a number: once its process is
 * reaped (by the library, by other code, or by the kernel when SIGCHLD is
 * ignored) a new process may take it.  With a pidfd the kernel answers for
 * us; without one, an fd on /proc/PID names the process itself on every
 * kernel: lookups through it fail with ESRCH once the process is reaped,
 * whatever took the PID since.  It is only usable where /proc shows this
 * process's own pid namespace (not after unshare(CLONE_NEWPID) without a
 * new /proc mount): there the PID has to be trusted, the one case the
 * fallback backend cannot cover (pidshim(7)).
 *
 * Also here: whether a process is our child, decided by its parent, never
 * by whether waitid() answers for it (a process this program traces is
 * waitable without being a child), and whether a PID leads a thread group.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "internal.h"

/* /proc shows our pid namespace: /proc/self is our own PID there. */
static bool proc_is_ours(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strtol(buf, NULL, 10) == self_pid();
}

/* An fd naming the process pid, -ESRCH when it does not exist, -ENOENT
 * when /proc cannot name it here, or another -errno. */
HIDDEN int ident_open_procfd(pid_t pid)
{
	char path[32];
	int fd;

	if (!proc_is_ours())
		return -ENOENT;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	return fd_move_above_stdio(fd);
}

/*
 * Is the process procfd names still unreaped?  (No procfd: unknown, and
 * then the PID is trusted.)  Any path looked up from the fd is first
 * checked against the process (proc_pid_permission, Linux 3.3): ESRCH
 * once it is reaped.  "." asks only that: a name such as "stat" would
 * also make a dentry and an inode for it in every new process's
 * directory, which its reaping then has to invalidate (3 to 7 us more per
 * child, and the look happens at least once per child).
 */
HIDDEN bool ident_alive(int procfd)
{
	struct stat st;

	return procfd < 0 || fstatat(procfd, ".", &st, 0) == 0 || errno != ESRCH;
}

/* The 4th field of /proc/PID/stat, after the parenthesised name. */
static int proc_parent(pid_t pid, pid_t *ppid)
{
	char path[40], buf[512], *p;
	ssize_t n;
	int fd;

	if (!proc_is_ours())
		return -ENOENT;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || !p[1] || !p[2] || !p[3])
		return -EIO;
	*ppid = (pid_t)strtol(p + 4, NULL, 10);
	return 0;
}

/*
 * The parent of pid (a thread group id): 0 and *ppid, or -ENOENT when
 * neither PIDFD_GET_INFO nor /proc can tell here, or -ESRCH.  With a
 * pidfd, the answer is checked to be about the pidfd's process (it was
 * not reaped while /proc was read, so the PID was still its own).
 */
HIDDEN int ident_parent(pid_t pid, int pidfd, pid_t *ppid)
{
	int r;

	/* PIDFD_GET_INFO (Linux 6.13) names a pidfd's parent without /proc. */
	if (pidfd >= 0) {
		struct pidshim_pidfd_info info;

		memset(&info, 0, sizeof(info));
		info.mask = PIDFD_INFO_PID;
		if (ioctl(pidfd, PIDSHIM_PIDFD_GET_INFO, &info) == 0 &&
		    (info.mask & PIDFD_INFO_PID)) {
			*ppid = (pid_t)info.ppid;
			return 0;
		}
		if (errno == ESRCH)
			return -ESRCH;
	}
	r = proc_parent(pid, ppid);
	if (r == 0 && pidfd >= 0 && sys_pidfd_send_signal(pidfd, 0) == -ESRCH)
		return -ESRCH;
	return r;
}

/* 1 when pid leads a thread group (is a process), 0 when it is only the
 * id of a thread, -errno when that cannot be told. */
HIDDEN int ident_is_group_leader(pid_t pid)
{
	if (syscall(SYS_tgkill, pid, pid, 0) == 0 || errno == EPERM)
		return 1;
	return errno == ESRCH ? 0 : -errno;
}

/*
 * Reap our child pid that is about to end (its exec failed, or it was
 * killed), by PID: only while its pidfd or its /proc fd (either may be -1)
 * proves the PID still names it, since other code may reap it first and
 * the program's next child may take the PID.  Never a blocking waitid on a
 * PID: the kernel resolves the PID when the call starts, so it could sleep
 * on that newcomer.  Gives up after about a second (the child then stays
 * for whoever reaps it).
 */
HIDDEN void ident_reap_exiting(pid_t pid, int pidfd, int procfd)
{
	for (int i = 0; i < 5000; i++) {
		siginfo_t si;

		if (pidfd >= 0 ? sys_pidfd_send_signal(pidfd, 0) == -ESRCH
			       : procfd >= 0 && !ident_alive(procfd))
			return; /* reaped by other code */
		memset(&si, 0, sizeof(si));
		if (sys_waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT, NULL) < 0)
			return;
		if (si.si_pid == pid &&
		    (si.si_code == CLD_EXITED || si.si_code == CLD_KILLED ||
		     si.si_code == CLD_DUMPED)) {
			sys_waitid(P_PID, pid, &si, WEXITED | WNOHANG, NULL);
			return;
		}
		usleep(200);
	}
}
