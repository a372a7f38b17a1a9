/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * probe.c - choose the backend once per process by testing what the kernel
 * does, never by reading its version.
 *
 * Every primitive a backend uses is tried (Go learnt that qemu-user had
 * pidfd_open but not the rest).  ENOSYS, EPERM, EACCES and EINVAL mean
 * "missing": old kernels and container seccomp profiles answer that way.
 * A SECCOMP_RET_TRAP filter (Android) sends SIGSYS instead; a temporary
 * handler turns it into "missing" and the caller's handler is put back.
 * EMFILE, ENFILE and ENOMEM are transient and never cached: CPython once
 * took EMFILE as "no pidfd" for the rest of the process.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "internal.h"
#include "sigsys-guard.h"

/* backends.h: the library's view of the table carries the operations. */
#define BACKEND_OPS(name) (&pidshim_##name##_ops)
#include "backends.h"

static _Atomic int cached_backend; /* 0: not probed yet */
static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;

static bool transient(long err)
{
	return err == -EMFILE || err == -ENFILE || err == -ENOMEM;
}

/*
 * The kernel features the backends need (backends.h), as *have.  A
 * missing one is simply absent; a transient error is returned.
 */
static int probe_features(unsigned int *have)
{
	siginfo_t si;
	long fd, r;

	*have = 0;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0 && transient(-errno))
		return -errno;
	if (fd >= 0) {
		*have |= BF_EVENTFD;
		close((int)fd);
	}

	fd = guarded_syscall(__NR_pidfd_open, getpid(), 0, 0, 0, 0);
	if (fd < 0)
		return transient(fd) ? (int)fd : 0;
	*have |= BF_PIDFD_OPEN;

	r = guarded_syscall(__NR_pidfd_send_signal, fd, 0, 0, 0, 0);
	if (r == 0)
		*have |= BF_PIDFD_SEND_SIGNAL;

	/* We are not our own child: ECHILD proves P_PIDFD is understood;
	 * kernels before 5.4 reject the idtype with EINVAL. */
	memset(&si, 0, sizeof(si));
	r = guarded_syscall(SYS_waitid, P_PIDFD, fd, (long)&si, WEXITED | WNOHANG, 0);
	if (r == -ECHILD || r == 0)
		*have |= BF_WAITID_PIDFD;
	close((int)fd);
	return 0;
}

/* PIDSHIM_BACKEND: NULL when unset, *err -EINVAL for an unknown name. */
static const struct backend_def *forced_backend(int *err)
{
	const char *v = secure_getenv("PIDSHIM_BACKEND");
	const struct backend_def *b;

	*err = 0;
	if (!v || !*v)
		return NULL;
	b = backend_by_name(v);
	if (!b)
		*err = -EINVAL;
	return b;
}

static int probe(void)
{
	const struct backend_def *forced, *best;
	unsigned int have;
	sigset_t oldmask;
	int r;

	forced = forced_backend(&r);
	if (r < 0)
		return r;
	sigsys_guard_begin(&oldmask);
	r = probe_features(&have);
	sigsys_guard_end(&oldmask);
	if (r < 0)
		return r;
	/* A forced backend runs where the kernel serves it: never a switch. */
	if (forced)
		return backend_served(forced, have) ? forced->id : -ENOSYS;
	best = backend_best(have);
	return best ? best->id : -ENOSYS;
}

PIDSHIM_API int pidshim_backend(void)
{
	int b = atomic_load_explicit(&cached_backend, memory_order_acquire), cs;

	if (b)
		return b;
	cs = cancel_off(); /* close() inside the probe is a cancellation point */
	pthread_mutex_lock(&probe_lock);
	b = atomic_load_explicit(&cached_backend, memory_order_relaxed);
	if (!b) {
		b = probe();
		if (!transient(b))
			atomic_store_explicit(&cached_backend, b, memory_order_release);
	}
	pthread_mutex_unlock(&probe_lock);
	cancel_restore(cs);
	return RC_FILTER(b, ENOSYS, EINVAL, EMFILE, ENFILE, ENOMEM);
}

PIDSHIM_API const char *pidshim_backend_name(int backend)
{
	const struct backend_def *b = backend_by_id(backend);

	return b ? b->name : NULL;
}

HIDDEN int handle_backend_ops(const struct backend_ops **ops)
{
	int id = pidshim_backend();
	const struct backend_def *b = backend_by_id(id);

	if (b) {
		*ops = b->ops;
		return 0;
	}
	/* Transient probe errors pass through; a forced backend the kernel
	 * cannot serve, or an unknown PIDSHIM_BACKEND name, is -ENOSYS. */
	return transient(id) ? id : -ENOSYS;
}

HIDDEN void probe_atfork_prepare(void)
{
	pthread_mutex_lock(&probe_lock);
}

HIDDEN void probe_atfork_parent(void)
{
	pthread_mutex_unlock(&probe_lock);
}

HIDDEN void probe_atfork_child(void)
{
	pthread_mutex_unlock(&probe_lock);
}
