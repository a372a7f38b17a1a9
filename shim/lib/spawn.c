/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * spawn.c - pidshim_spawn and pidshim_spawnp: start a child and make its
 * handle, with no moment where the child is known only by its PID.
 *
 * Once the child has run, other code (a SIGCHLD handler reaping
 * everything, SIGCHLD ignored) may reap it at any time, and its PID may
 * then name a stranger.  So the name of the process comes from its
 * creation where the kernel allows:
 * - glibc >= 2.39: pidfd_spawn/pidfd_spawnp (looked up at run time, so one
 *   binary serves older and newer glibc) returns the pidfd of the child;
 * - else, without file actions: the library's own clone spawn
 *   (clone-spawn.c), with CLONE_PIDFD, or on the fallback backend with
 *   the child opening its own /proc fd before exec;
 * - else posix_spawn, and the pidfd or /proc fd is opened right after it
 *   returns.  If the child was already reaped by then (ESRCH), spawn
 *   still succeeds: the program ran, and the handle's wait says -ECHILD.
 *   (Only if its PID were also reused within those microseconds could the
 *   handle name a stranger: see pidshim_spawn(3).)
 *
 * posix_spawn (glibc >= 2.24, musl) reports the child's exec error as its
 * return value and reaps that child itself, so a missing program leaves no
 * zombie.  What can fail is made before the spawn where possible.  If the
 * handle still cannot be made, the child is killed (through its pidfd
 * where there is one) and reaped: a child nobody can wait for must not
 * outlive the call.
 *
 * The library never blocks SIGCHLD in the caller's thread, so the child
 * starts with the mask and dispositions plain posix_spawn would give it.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "internal.h"

#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 34) /* dlsym lives in libc itself */
#define HAVE_RUNTIME_PIDFD_SPAWN 1
#include <dlfcn.h>
#endif
#endif

extern char **environ;

typedef int (*pidfd_spawn_fn)(int *, const char *, const posix_spawn_file_actions_t *,
			      const posix_spawnattr_t *, char *const[], char *const[]);
typedef pid_t (*pidfd_getpid_fn)(int);

/* CLONE_PIDFD as the kernel (or an emulator) answered: 0 unknown, 1 yes,
 * -1 no. */
static _Atomic int clone_pidfd_works;

#ifdef HAVE_RUNTIME_PIDFD_SPAWN
/* glibc's pidfd_spawn[p] and pidfd_getpid (2.39), or NULL. */
static void *glibc_sym(const char *name)
{
	return dlsym(RTLD_DEFAULT, name);
}
#endif

static int spawn_with_glibc_pidfd(const struct spawn_req *rq, pid_t *pid, int *pidfd)
{
#ifdef HAVE_RUNTIME_PIDFD_SPAWN
	static _Atomic(pidfd_spawn_fn) spawn_fn, spawnp_fn;
	static _Atomic(pidfd_getpid_fn) getpid_fn;
	static _Atomic int looked;
	pidfd_spawn_fn fn;
	pidfd_getpid_fn gp;
	int fd = -1, r;
	pid_t p;

	if (!atomic_load(&looked)) {
		atomic_store(&spawn_fn, (pidfd_spawn_fn)glibc_sym("pidfd_spawn"));
		atomic_store(&spawnp_fn, (pidfd_spawn_fn)glibc_sym("pidfd_spawnp"));
		atomic_store(&getpid_fn, (pidfd_getpid_fn)glibc_sym("pidfd_getpid"));
		atomic_store(&looked, 1);
	}
	fn = atomic_load(rq->search ? &spawnp_fn : &spawn_fn);
	gp = atomic_load(&getpid_fn);
	if (!fn || !gp)
		return -ENOSYS;
	r = fn(&fd, rq->path, rq->actions, rq->attr, rq->argv,
	       rq->envp ? rq->envp : environ);
	if (r == ENOSYS || r == EINVAL) /* clone3/CLONE_PIDFD refused */
		return -ENOSYS;
	if (r)
		return -r;
	p = gp(fd);
	if (p <= 0) { /* the child was reaped by other code already */
		close(fd);
		return -ESRCH;
	}
	*pid = p;
	*pidfd = fd_move_above_stdio(fd);
	return 0;
#else
	(void)rq;
	(void)pid;
	(void)pidfd;
	return -ENOSYS;
#endif
}

static int libc_spawn(const struct spawn_req *rq, pid_t *pid)
{
	char *const *envp = rq->envp ? rq->envp : environ;
	int r;

	if (rq->search)
		r = posix_spawnp(pid, rq->path, rq->actions, rq->attr, rq->argv, envp);
	else
		r = posix_spawn(pid, rq->path, rq->actions, rq->attr, rq->argv, envp);
	return -r;
}

/* The child has no handle and never will: kill it, through its pidfd
 * where there is one, and reap it. */
static void discard_child(pid_t pid, int pidfd)
{
	siginfo_t si;
	int r;

	if (pidfd >= 0) {
		sys_pidfd_send_signal(pidfd, SIGKILL);
		do
			r = sys_waitid(P_PIDFD, pidfd, &si, WEXITED, NULL);
		while (r == -EINTR);
		if (r != -EINVAL)
			return;
		/* waitid(P_PIDFD) before 5.4: reap by PID while the pidfd
		 * says it is still ours. */
	} else {
		/* No pidfd: only a PID that is still our unreaped child. */
		memset(&si, 0, sizeof(si));
		if (sys_waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT, NULL) < 0)
			return;
		kill(pid, SIGKILL);
	}
	ident_reap_exiting(pid, pidfd, -1);
}

/* A handle for a child that ran and was reaped by other code before the
 * library could name it: its fd is readable, its wait -ECHILD. */
static int make_gone(struct pidshim *h, pid_t pid, int spare)
{
	uint64_t one = 1;

	h->pid = pid;
	if (spare < 0) {
		spare = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (spare < 0)
			return -errno;
		spare = fd_move_above_stdio(spare);
		if (spare < 0)
			return spare;
	}
	h->fd = spare;
	(void)!write(spare, &one, sizeof(one));
	atomic_store(&h->state, H_GONE);
	return 0;
}

/*
 * The child exists, known by its PID only: open its pidfd now.  spare,
 * when >= 0, is an fd kept free so that EMFILE hit before the child
 * existed; it is given up for the pidfd, or becomes the fd of a handle
 * whose child is already gone.
 */
static int name_after_spawn(struct pidshim *h, pid_t pid, int spare)
{
	int fd = sys_pidfd_open(pid, 0);

	if ((fd == -EMFILE || fd == -ENFILE) && spare >= 0) {
		close(spare);
		spare = -1;
		fd = sys_pidfd_open(pid, 0);
	}
	/* It ran, and other code reaped it; EINVAL (before 6.9) or ENOENT:
	 * its PID went to a thread meanwhile (a thread leads no group). */
	if (fd == -ESRCH || fd == -EINVAL || fd == -ENOENT)
		return make_gone(h, pid, spare);
	if (spare >= 0)
		close(spare);
	if (fd >= 0)
		fd = fd_move_above_stdio(fd);
	if (fd < 0) {
		discard_child(pid, -1);
		return fd;
	}
	h->pid = pid;
	h->pidfd = fd;
	return 0;
}

/*
 * name_after_spawn, for a child that sent its /proc fd (procfd, or -1 where
 * there is no /proc of ours): the pidfd opened by PID is kept only if the
 * child is still unreaped after it, so the PID still named the child when
 * it was opened.  procfd is consumed.
 */
static int name_after_spawn_proven(struct pidshim *h, pid_t pid, int procfd)
{
	int r = name_after_spawn(h, pid, -1);

	if (r == 0 && h->pidfd >= 0 && !ident_alive(procfd)) {
		close(h->pidfd); /* another process's: ours was reaped */
		h->pidfd = -1;
		r = make_gone(h, pid, -1);
	}
	if (procfd >= 0)
		close(procfd);
	return r;
}

/* pidfd backends: a child and its pidfd, from its creation if possible. */
static int spawn_pidfd(const struct spawn_req *rq, struct pidshim *h)
{
	int r, fd = -1, spare, procfd = -1, works;
	pid_t pid = 0;

	r = spawn_with_glibc_pidfd(rq, &pid, &fd);
	works = atomic_load(&clone_pidfd_works);
	if (r == -ENOSYS && clone_spawn_can(rq) && works >= 0) {
		/* Until the first spawn has shown it, an emulator may run the
		 * clone as a plain fork, without a pidfd: the child's /proc
		 * fd names it then. */
		r = clone_spawn(rq, CLONE_SPAWN_PIDFD | (works ? 0 : CLONE_SPAWN_PROCFD),
				&pid, &fd, &procfd);
		/* An emulator may refuse CLONE_PIDFD, or run the clone as a
		 * plain fork (the child exists, without a pidfd). */
		atomic_store(&clone_pidfd_works,
			     r == -ENOSYS || (r == 0 && fd < 0) ? -1 : 1);
		if (r == 0 && fd < 0)
			return name_after_spawn_proven(h, pid, procfd);
		if (procfd >= 0)
			close(procfd);
	}
	if (r == -ENOSYS && clone_spawn_can(rq) && atomic_load(&clone_pidfd_works) < 0) {
		/* No CLONE_PIDFD here (qemu-user): the child's /proc fd. */
		r = clone_spawn(rq, CLONE_SPAWN_PROCFD, &pid, NULL, &procfd);
		if (r == 0)
			return name_after_spawn_proven(h, pid, procfd);
	}
	if (r == -ESRCH) /* glibc's pidfd_getpid: reaped by other code */
		return make_gone(h, 0, -1);
	if (r == 0) {
		h->pid = pid;
		h->pidfd = fd;
		return 0;
	}
	if (r != -ENOSYS)
		return r;
	/* posix_spawn, then pidfd_open, with an fd kept free for it. */
	spare = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (spare < 0)
		return -errno;
	spare = fd_move_above_stdio(spare);
	if (spare < 0)
		return spare;
	r = libc_spawn(rq, &pid);
	if (r < 0) {
		close(spare);
		return r;
	}
	return name_after_spawn(h, pid, spare);
}

/* Fallback: the child, and the /proc fd that names it where we can get
 * it from its creation; else attach opens it right after. */
static int spawn_fallback(const struct spawn_req *rq, struct pidshim *h)
{
	int r, procfd = -1;
	pid_t pid;

	if (clone_spawn_can(rq)) {
		r = clone_spawn(rq, CLONE_SPAWN_PROCFD, &pid, NULL, &procfd);
		if (r != -ENOSYS) {
			if (r == 0) {
				h->pid = pid;
				h->procfd = procfd;
			}
			return r;
		}
	}
	r = libc_spawn(rq, &pid);
	if (r == 0)
		h->pid = pid;
	return r;
}

/* How posix_spawn finds the program: the path as given, or PATH searched. */
enum spawn_lookup { SPAWN_PATH_AS_GIVEN, SPAWN_SEARCH_PATH };

static int spawn_common(enum spawn_lookup lookup, struct pidshim **ret, const char *path,
			const posix_spawn_file_actions_t *actions,
			const posix_spawnattr_t *attr, char *const argv[],
			char *const envp[])
{
	struct spawn_req rq = {
		lookup == SPAWN_SEARCH_PATH, path, actions, attr, argv, envp
	};
	const struct backend_ops *ops;
	struct pidshim *h;
	int r;

	if (!ret || !path || !argv)
		return -EINVAL;
	r = handle_backend_ops(&ops);
	if (r < 0)
		return r;
	r = handle_new(ops, 0, PIDSHIM_OPEN_OWN, &h);
	if (r < 0)
		return r;
	h->child = true;
	if (ops->prepare) {
		r = ops->prepare(h);
		if (r < 0)
			goto fail;
	}
	r = ops->keeps_exit ? spawn_fallback(&rq, h) : spawn_pidfd(&rq, h);
	if (r < 0)
		goto fail;
	if (atomic_load(&h->state) == H_GONE) {
		*ret = h;
		return 0;
	}
	r = ops->attach(h);
	if (r < 0) {
		discard_child(h->pid, h->pidfd);
		goto fail;
	}
	*ret = h;
	return 0;
fail:
	handle_free(h);
	return r;
}

/* Not through rc_filter: the child's exec error is passed on whatever it
 * is (pidshim.h lists it as "..."). */
PIDSHIM_API int pidshim_spawn(struct pidshim **ret, const char *path,
			      const posix_spawn_file_actions_t *actions,
			      const posix_spawnattr_t *attr, char *const argv[],
			      char *const envp[])
{
	int cs = cancel_off(),
	    r = spawn_common(SPAWN_PATH_AS_GIVEN, ret, path, actions, attr, argv, envp);

	cancel_restore(cs);
	return r;
}

PIDSHIM_API int pidshim_spawnp(struct pidshim **ret, const char *file,
			       const posix_spawn_file_actions_t *actions,
			       const posix_spawnattr_t *attr, char *const argv[],
			       char *const envp[])
{
	int cs = cancel_off(),
	    r = spawn_common(SPAWN_SEARCH_PATH, ret, file, actions, attr, argv, envp);

	cancel_restore(cs);
	return r;
}
