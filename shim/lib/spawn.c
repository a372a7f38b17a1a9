/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * spawn.c - pidshim_spawn and pidshim_spawnp: posix_spawn a child and make
 * its handle.
 *
 * posix_spawn (glibc >= 2.24, musl) reports the child's exec error as its
 * return value and reaps that child itself, so a missing program leaves no
 * zombie.  What can fail is made before the spawn where possible (the
 * signalfd backend's eventfd); a pidfd can only be opened after it.  If the
 * handle still cannot be made, the child is killed and reaped: a child
 * nobody can wait for must not outlive the call.
 *
 * The library never blocks SIGCHLD in the caller's thread, so the child
 * starts with the mask and dispositions plain posix_spawn would give it.
 */
#include <stdlib.h>

#include "internal.h"

extern char **environ;

static int spawn_common(bool search, struct pidshim **ret, const char *path,
			const posix_spawn_file_actions_t *actions,
			const posix_spawnattr_t *attr, char *const argv[],
			char *const envp[])
{
	const struct backend_ops *ops;
	struct pidshim *h;
	pid_t pid;
	int r;

	if (!ret || !path || !argv)
		return -EINVAL;
	r = handle_backend_ops(&ops);
	if (r < 0)
		return r;
	r = handle_new(ops, 0, true, &h);
	if (r < 0)
		return r;
	h->child = true;
	if (ops->prepare) {
		r = ops->prepare(h);
		if (r < 0)
			goto fail;
	}
	if (search)
		r = posix_spawnp(&pid, path, actions, attr, argv, envp ? envp : environ);
	else
		r = posix_spawn(&pid, path, actions, attr, argv, envp ? envp : environ);
	if (r) {
		r = -r;
		goto fail;
	}
	h->pid = pid;
	r = ops->attach(h);
	if (r < 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto fail;
	}
	*ret = h;
	return 0;
fail:
	handle_free(h);
	return r;
}

PIDSHIM_API int pidshim_spawn(struct pidshim **ret, const char *path,
			      const posix_spawn_file_actions_t *actions,
			      const posix_spawnattr_t *attr, char *const argv[],
			      char *const envp[])
{
	return spawn_common(false, ret, path, actions, attr, argv, envp);
}

PIDSHIM_API int pidshim_spawnp(struct pidshim **ret, const char *file,
			       const posix_spawn_file_actions_t *actions,
			       const posix_spawnattr_t *attr, char *const argv[],
			       char *const envp[])
{
	return spawn_common(true, ret, file, actions, attr, argv, envp);
}
