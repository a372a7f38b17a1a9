/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * child.c - the process the latency and scaling benchmarks spawn.
 *
 *   bench-child stamp FD DELAY_US   sleep DELAY_US (so the parent is surely
 *                                    blocked in its wait), write the
 *                                    CLOCK_MONOTONIC time into the shared
 *                                    page on FD, then _exit(0) at once
 *   bench-child idle                 wait forever (a tracked idle child);
 *                                    dies with its parent
 *
 * The stamp is the last thing the child does before _exit, so the
 * parent's "woke" time minus the stamp is the kernel's exit path plus the
 * notification path of the library under test.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "idle")) {
		/* Never outlive a benchmark that crashed. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	if (argc == 4 && !strcmp(argv[1], "stamp")) {
		volatile uint64_t *page;
		struct timespec ts;
		long delay = atol(argv[3]);

		page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, atoi(argv[2]),
			    0);
		if (page == MAP_FAILED)
			_exit(3);
		if (delay > 0) {
			ts.tv_sec = delay / 1000000;
			ts.tv_nsec = (delay % 1000000) * 1000;
			nanosleep(&ts, NULL);
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		*page = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		_exit(0);
	}
	return 2;
}
