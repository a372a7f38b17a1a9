// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * epoll.c - collect 100 children's statuses through a raw epoll loop.
 *
 * Each handle's pidshim_fd() goes into the epoll set with the child as
 * its data.  When it is readable, pidshim_try_wait() reaps; -EAGAIN is a
 * spurious wake-up (allowed on the signalfd backend) and just means "keep
 * waiting".  The fd leaves the epoll set (EPOLL_CTL_DEL) before
 * pidshim_close(): a child still between fork and exec can hold a copy of
 * the fd, and a closed fd still registered keeps producing stale events.
 */
#include <sys/epoll.h>

#include "children.h"

int main(int argc, char **argv)
{
	struct epoll_event ev, events[32];
	struct child *c;
	int n, i, r, ep, left, bad = 0;
	long spurious = 0;

	child_main_if_child(argc, argv);
	r = example_start("epoll");
	if (r)
		return r;
	n = children_count();
	c = calloc(n, sizeof(*c));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!c || ep < 0 || spawn_children(c, n) < 0)
		return 1;

	for (i = 0; i < n; i++) {
		ev.events = EPOLLIN;
		ev.data.ptr = &c[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, pidshim_fd(c[i].h), &ev) < 0) {
			perror("epoll_ctl ADD");
			return 1;
		}
	}

	for (left = n; left > 0;) {
		int k = epoll_wait(ep, events, 32, -1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			perror("epoll_wait");
			return 1;
		}
		for (i = 0; i < k; i++) {
			struct child *ch = events[i].data.ptr;
			struct pidshim_exit e;

			r = pidshim_try_wait(ch->h, &e);
			if (r == -EAGAIN) {
				spurious++;
				continue;
			}
			if (r < 0) {
				fprintf(stderr, "pidshim_try_wait #%d: %s\n", ch->index, strerror(-r));
				return 1;
			}
			bad += check_exit(ch, &e);
			epoll_ctl(ep, EPOLL_CTL_DEL, pidshim_fd(ch->h), NULL);
			pidshim_close(ch->h);
			ch->h = NULL;
			left--;
		}
	}
	close(ep);
	r = example_report("epoll", c, n, bad, spurious);
	free(c);
	return r;
}
