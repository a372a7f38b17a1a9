// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * set-poll.c - collect 100 children's statuses through one descriptor: a
 * pidshim_set.
 *
 * All handles go into a set; poll(2) watches only pidshim_set_fd().  When
 * it is readable, pidshim_set_wait(s, 0, ...) names exited members one by
 * one until -ETIMEDOUT (nothing more right now).  Closing a handle removes
 * it from the set, and the set fd leaves no registration behind in poll,
 * so pidshim_set_free() can follow directly.  This is the shape to use
 * when a loop should not hold one watcher per process.
 */
#include <poll.h>

#include "children.h"

int main(int argc, char **argv)
{
	struct pidshim_set *s;
	struct child *c;
	int n, i, r, left, bad = 0;
	long spurious = 0;

	child_main_if_child(argc, argv);
	r = example_start("set-poll");
	if (r)
		return r;
	n = children_count();
	c = calloc(n, sizeof(*c));
	if (!c || pidshim_set_new(&s) < 0 || spawn_children(c, n) < 0)
		return 1;
	for (i = 0; i < n; i++) {
		r = pidshim_set_add(s, c[i].h);
		if (r < 0) {
			fprintf(stderr, "pidshim_set_add: %s\n", strerror(-r));
			return 1;
		}
	}

	for (left = n; left > 0;) {
		struct pollfd pfd = { .fd = pidshim_set_fd(s), .events = POLLIN };
		struct pidshim *h;
		int got = 0;

		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			return 1;
		}
		/* Drain: every member that exited is reported in turn. */
		while ((r = pidshim_set_wait(s, 0, &h)) == 0) {
			struct pidshim_exit e;
			struct child *ch = NULL;

			for (i = 0; i < n; i++)
				if (c[i].h == h)
					ch = &c[i];
			if (!ch) {
				fprintf(stderr, "pidshim_set_wait returned an unknown handle\n");
				return 1;
			}
			r = pidshim_try_wait(h, &e);
			if (r < 0) {
				/* set_wait never returns a running member. */
				fprintf(stderr, "pidshim_try_wait #%d after set_wait: %s\n",
					ch->index, strerror(-r));
				return 1;
			}
			bad += check_exit(ch, &e);
			pidshim_close(h);
			ch->h = NULL;
			left--;
			got++;
		}
		if (r != -ETIMEDOUT && !(r == -ECHILD && left == 0)) {
			fprintf(stderr, "pidshim_set_wait: %s\n", strerror(-r));
			return 1;
		}
		if (!got)
			spurious++;
	}
	pidshim_set_free(s);
	r = example_report("set-poll", c, n, bad, spurious);
	free(c);
	return r;
}
