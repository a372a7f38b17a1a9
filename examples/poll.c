// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * poll.c - collect 100 children's statuses with plain poll(2).
 *
 * The pollfd array is rebuilt from the children still running on every
 * round, which is how poll loops usually look; poll has no registration
 * to undo, so pidshim_close() may follow the reap directly.
 */
#include <poll.h>

#include "children.h"

int main(int argc, char **argv)
{
	struct pollfd *pfd;
	struct child *c, **who;
	int n, i, r, left, bad = 0;
	long spurious = 0;

	child_main_if_child(argc, argv);
	r = example_start("poll");
	if (r)
		return r;
	n = children_count();
	c = calloc(n, sizeof(*c));
	pfd = calloc(n, sizeof(*pfd));
	who = calloc(n, sizeof(*who));
	if (!c || !pfd || !who || spawn_children(c, n) < 0)
		return 1;

	for (left = n; left > 0;) {
		int m = 0, k;

		for (i = 0; i < n; i++) {
			if (c[i].done)
				continue;
			pfd[m].fd = pidshim_fd(c[i].h);
			pfd[m].events = POLLIN;
			who[m++] = &c[i];
		}
		k = poll(pfd, m, -1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			perror("poll");
			return 1;
		}
		for (i = 0; i < m; i++) {
			struct pidshim_exit e;

			if (!(pfd[i].revents & POLLIN))
				continue;
			r = pidshim_try_wait(who[i]->h, &e);
			if (r == -EAGAIN) {
				spurious++;
				continue;
			}
			if (r < 0) {
				fprintf(stderr, "pidshim_try_wait #%d: %s\n", who[i]->index,
					strerror(-r));
				return 1;
			}
			bad += check_exit(who[i], &e);
			pidshim_close(who[i]->h);
			who[i]->h = NULL;
			left--;
		}
	}
	r = example_report("poll", c, n, bad, spurious);
	free(who);
	free(pfd);
	free(c);
	return r;
}
