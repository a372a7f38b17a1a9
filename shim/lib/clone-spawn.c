/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * clone-spawn.c - the library's own posix_spawn, for the one thing libc's
 * cannot give: the process's name at the moment it is made.
 *
 * posix_spawn returns a PID; by the time the caller turns it into a pidfd
 * (pidfd_open) or a /proc/PID fd, other code may have reaped the child and
 * the PID may name a stranger.  Here the child is made with
 * clone(CLONE_VM | CLONE_VFORK), like glibc's and musl's posix_spawn, plus:
 * - CLONE_PIDFD (Linux 5.2): the kernel hands the pidfd over with the PID;
 * - or, where the fallback backend wants a /proc fd, the child opens
 *   /proc/self before exec, straight into the parent's fd table
 *   (CLONE_FILES: the child makes no other change to it, and execve gives
 *   the new program a table of its own, as a clone without CLONE_FILES
 *   would have, so this costs the child one open).  Two places cannot run
 *   that clone: valgrind, which runs only the clone shapes libc's own fork,
 *   vfork and posix_spawn use and ends the process on any other (found by
 *   its preloaded libraries in /proc/self/maps, once), and emulators that
 *   run a CLONE_VFORK clone as a plain fork (qemu-user; it refuses
 *   CLONE_FILES with EINVAL).  There the child sends the fd over a
 *   socketpair (SCM_RIGHTS).  After a plain fork the parent returns before
 *   the child has sent anything, and no memory is shared: the child's
 *   first store tells the parent which it got, and after a fork the parent
 *   waits for the message or for the end of the child's copy of the
 *   socket (its exec or exit), so the child is named before any other
 *   code can reap it there too.
 *
 * It honours what posix_spawn promises and can be read back portably: the
 * attributes, through the posix_spawnattr_get* functions (flags POSIX_SPAWN_
 * SETPGROUP, SETSIGMASK, SETSIGDEF, SETSCHEDPARAM, SETSCHEDULER, RESETIDS,
 * SETSID, USEVFORK).  File actions are opaque (no libc lets them be read),
 * so a spawn with file actions, or with any other attribute flag, takes
 * libc's posix_spawn (or glibc's pidfd_spawn) instead: see spawn.c.
 *
 * The child shares the parent's memory and runs on its own stack until
 * execve, with every signal blocked by the parent (a handler of the
 * parent's must never run in it) and only async-signal-safe calls.  An
 * exec error is left in shared memory; CLONE_VFORK keeps the parent asleep
 * until the child has exec'd or exited.
 *
 * Before the child unblocks signals, every handler it copied from the
 * parent must be back to SIG_DFL.  libc's posix_spawn asks the kernel
 * about each of the 64 signals in the child (glibc 2.36: 122 calls, about
 * 25 us here, while the parent waits); where the kernel takes clone3 with
 * CLONE_CLEAR_SIGHAND (Linux 5.5; not where a seccomp profile refuses
 * clone3, nor on 5.3 and 5.4, which refuse the flag) the kernel resets
 * them as it makes the child, and the child makes no call for it.  That
 * clone3 needs a few lines of assembly (the child starts on its new stack
 * with no frame to return through), written for x86-64 and arm64; other
 * architectures, and every refusal, take clone() and the calls.
 */
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "internal.h"

#ifndef POSIX_SPAWN_SETSID
#define POSIX_SPAWN_SETSID 0x80 /* glibc 2.26, musl 1.1.? */
#endif
#ifndef POSIX_SPAWN_USEVFORK
#define POSIX_SPAWN_USEVFORK 0x40
#endif

#define HONOURED_FLAGS                                                                 \
	(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |      \
	 POSIX_SPAWN_SETSCHEDPARAM | POSIX_SPAWN_SETSCHEDULER | POSIX_SPAWN_RESETIDS | \
	 POSIX_SPAWN_SETSID | POSIX_SPAWN_USEVFORK)

/* The kernel's signal mask size: libc's sigset_t is larger. */
#define KSIGSET_BYTES (PIDSHIM_SIGMAX / 8)

/* 64 KiB covers execvpe's PATH walk (a path buffer and, for a script
 * without #!, a new argv) on top of the calls below. */
#define STACK_BYTES (64 * 1024)

extern char **environ;

/*
 * One child stack kept from a spawn for the next: a fresh mapping costs
 * the child a page fault, and unmapping one in a process whose other
 * threads (the fallback's watcher, the program's own) ran on other CPUs
 * costs an interrupt to each of them to flush its TLB.  A stack is given
 * back only once its child no longer runs on it: CLONE_VFORK returns after
 * the child's exec or exit, and a clone run as a fork (emulators) gave the
 * child a copy of memory.  Two spawns at once take one stack each; the
 * second one given back is unmapped.
 */
static void *spare_stack;

static void *stack_take(void)
{
	void *stack = __atomic_exchange_n(&spare_stack, NULL, __ATOMIC_ACQUIRE);

	if (stack)
		return stack;
	stack = mmap(NULL, STACK_BYTES, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	return stack == MAP_FAILED ? NULL : stack;
}

static void stack_give_back(void *stack)
{
	void *none = NULL;

	if (!__atomic_compare_exchange_n(&spare_stack, &none, stack, false,
					 __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		munmap(stack, STACK_BYTES);
}

struct child_ctx {
	const struct spawn_req *rq;
	sigset_t parent_mask; /* the caller's mask, restored in the child */
	int sock;	      /* the child's end of the socketpair, or -1 */
	bool share_fds;	      /* CLONE_FILES: the child opens its /proc fd */
	bool handlers_reset;  /* CLONE_CLEAR_SIGHAND did it: no calls needed */
	volatile int procfd;  /* that fd, in the parent's table, or -1 */
	volatile int ran;     /* 1 once the child runs: memory is shared */
	volatile int err;     /* the child's exec (or setup) errno */
};

HIDDEN bool clone_spawn_can(const struct spawn_req *rq)
{
	short flags = 0;

#ifdef UNDER_TSAN
	return false;
#endif
	if (rq->actions)
		return false;
	if (rq->attr && posix_spawnattr_getflags(rq->attr, &flags))
		return false;
	return (flags & ~HONOURED_FLAGS) == 0;
}

/* Raw rt_sigprocmask: libc's sigprocmask will not block the signals libc
 * keeps for itself (glibc's SIGCANCEL, SIGSETXID), and they must not run
 * their handlers in the child either. */
static void raw_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	syscall(SYS_rt_sigprocmask, how, set, old, KSIGSET_BYTES);
}

/* The fd is the name of the process, passed while it is surely alive. */
static void send_self(int sock)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { 0 };
	struct cmsghdr *cm;
	char byte = 'p';
	struct iovec iov = { &byte, 1 };
	int fd = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	memset(&u, 0, sizeof(u));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = sizeof(u.buf);
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	sendmsg(sock, &m, MSG_NOSIGNAL);
	close(fd);
}

/* How long a parent whose clone ran as a fork waits for its child's
 * message.  qemu-user's fork of a multi-threaded guest can leave the child
 * hung on a lock of qemu's before it runs any of our code: that child
 * lives, so the PID still names it, and attach opens its /proc fd. */
#define FORKED_CHILD_WAIT_MS 1000

/* What the child sent, or -1 (it could not).  wait: the child may still
 * be running (the clone ran as a fork); else it has exec'd or exited and
 * what it sent is there already. */
static int recv_procfd(int sock, bool wait)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { 0 };
	struct cmsghdr *cm;
	char byte;
	struct iovec iov = { &byte, 1 };
	int fd = -1;

	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = sizeof(u.buf);
	ssize_t n;

	if (wait) {
		int64_t end = now_ms() + FORKED_CHILD_WAIT_MS;
		int r;

		do
			r = poll_one(sock, deadline_remaining(end, FORKED_CHILD_WAIT_MS));
		while (r == -EINTR);
		if (r <= 0)
			return -1;
	}
	n = recvmsg(sock, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n <= 0) /* 0: the child's end closed (exec, exit), nothing sent */
		return -1;
	cm = CMSG_FIRSTHDR(&m);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd >= 0 ? fd_move_above_stdio(fd) : -1;
}

static int child_setup(struct child_ctx *c)
{
	const posix_spawnattr_t *a = c->rq->attr;
	struct sigaction sa;
	sigset_t def, mask;
	short flags = 0;

	if (a)
		posix_spawnattr_getflags(a, &flags);
	sigemptyset(&def);
	if (flags & POSIX_SPAWN_SETSIGDEF)
		posix_spawnattr_getsigdefault(a, &def);
	/* No handler of the parent's may run here: a caught signal goes
	 * back to its default (execve would do that anyway), as in glibc.
	 * After CLONE_CLEAR_SIGHAND only SETSIGDEF's ignored ones are left. */
	for (int sig = 1; sig < PIDSHIM_SIGMAX + 1; sig++) {
		if (c->handlers_reset && !sigismember(&def, sig))
			continue;
		if (sigaction(sig, NULL, &sa) < 0)
			continue; /* libc's own signals */
		if (!sigismember(&def, sig) &&
		    (sa.sa_handler == SIG_IGN || sa.sa_handler == SIG_DFL))
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(sig, &sa, NULL);
	}
	if ((flags & POSIX_SPAWN_SETSID) && setsid() < 0)
		return errno;
	if (flags & POSIX_SPAWN_SETPGROUP) {
		pid_t pg = 0;

		posix_spawnattr_getpgroup(a, &pg);
		if (setpgid(0, pg) < 0)
			return errno;
	}
	if (flags & (POSIX_SPAWN_SETSCHEDPARAM | POSIX_SPAWN_SETSCHEDULER)) {
		struct sched_param sp;
		int policy = 0;

		posix_spawnattr_getschedparam(a, &sp);
		if (flags & POSIX_SPAWN_SETSCHEDULER) {
			posix_spawnattr_getschedpolicy(a, &policy);
			if (syscall(SYS_sched_setscheduler, 0, policy, &sp) < 0)
				return errno;
		} else if (syscall(SYS_sched_setparam, 0, &sp) < 0) {
			return errno;
		}
	}
	/* Raw calls: libc's setuid would broadcast to the parent's threads. */
	if (flags & POSIX_SPAWN_RESETIDS) {
#ifdef SYS_setgid32
		if (syscall(SYS_setgid32, getgid()) < 0 ||
		    syscall(SYS_setuid32, getuid()) < 0)
#else
		if (syscall(SYS_setgid, getgid()) < 0 ||
		    syscall(SYS_setuid, getuid()) < 0)
#endif
			return errno;
	}
	if (c->share_fds)
		c->procfd = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
	else if (c->sock >= 0)
		send_self(c->sock);
	mask = c->parent_mask;
	if (flags & POSIX_SPAWN_SETSIGMASK)
		posix_spawnattr_getsigmask(a, &mask);
	raw_sigmask(SIG_SETMASK, &mask, NULL);
	return 0;
}

static int child_main(void *arg)
{
	struct child_ctx *c = arg;
	const struct spawn_req *rq = c->rq;
	char *const *envp = rq->envp ? rq->envp : environ;
	int err;

	c->ran = 1;
	err = child_setup(c);

	if (!err) {
		if (rq->search)
			execvpe(rq->path, rq->argv, envp);
		else
			execve(rq->path, rq->argv, envp);
		err = errno;
	}
	c->err = err ? err : ENOEXEC;
	_exit(127);
}

/*
 * Does valgrind run this process?  Its preloaded libraries are mapped.
 * Read once (see share_fds_ok and clear_sighand_ok); no /proc reads as
 * "yes": without /proc there is no /proc fd to open anyway.
 */
static bool read_under_valgrind(void)
{
	static const char mark[] = "/vgpreload_";
	char buf[4096];
	size_t keep = 0;
	bool found = false;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return true;
	while (!found) {
		ssize_t n = read(fd, buf + keep, sizeof(buf) - 1 - keep);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t have = keep + (size_t)n;

		buf[have] = '\0';
		found = strstr(buf, mark) != NULL;
		/* A mark split between two reads is found in the next. */
		keep = have < sizeof(mark) - 1 ? have : sizeof(mark) - 1;
		memmove(buf, buf + have - keep, keep);
	}
	close(fd);
	return found;
}

static bool under_valgrind(void)
{
	static int seen; /* 1 yes, -1 no, 0 not read yet */
	int v = __atomic_load_n(&seen, __ATOMIC_RELAXED);

	if (!v) {
		v = read_under_valgrind() ? 1 : -1;
		__atomic_store_n(&seen, v, __ATOMIC_RELAXED);
	}
	return v > 0;
}

/* May the child open its /proc fd into the parent's table (CLONE_FILES)?
 * 1 yes, -1 no (valgrind, or a clone refused once), 0 not known yet. */
static int share_fds_works;

static bool share_fds_ok(void)
{
	int v = __atomic_load_n(&share_fds_works, __ATOMIC_RELAXED);

	if (!v) {
		v = under_valgrind() ? -1 : 1;
		__atomic_store_n(&share_fds_works, v, __ATOMIC_RELAXED);
	}
	return v > 0;
}

/*
 * clone3(a), the child running fn(arg) on the stack a names and exiting
 * with what it returns; the parent gets the PID or -errno.  No libc has
 * a clone3 wrapper to lend: the child comes out of the syscall on its new
 * stack, at the next instruction, and must never return into C there.
 */
#if defined(__x86_64__) && !defined(__ILP32__)
#define HAVE_CLONE3_CHILD 1
static long clone3_child(struct pidshim_clone_args *a, int (*fn)(void *), void *arg)
{
	register long ret __asm__("rax") = SYS_clone3;
	register struct pidshim_clone_args *ra __asm__("rdi") = a;
	register unsigned long size __asm__("rsi") = sizeof(*a);
	register int (*rfn)(void *) __asm__("rdx") = fn;
	register void *rarg __asm__("r8") = arg;

	/* syscall keeps rdx and r8; the kernel set rsp to the new stack's
	 * top, 16-byte aligned, as a call wants it. */
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "mov %%r8, %%rdi\n\t"
			 "call *%%rdx\n\t"
			 "mov %%eax, %%edi\n\t"
			 "mov $60, %%eax\n\t" /* exit */
			 "syscall\n\t"
			 "hlt\n"
			 "1:"
			 : "+r"(ret)
			 : "r"(ra), "r"(size), "r"(rfn), "r"(rarg)
			 : "rcx", "r11", "cc", "memory");
	return ret;
}
#elif defined(__aarch64__)
#define HAVE_CLONE3_CHILD 1
static long clone3_child(struct pidshim_clone_args *a, int (*fn)(void *), void *arg)
{
	register long x0 __asm__("x0") = (long)a;
	register unsigned long x1 __asm__("x1") = sizeof(*a);
	register int (*x2)(void *) __asm__("x2") = fn;
	register void *x3 __asm__("x3") = arg;
	register long x8 __asm__("x8") = SYS_clone3;

	/* svc keeps x1-x7; sp is the new stack's top, 16-byte aligned. */
	__asm__ volatile("svc #0\n\t"
			 "cbnz x0, 1f\n\t"
			 "mov x29, xzr\n\t"
			 "mov x30, xzr\n\t"
			 "mov x0, x3\n\t"
			 "blr x2\n\t"
			 "mov x8, #93\n\t" /* exit */
			 "svc #0\n\t"
			 "brk #0\n"
			 "1:"
			 : "+r"(x0)
			 : "r"(x1), "r"(x2), "r"(x3), "r"(x8)
			 : "cc", "memory");
	return x0;
}
#endif

#ifdef HAVE_CLONE3_CHILD
/* The kernel refused clone3 with CLONE_CLEAR_SIGHAND once: not again. */
static bool clear_sighand_refused;
#endif

/* Not under valgrind either, which runs no clone3. */
static bool clear_sighand_ok(void)
{
#ifdef HAVE_CLONE3_CHILD
	return !__atomic_load_n(&clear_sighand_refused, __ATOMIC_RELAXED) &&
	       !under_valgrind();
#else
	return false;
#endif
}

/*
 * Make the child with clone3, the kernel resetting its handlers: its PID,
 * or -1 with errno; ENOSYS when the kernel (or a seccomp profile: they
 * answer ENOSYS, as glibc's threads need) refused it, and it will not be
 * asked again.  flags as for clone(), the exit signal SIGCHLD.
 */
static pid_t clone3_spawn(int flags, void *stack, struct child_ctx *c, int *pidfd)
{
#ifdef HAVE_CLONE3_CHILD
	struct pidshim_clone_args a = {
		.flags = (uint64_t)(unsigned int)(flags & ~CSIGNAL) | CLONE_CLEAR_SIGHAND,
		.pidfd = (uint64_t)(uintptr_t)pidfd,
		.exit_signal = SIGCHLD,
		.stack = (uint64_t)(uintptr_t)stack,
		.stack_size = STACK_BYTES,
	};
	long r;

	c->handlers_reset = true;
	r = clone3_child(&a, child_main, c);
	if (r >= 0)
		return (pid_t)r;
	c->handlers_reset = false;
	/* ENOSYS: no clone3 (before 5.3, seccomp); EINVAL: no
	 * CLONE_CLEAR_SIGHAND (5.3, 5.4); EPERM: a profile's own answer. */
	if (r == -ENOSYS || r == -EINVAL || r == -EPERM) {
		__atomic_store_n(&clear_sighand_refused, true, __ATOMIC_RELAXED);
		r = -ENOSYS;
	}
	errno = (int)-r;
	return -1;
#else
	(void)flags;
	(void)stack;
	(void)c;
	(void)pidfd;
	errno = ENOSYS;
	return -1;
#endif
}

/*
 * Make the child.  Returns 0 with *pid (and *pidfd / *procfd when asked
 * for and the kernel gave them, else -1), -ENOSYS when clone refused
 * CLONE_PIDFD (a kernel before 5.2, or an emulator such as qemu-user:
 * take another path), or the child's exec error after reaping it.
 */
HIDDEN int clone_spawn(const struct spawn_req *rq, unsigned int want, pid_t *pid,
		       int *pidfd, int *procfd)
{
	struct child_ctx c = { .rq = rq, .sock = -1, .procfd = -1, .ran = 0, .err = 0 };
	int flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
	int fd = -1, sv[2] = { -1, -1 }, named = -1, saved;
	sigset_t all;
	void *stack;
	pid_t p;

	if (want & CLONE_SPAWN_PIDFD)
		flags |= CLONE_PIDFD;
	/* Not beside CLONE_PIDFD: an EINVAL then would not say which flag
	 * was refused, and the /proc fd is wanted there only until the first
	 * spawn has shown the clone is not run as a fork. */
	if (want == CLONE_SPAWN_PROCFD && share_fds_ok()) {
		c.share_fds = true;
		flags |= CLONE_FILES;
	} else if (want & CLONE_SPAWN_PROCFD) {
		/* SEQPACKET: the end of the child's copy reads as EOF. */
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			return -errno;
		c.sock = sv[1];
	}
	stack = stack_take();
	if (!stack) {
		saved = ENOMEM;
		goto close_socks;
	}
	sigfillset(&all);
	raw_sigmask(SIG_BLOCK, &all, &c.parent_mask);
	p = -1;
	errno = ENOSYS;
	if (clear_sighand_ok())
		p = clone3_spawn(flags, stack, &c, &fd);
	/* The stack grows down on every architecture Linux runs this on
	 * except parisc (hppa), where it grows up. */
	if (p < 0 && errno == ENOSYS)
#if defined(__hppa__)
		p = clone(child_main, stack, flags, &c, &fd);
#else
		p = clone(child_main, (char *)stack + STACK_BYTES, flags, &c, &fd);
#endif
	saved = p < 0 ? errno : 0;
	raw_sigmask(SIG_SETMASK, &c.parent_mask, NULL);
	stack_give_back(stack);
	/* EINVAL: this kernel (or emulator: qemu-user) does not take these
	 * flags; the caller has other ways. */
	if (p < 0 && saved == EINVAL && c.share_fds) {
		/* An emulator that runs it as a fork: the socket from now on. */
		__atomic_store_n(&share_fds_works, -1, __ATOMIC_RELAXED);
		return clone_spawn(rq, want, pid, pidfd, procfd);
	}
	if (p < 0) {
		saved = saved == EINVAL ? ENOSYS : saved;
		goto close_socks;
	}
	/* c.ran unseen: the child was killed before its first store; attach
	 * opens its /proc fd (a zombie until we reap it). */
	if (c.share_fds && c.ran)
		named = c.procfd >= 0 ? fd_move_above_stdio(c.procfd) : -1;
	if (sv[0] >= 0) {
		/* c.ran unseen: the clone ran as a fork (or the child was
		 * killed before its first store: its end is closed then), and
		 * only the child's end may stay open, for the EOF.  Otherwise
		 * the fd is taken before any end closes: a unix socket
		 * released with an fd in flight starts the kernel's
		 * garbage collection of in-flight fds. */
		if (!c.ran)
			close(sv[1]);
		named = recv_procfd(sv[0], !c.ran);
		close(sv[0]);
		if (c.ran)
			close(sv[1]);
	}
	if (c.err) {
		/* The child exited 127; it is ours to reap, by its pidfd where
		 * we have one (other code may have reaped it already). */
		siginfo_t si;
		int r;

		do
			r = fd >= 0 ? sys_waitid(P_PIDFD, fd, &si, WEXITED, NULL)
				    : -EINVAL;
		while (r == -EINTR);
		if (r == -EINVAL) /* no pidfd, or waitid(P_PIDFD) before 5.4 */
			ident_reap_exiting(p, fd, named);
		if (fd >= 0)
			close(fd);
		if (named >= 0)
			close(named);
		return -c.err;
	}
	*pid = p;
	if (pidfd)
		*pidfd = fd >= 0 ? fd_move_above_stdio(fd) : -1;
	if (procfd)
		*procfd = named;
	else if (named >= 0)
		close(named);
	return 0;
close_socks:
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	return -saved;
}
