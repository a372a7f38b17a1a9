// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * stress-child - the tiny, statically linked program every stress, torture
 * and fault test spawns.  It is static so that one spawn costs a clone and
 * an exec and nothing else (no dynamic loader), which is what lets 100,000
 * cycles per backend fit the time budget.  Every mode first checks that no
 * file descriptor above 2 survived exec: the parent marks its own inherited
 * fds close-on-exec, so anything left is a library fd that leaked into the
 * child (exit code LEAK_CODE).  Shell-driven tests, whose fds the child
 * cannot vouch for (make's jobserver), set STRESS_CHILD_NO_FD_CHECK=1.
 *
 *   e CODE            exit with CODE
 *   s USEC CODE       sleep USEC microseconds, then exit with CODE
 *   w                 wait for a signal forever (killed by the test)
 *   r                 write one byte to fd 1 ("exec done"), then wait forever
 *   S                 sentinel: count every catchable signal until stdin
 *                     reaches EOF, then exit with the count (capped at 200)
 *   b MS CODE         burn MS milliseconds of CPU, then exit with CODE
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LEAK_CODE 250

static volatile sig_atomic_t sentinel_hits;

static void count_signal(int sig)
{
	(void)sig;
	sentinel_hits++;
}

/* Any fd >= 3 after exec is a descriptor the parent failed to mark CLOEXEC. */
static int leaked_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0; /* no /proc: nothing to check (not a leak) */
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (fd > 2 && fd != dirfd(d))
			n++;
	}
	closedir(d);
	return n;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (!getenv("STRESS_CHILD_NO_FD_CHECK") && leaked_fds())
		return LEAK_CODE;
	switch (argv[1][0]) {
	case 'e':
		return argc > 2 ? atoi(argv[2]) : 0;
	case 's':
		if (argc < 4)
			return 2;
		sleep_us(atol(argv[2]));
		return atoi(argv[3]);
	case 'w':
		for (;;)
			pause();
	case 'r':
		if (write(1, "r", 1) != 1)
			return 3;
		for (;;)
			pause();
	case 'S': {
		struct sigaction sa;
		char buf[64];
		int sig;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = count_signal;
		sa.sa_flags = SA_RESTART;
		sigfillset(&sa.sa_mask);
		for (sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				sigaction(sig, &sa, NULL);
		/* Tell the parent the handlers are in place. */
		if (write(1, "S", 1) != 1)
			return 201;
		for (;;) {
			ssize_t r = read(0, buf, sizeof(buf));

			if (r == 0 || (r < 0 && errno != EINTR))
				break;
		}
		return sentinel_hits > 200 ? 200 : (int)sentinel_hits;
	}
	case 'b': {
		struct timespec a, b;
		long ms;

		if (argc < 4)
			return 2;
		ms = atol(argv[2]);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
		do
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
		while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
		return atoi(argv[3]);
	}
	}
	return 2;
}
