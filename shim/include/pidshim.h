/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pidshim.h - race-free process handles on every Linux kernel.
 *
 * A pidshim handle names one process for its whole life: it cannot be
 * confused with a later process that reuses the PID.  The library picks a
 * backend at run time (pidfd on Linux >= 5.4, pidfd + waitid(P_PID) on 5.3,
 * and a fallback elsewhere or where seccomp blocks pidfds) and offers one
 * API on top: blocking, non-blocking and timed waits with rusage, signals,
 * spawn, and file descriptors that integrate in any poll/epoll event loop.
 *
 * Conventions: every function returning int returns >= 0 on success and a
 * negative errno value on failure, one of those its comment lists; any
 * other error the kernel gives (say EBADF, when the program closed one of
 * the library's fds) is returned as -EFAULT, with nothing changed.  (The
 * exec error of a spawned child is passed on as it is.)  Output parameters
 * are left untouched on failure.  errno is not part of the interface.
 * Every file descriptor the library creates is O_CLOEXEC.  The library
 * never prints, installs no signal handler and never reaps a process it
 * holds no handle for.
 *
 * Living in a program it does not control (pidshim(7), "COEXISTENCE"):
 * - Identity: a handle never reports, reaps or signals a process other than
 *   its own, also when other code reaped it (a waitpid(-1) in a SIGCHLD
 *   handler, SIGCHLD ignored) and its PID was reused: wait gives -ECHILD,
 *   send_signal -ESRCH.  The one exception: the fallback backend where no
 *   /proc of the program's own pid namespace is mounted (it must then
 *   trust the PID).
 * - Stops are not exits: ptrace stops, traps and continues of a child the
 *   program traces are never reported, consumed or acted on; the program's
 *   own waitpid sees every one.  Child-ness is decided by the parent.
 * - Cancellation: pidshim_wait, pidshim_wait_timeout and pidshim_set_wait
 *   are cancellation points, like waitpid(2); no other function is, and a
 *   cancel never leaves a lock held, an fd open or a child unreaped.
 * - fork(): handles and sets a child process inherited are inert there:
 *   waits give -ECHILD, close and free release only the child's copies,
 *   and nothing the parent sees changes.
 * - Async-signal-safe: pidshim_fd (but for a kernel that refuses an epoll
 *   item, see pidshim(7)), pidshim_pid, pidshim_exit_status,
 *   pidshim_backend_name, pidshim_backend once it has answered, and
 *   pidshim_send_signal on the pidfd backends.  Nothing else is (the
 *   fallback backend and the sets take locks): from a SIGCHLD handler,
 *   wake the main loop and wait there.
 *
 * This header is C99 and C++ compatible.  See pidshim(7) for the backends
 * and the kernel table, and the section 3 pages for each function.
 */
#ifndef PIDSHIM_H
#define PIDSHIM_H

/*
 * siginfo_t and posix_spawn are POSIX, not ISO C: under a strict -std=c99
 * with no feature macro, ask for POSIX 2008 if we come first, or say what
 * is missing instead of failing on an unknown type.
 */
#if defined(__STRICT_ANSI__) && !defined(__cplusplus) && !defined(_POSIX_C_SOURCE) && \
	!defined(_XOPEN_SOURCE) && !defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE)
#if !defined(_FEATURES_H)
#define _POSIX_C_SOURCE 200809L
#else
#error "pidshim.h needs POSIX 2008: define _POSIX_C_SOURCE 200809L before any #include"
#endif
#endif

#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PIDSHIM_BUILDING) && defined(__GNUC__)
#define PIDSHIM_API __attribute__((visibility("default")))
#else
#define PIDSHIM_API
#endif

#define PIDSHIM_VERSION_MAJOR  0
#define PIDSHIM_VERSION_MINOR  2
#define PIDSHIM_VERSION_PATCH  0
#define PIDSHIM_VERSION_STRING "0.2.0"

/*
 * The backends, in order of preference.  See pidshim(7).
 *
 * PIDSHIM_BACKEND_SIGNALFD is the fallback for kernels and containers
 * without pidfds.  By default it uses no signalfd and no signal at all: a
 * library thread hears every child exit from waitid(P_ALL, WNOWAIT) and
 * names each process by an fd on /proc/PID, so the program keeps its own
 * SIGCHLD handling untouched.  (A blocking pidshim_wait() sleeps in that
 * waitid itself; to end such waits the library may start a child that
 * exits at once with no exit signal: only a wait with __WALL or __WCLONE
 * could see it, and the library reaps it.  See pidshim(7).)  Only a
 * program that blocks SIGCHLD in every thread gets the signalfd its name
 * promises (PIDSHIM_MECHANISM_SIGNALFD).
 * It kept the name of its first design because the name is API: this enum
 * value, PIDSHIM_BACKEND=signalfd and pidshim_backend_name().
 */
enum pidshim_backend {
	PIDSHIM_BACKEND_PIDFD = 1,	/* pidfd_open + waitid(P_PIDFD)   Linux >= 5.4 */
	PIDSHIM_BACKEND_PIDFD_POLL = 2, /* pidfd_open + waitid(P_PID)     Linux 5.3    */
	PIDSHIM_BACKEND_SIGNALFD = 3,	/* the fallback, no pidfd         older/blocked */
};

struct pidshim;	    /* opaque handle to one process */
struct pidshim_set; /* opaque set of handles, for waiting on many */

/* What the kernel reported when the process ended. */
struct pidshim_exit {
	siginfo_t info;	      /* si_signo == SIGCHLD; si_code CLD_EXITED, CLD_KILLED
				 or CLD_DUMPED; si_status (exit code or signal);
				 si_pid; si_uid */
	struct rusage rusage; /* resources used by the process and its waited-for
				 descendants; all zero when the kernel reported the
				 exit of a non-child (no rusage is available) */
};

/*
 * How the signalfd backend learns of child exits in this process; see
 * pidshim_mechanism() and pidshim(7).
 */
enum pidshim_mechanism {
	PIDSHIM_MECHANISM_THREAD = 1,	/* a library thread in waitid(P_ALL, WNOWAIT) */
	PIDSHIM_MECHANISM_SIGNALFD = 2, /* SIGCHLD, blocked in every thread, read from a
					   signalfd: no thread at all */
};

/*
 * pidshim_open() flags.  Any other bit gives -EINVAL.
 *
 * PIDSHIM_OPEN_OWN: take ownership of a child the program forked itself,
 * as if pidshim_spawn had started it: if the handle is closed while the
 * child runs, the library reaps it when it exits, and other handles on the
 * same process never take its status.  Only children can be owned
 * (-ECHILD otherwise), by one handle at a time (-EBUSY otherwise).
 */
#define PIDSHIM_OPEN_OWN       0x1u
#define PIDSHIM_OPEN_ALL_FLAGS PIDSHIM_OPEN_OWN

/*
 * pidshim_backend - the backend this process uses.
 *
 * Probes the kernel once (thread-safe), testing behaviour, never the
 * version string; the result is cached.  PIDSHIM_BACKEND=pidfd|pidfd-poll|
 * signalfd in the environment (read with secure_getenv, so ignored in
 * setuid programs) forces a backend.
 *
 * Returns an enum pidshim_backend value, or
 *   -ENOSYS  the forced backend cannot run on this kernel (cached)
 *   -EINVAL  PIDSHIM_BACKEND holds an unknown name (cached)
 *   -EMFILE, -ENFILE  no fd was free to probe with (not cached: a later
 *            call probes again)
 *   -ENOMEM  no memory to probe with (not cached)
 */
PIDSHIM_API int pidshim_backend(void);

/*
 * pidshim_backend_name - "pidfd", "pidfd-poll" or "signalfd" for a backend
 * value; NULL for anything else (including negative error values).
 */
PIDSHIM_API const char *pidshim_backend_name(int backend);

/*
 * pidshim_mechanism - how the signalfd backend works in this process.
 *
 * PIDSHIM_MECHANISM_SIGNALFD when the program had SIGCHLD blocked in every
 * thread (and not ignored) at the backend's first use: the library then
 * reads SIGCHLD from a signalfd and runs no thread at all; the program
 * must keep SIGCHLD blocked everywhere and leave it to the library.
 * PIDSHIM_MECHANISM_THREAD otherwise: a library thread waits for zombies
 * and no signal is involved.  Decided once per process, at the backend's
 * first use or at this call, whichever comes first.
 * Returns the mechanism, or
 *   -ENOSYS  this process runs a pidfd backend (or the forced backend
 *            cannot run here)
 *   -EMFILE, -ENFILE, -ENOMEM  from the backend's probe (not cached: a
 *            later call decides)
 */
PIDSHIM_API int pidshim_mechanism(void);

/*
 * pidshim_open - make a handle for an existing process.
 *
 * The process may be a child (it can then be waited for and reaped), or a
 * zombie child (its wait returns its status).  Whether it is a child is
 * decided by its parent (a process the program traces is not its child).
 * On the pidfd backends any process may be opened: its fd becomes readable
 * when it exits, wait() blocks until then and returns its status where the
 * kernel reports it (PIDFD_INFO_EXIT, Linux >= 6.15) and -ECHILD otherwise.
 *
 * The handle of a process pidshim did not spawn is never reaped behind the
 * caller's back: closing it leaves the process alone.  If another handle
 * owns the process (pidshim_spawn, PIDSHIM_OPEN_OWN), this one turns
 * readable at the exit and its wait gives -ECHILD: the owner gets the
 * status.
 *
 * Returns 0 and sets *ret, or
 *   -EINVAL  pid <= 0, ret NULL, or an unknown flag bit
 *   -ESRCH   no such process, or pid is a thread that leads no thread group
 *   -ECHILD  signalfd backend: the process is not a child of this process;
 *            any backend: PIDSHIM_OPEN_OWN for a process that is not a child
 *   -EBUSY   PIDSHIM_OPEN_OWN, and another handle owns the process
 *   -EAGAIN  signalfd backend: the library's thread could not be started
 *   -ENOSYS  the forced backend cannot run on this kernel
 *   -EMFILE, -ENFILE, -ENOMEM  out of fds or memory
 *   -EPERM   the kernel refused (e.g. a seccomp filter installed after
 *            the probe)
 */
PIDSHIM_API int pidshim_open(pid_t pid, unsigned int flags, struct pidshim **ret);

/*
 * pidshim_spawn - posix_spawn(3) a child and return a handle to it.
 *
 * Arguments as posix_spawn(3); envp NULL means environ.  The child gets the
 * signal mask and dispositions plain posix_spawn would give it: the library
 * never blocks SIGCHLD in the caller's threads.  Processes spawned here are
 * owned by the library: if their handle is closed while they run, the
 * library reaps them when they exit (no zombie is left behind).
 *
 * Once the program has run, spawn succeeds: if other code reaped the child
 * before the library held it, the handle's wait says it is gone.  The handle
 * names the process from its creation (a pidfd from glibc's pidfd_spawn or
 * clone(CLONE_PIDFD); on the fallback, the child's own /proc fd), except
 * with file actions on a libc without pidfd_spawn (glibc < 2.39, musl):
 * then it is opened right after posix_spawn returns, and only a PID reused
 * within those microseconds could name a stranger.
 *
 * Returns 0 and sets *ret, or
 *   -EINVAL  ret, path or argv NULL
 *   -ENOENT, -EACCES, -ENOEXEC, ... the child's exec error; no zombie and
 *            no fd are left behind
 *   -EAGAIN  the process limit was hit
 *   -ENOSYS  the forced backend cannot run on this kernel
 *   -EMFILE, -ENFILE, -ENOMEM  no handle could be made: the child, if it
 *            started, was killed and reaped
 */
PIDSHIM_API int pidshim_spawn(struct pidshim **ret, const char *path,
			      const posix_spawn_file_actions_t *actions,
			      const posix_spawnattr_t *attr, char *const argv[],
			      char *const envp[]);

/* pidshim_spawnp - as pidshim_spawn, searching PATH like posix_spawnp(3). */
PIDSHIM_API int pidshim_spawnp(struct pidshim **ret, const char *file,
			       const posix_spawn_file_actions_t *actions,
			       const posix_spawnattr_t *attr, char *const argv[],
			       char *const envp[]);

/*
 * pidshim_fd - a file descriptor that becomes readable (POLLIN) when the
 * process exits, with nothing else to call.  Owned by the handle: do not
 * close it; remove it from any epoll set before pidshim_close().
 * Returns the fd, or -EINVAL for a NULL handle.
 */
PIDSHIM_API int pidshim_fd(const struct pidshim *h);

/* pidshim_pid - the PID the handle was made for (stays valid as a number
 * after reaping; never use it for kill(2)).  Returns -EINVAL for NULL. */
PIDSHIM_API pid_t pidshim_pid(const struct pidshim *h);

/*
 * pidshim_wait - block until the process exits, reap it, fill *ret.
 *
 * Restarts after signal handlers (never returns -EINTR).  A cancellation
 * point: a thread cancelled here leaves the process to the handle.  Only
 * an exit is reported, never a ptrace stop.  When several threads wait on
 * one handle, exactly one gets the status.
 * Returns 0, or
 *   -ECHILD  already reaped (by an earlier wait, by other code calling
 *            waitpid(-1), or automatically because SIGCHLD is ignored),
 *            or another handle owns the process (see pidshim_open), or
 *            the process is not a child and the kernel cannot report its
 *            exit, or the handle was inherited through fork()
 *   -EINVAL  h or ret NULL
 */
PIDSHIM_API int pidshim_wait(struct pidshim *h, struct pidshim_exit *ret);

/*
 * pidshim_try_wait - reap the process if it has exited, without blocking.
 * Returns 0, or -EAGAIN while it runs (nothing reaped), or the errors of
 * pidshim_wait().
 */
PIDSHIM_API int pidshim_try_wait(struct pidshim *h, struct pidshim_exit *ret);

/*
 * pidshim_wait_timeout - pidshim_wait with a timeout in milliseconds
 * (negative: forever; 0: same as pidshim_try_wait but -ETIMEDOUT).
 * Returns 0, -ETIMEDOUT, or the errors of pidshim_wait().
 */
PIDSHIM_API int pidshim_wait_timeout(struct pidshim *h, int timeout_ms,
				     struct pidshim_exit *ret);

/*
 * pidshim_send_signal - send a signal to the process, never to a process
 * that reused its PID.  sig 0 checks that it exists.  Async-signal-safe on
 * the pidfd backends.
 * Returns 0 (also for a zombie that is not yet reaped, as kill(2)), or
 *   -EINVAL  h NULL or sig not a valid signal number
 *   -ESRCH   the process was reaped
 *   -EPERM   no permission to signal it
 *   -ECHILD  the handle was inherited through fork(): it is the parent's
 */
PIDSHIM_API int pidshim_send_signal(struct pidshim *h, int sig);

/*
 * pidshim_close - free the handle and its fd.  NULL is fine.  Never kills
 * and never blocks, and runs to completion even with a cancellation
 * request pending.  Removes the handle from its set.  A process spawned by
 * pidshim_spawn that still runs is reaped by the library when it exits.
 * In a child process that inherited the handle through fork(), it only
 * frees that process's copies.
 */
PIDSHIM_API void pidshim_close(struct pidshim *h);

/*
 * pidshim_exit_status - the wait(2) status word (use WIFEXITED etc.) for
 * an exit: CLD_EXITED, CLD_KILLED, CLD_DUMPED (WCOREDUMP set), CLD_STOPPED,
 * CLD_TRAPPED and CLD_CONTINUED.
 * Returns the status word (>= 0), or -EINVAL when e is NULL, si_signo is
 * not SIGCHLD or si_code is not one of those.
 */
PIDSHIM_API int pidshim_exit_status(const struct pidshim_exit *e);

/*
 * pidshim_set_new - a set of handles to wait on many processes at once
 * (an epoll fd and an eventfd in it).
 * Returns 0 and sets *ret, or -EINVAL (ret NULL), -EMFILE, -ENFILE, -ENOMEM.
 */
PIDSHIM_API int pidshim_set_new(struct pidshim_set **ret);

/*
 * pidshim_set_add - add a handle.  A handle is in at most one set.
 * Under the signalfd backend's SIGCHLD mechanism the set listens to
 * SIGCHLD once for all members (one more fd per set), and a member whose
 * pidshim_fd was never asked for stops hearing SIGCHLD itself while in
 * the set; asking for it makes it listen again (pidshim_set_add(3)).
 * Returns 0, or -EINVAL (NULL argument), -EEXIST (already in this set),
 * -EBUSY (in another set), -ENOMEM, -ENOSPC (epoll limit), -ECHILD (the
 * set or the handle was inherited through fork()).
 */
PIDSHIM_API int pidshim_set_add(struct pidshim_set *s, struct pidshim *h);

/* pidshim_set_remove - remove a handle (it stays open).
 * Returns 0, or -EINVAL (NULL argument), -ENOENT (not a member), -ECHILD
 * (the set was inherited through fork()). */
PIDSHIM_API int pidshim_set_remove(struct pidshim_set *s, struct pidshim *h);

/*
 * pidshim_set_fd - an fd (epoll) readable when a member has exited and is
 * not yet reaped.  Add it to any event loop.  Returns the fd or -EINVAL.
 */
PIDSHIM_API int pidshim_set_fd(const struct pidshim_set *s);

/*
 * pidshim_set_wait - wait up to timeout_ms (negative: forever) for a member
 * whose process has exited and is not yet reaped; set *ready to it.  The
 * member keeps being reported until it is reaped or removed; members that
 * are ready together are reported in turn by successive calls.  A
 * cancellation point.
 * Returns 0, or
 *   -ETIMEDOUT  nothing exited in time
 *   -ECHILD     the set has no member that could still be reported (also
 *               when the last one left while the call waited: another
 *               thread reaped, removed or closed it), or it was inherited
 *               through fork()
 *   -EINVAL     s or ready NULL
 */
PIDSHIM_API int pidshim_set_wait(struct pidshim_set *s, int timeout_ms,
				 struct pidshim **ready);

/*
 * pidshim_quiesce - end the library's threads now.
 *
 * The library runs threads only while something is pending (pidshim(7)):
 * on the pidfd backends while the child of a closed handle still runs, on
 * the signalfd backend while a handle watches a running process; each ends
 * 100 ms after it has nothing to do.  A program that must be
 * single-threaded at a given moment (unshare(CLONE_NEWUSER), setns() into
 * a user namespace) calls this first.  Not a cancellation point.
 * Returns 0 once no library thread runs, or
 *   -EBUSY  something is still pending: a handle watches a running
 *           process, or the child of a closed handle has not exited yet
 */
PIDSHIM_API int pidshim_quiesce(void);

/* pidshim_set_free - free the set; member handles stay open.  NULL is fine.
 * Runs to completion even with a cancellation request pending. */
PIDSHIM_API void pidshim_set_free(struct pidshim_set *s);

#ifdef __cplusplus
}
#endif

#endif /* PIDSHIM_H */
