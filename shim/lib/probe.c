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

static _Atomic int cached_backend; /* 0: not probed yet */
static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;

static bool transient(long err)
{
	return err == -EMFILE || err == -ENFILE || err == -ENOMEM;
}

struct features {
	bool pidfd_open;	/* Linux 5.3 */
	bool pidfd_send_signal; /* Linux 5.1 */
	bool waitid_pidfd;	/* Linux 5.4 */
};

static int probe_features(struct features *f)
{
	siginfo_t si;
	long fd, r;

	memset(f, 0, sizeof(*f));
	fd = guarded_syscall(__NR_pidfd_open, getpid(), 0, 0, 0, 0);
	if (fd < 0)
		return transient(fd) ? (int)fd : 0;
	f->pidfd_open = true;

	r = guarded_syscall(__NR_pidfd_send_signal, fd, 0, 0, 0, 0);
	f->pidfd_send_signal = r == 0;

	/* We are not our own child: ECHILD proves P_PIDFD is understood;
	 * kernels before 5.4 reject the idtype with EINVAL. */
	memset(&si, 0, sizeof(si));
	r = guarded_syscall(SYS_waitid, P_PIDFD, fd, (long)&si, WEXITED | WNOHANG, 0);
	f->waitid_pidfd = r == -ECHILD || r == 0;
	close((int)fd);
	return 0;
}

/* The signalfd backend needs eventfd (one per handle) and epoll (sets). */
static int probe_fallback(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (fd < 0)
		return transient(-errno) ? -errno : -ENOSYS;
	close(fd);
	return 0;
}

static int forced_backend(void)
{
	const char *v = secure_getenv("PIDSHIM_BACKEND");

	if (!v || !*v)
		return 0;
	for (int b = PIDSHIM_BACKEND_PIDFD; b <= PIDSHIM_BACKEND_SIGNALFD; b++)
		if (strcmp(v, pidshim_backend_name(b)) == 0)
			return b;
	return -EINVAL;
}

static int probe(void)
{
	sigset_t oldmask;
	struct features f;
	int forced, r;

	forced = forced_backend();
	if (forced < 0)
		return forced;
	r = probe_fallback();
	if (r < 0)
		return r;

	sigsys_guard_begin(&oldmask);
	r = probe_features(&f);
	sigsys_guard_end(&oldmask);
	if (r < 0)
		return r;

	bool have_poll = f.pidfd_open && f.pidfd_send_signal;
	bool have_pidfd = have_poll && f.waitid_pidfd;

	switch (forced) {
	case PIDSHIM_BACKEND_PIDFD:
		return have_pidfd ? forced : -ENOSYS;
	case PIDSHIM_BACKEND_PIDFD_POLL:
		return have_poll ? forced : -ENOSYS;
	case PIDSHIM_BACKEND_SIGNALFD:
		return forced;
	}
	if (have_pidfd)
		return PIDSHIM_BACKEND_PIDFD;
	if (have_poll)
		return PIDSHIM_BACKEND_PIDFD_POLL;
	return PIDSHIM_BACKEND_SIGNALFD;
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
	return b;
}

PIDSHIM_API const char *pidshim_backend_name(int backend)
{
	switch (backend) {
	case PIDSHIM_BACKEND_PIDFD:
		return "pidfd";
	case PIDSHIM_BACKEND_PIDFD_POLL:
		return "pidfd-poll";
	case PIDSHIM_BACKEND_SIGNALFD:
		return "signalfd";
	}
	return NULL;
}

HIDDEN int handle_backend_ops(const struct backend_ops **ops)
{
	int b = pidshim_backend();

	switch (b) {
	case PIDSHIM_BACKEND_PIDFD:
		*ops = &pidshim_pidfd_ops;
		return 0;
	case PIDSHIM_BACKEND_PIDFD_POLL:
		*ops = &pidshim_pidfd_poll_ops;
		return 0;
	case PIDSHIM_BACKEND_SIGNALFD:
		*ops = &pidshim_signalfd_ops;
		return 0;
	}
	/* Transient probe errors pass through; a forced backend the kernel
	 * cannot serve, or an unknown PIDSHIM_BACKEND name, is -ENOSYS. */
	return b == -EMFILE || b == -ENFILE || b == -ENOMEM ? b : -ENOSYS;
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
