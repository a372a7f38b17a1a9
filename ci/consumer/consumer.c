/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * consumer.c - a downstream program built against an installed pidshim
 * through pkg-config, compiled as C and as C++ (the header must work in
 * both).  It spawns a child that exits 7 and checks the status.
 */
#include <pidshim.h>
#include <stdio.h>
#include <sys/wait.h>

int main(void)
{
	char arg0[] = "sh", arg1[] = "-c", arg2[] = "exit 7";
	char *argv[] = { arg0, arg1, arg2, NULL };
	struct pidshim *h = NULL;
	struct pidshim_exit e;
	int r, st;

	r = pidshim_spawnp(&h, "sh", NULL, NULL, argv, NULL);
	if (r < 0) {
		fprintf(stderr, "spawn: %d\n", r);
		return 1;
	}
	r = pidshim_wait(h, &e);
	st = pidshim_exit_status(&e);
	pidshim_close(h);
	if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 7) {
		fprintf(stderr, "wait: %d status %d\n", r, st);
		return 1;
	}
	printf("consumer ok (%s backend)\n", pidshim_backend_name(pidshim_backend()));
	return 0;
}
