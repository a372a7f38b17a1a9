/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * impl_rawpidfd.c - the floor of every design that gives each child its
 * own file descriptor (pidshim's pidfd backends, GLib, sd-event): bare
 * syscalls, no library, no bookkeeping beyond an array.  posix_spawn(3),
 * then pidfd_open(2) on the child; one at a time the pidfd is waited with
 * waitid(P_PIDFD); more at a time, and for B3, every pidfd sits in one
 * epoll and the ready one is reaped with waitid(P_PIDFD), removed and
 * closed.  Set beside "raw" (posix_spawn + waitpid, no fd at all), it
 * shows what the kernel charges for a pidfd per child, which no library
 * built on pidfds can avoid.  Linux >= 5.4 (P_PIDFD); it says so and
 * steps aside elsewhere.
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif

extern char **environ;

static pid_t idle_pid[BENCH_MAX_IDLE];
static int idle_fd[BENCH_MAX_IDLE];
static int n_idle;
static int ep = -1;

static int pidfd_open(pid_t pid)
{
	long fd = syscall(__NR_pidfd_open, pid, 0);

	return fd < 0 ? -errno : (int)fd;
}

static int reap(int fd)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)fd, &si, WEXITED) < 0)
		return -errno;
	return 0;
}

static int rp_init(void)
{
	siginfo_t si;
	int fd = pidfd_open(getpid());

	if (fd < 0)
		return fd == -EPERM ? -ENOSYS : fd;
	/* P_PIDFD (5.4): our own pidfd names no child, so ECHILD, not EINVAL. */
	if (waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) == 0 || errno != ECHILD) {
		close(fd);
		return -ENOSYS;
	}
	close(fd);
	ep = epoll_create1(EPOLL_CLOEXEC);
	return ep < 0 ? -errno : 0;
}

/* posix_spawn argv and open its pidfd; in_loop: also add it to the epoll. */
static int spawn(const char *path, char *const argv[], int in_loop, pid_t *pid)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int r, fd;

	r = posix_spawn(pid, path, NULL, NULL, argv, environ);
	if (r)
		return -r;
	fd = pidfd_open(*pid);
	if (fd < 0)
		return fd;
	if (in_loop) {
		ev.data.fd = fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
	}
	return fd;
}

/* Wait for one child in the epoll to exit; reap, remove and close it. */
static int reap_one_ready(void)
{
	struct epoll_event ev;
	int r;

	do
		r = epoll_wait(ep, &ev, 1, -1);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	r = reap(ev.data.fd);
	epoll_ctl(ep, EPOLL_CTL_DEL, ev.data.fd, NULL);
	close(ev.data.fd);
	return r;
}

static int rp_spawn_wait(const char *path, int n, int conc)
{
	char *argv[] = { (char *)path, NULL };
	int started = 0, done = 0, fd, r;
	pid_t pid;

	if (conc <= 1) {
		for (; done < n; done++) {
			fd = spawn(path, argv, 0, &pid);
			if (fd < 0)
				return fd;
			r = reap(fd);
			close(fd);
			if (r < 0)
				return r;
		}
		return 0;
	}
	while (done < n) {
		while (started < n && started - done < conc) {
			fd = spawn(path, argv, 1, &pid);
			if (fd < 0)
				return fd;
			started++;
		}
		r = reap_one_ready();
		if (r < 0)
			return r;
		done++;
	}
	return 0;
}

static int rp_track_idle(char *const argv[], int k, int in_loop)
{
	while (n_idle < k) {
		int fd = spawn(argv[0], argv, in_loop, &idle_pid[n_idle]);

		if (fd < 0)
			return fd;
		idle_fd[n_idle++] = fd;
	}
	return 0;
}

static int rp_probe(char *const argv[], int in_loop, uint64_t *woke)
{
	struct epoll_event ev;
	int fd, r;
	pid_t pid;

	fd = spawn(argv[0], argv, in_loop, &pid);
	if (fd < 0)
		return fd;
	if (!in_loop) {
		r = reap(fd);
		*woke = bench_now_ns();
		close(fd);
		return r;
	}
	do
		r = epoll_wait(ep, &ev, 1, -1);
	while (r < 0 && errno == EINTR);
	*woke = bench_now_ns();
	if (r < 0)
		return -errno;
	if (ev.data.fd != fd)
		return -EPROTO; /* an idle child never exits */
	r = reap(fd);
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	return r;
}

static void rp_untrack_all(void)
{
	for (int i = 0; i < n_idle; i++)
		kill(idle_pid[i], SIGKILL);
	for (int i = 0; i < n_idle; i++) {
		reap(idle_fd[i]);
		epoll_ctl(ep, EPOLL_CTL_DEL, idle_fd[i], NULL);
		close(idle_fd[i]);
	}
	n_idle = 0;
}

const struct bench_ops bench_impl = {
	.name = "raw-pidfd",
	.init = rp_init,
	.spawn_wait = rp_spawn_wait,
	.track_idle = rp_track_idle,
	.probe = rp_probe,
	.untrack_all = rp_untrack_all,
};
