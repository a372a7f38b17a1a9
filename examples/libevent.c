// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libevent.c - collect 100 children's statuses in a libevent loop, one
 * persistent EV_READ event on each pidshim_fd().
 *
 * event_free() deletes the event (epoll_ctl DEL, as libevent's epoll
 * backend does it at once unless the changelist is enabled) before
 * pidshim_close() closes the fd.
 */
#include <event2/event.h>

#include "children.h"

struct watch {
	struct event *ev;
	struct child *child;
};

static struct event_base *base;
static int left, bad;
static long spurious;

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	struct pidshim_exit e;
	int r;

	r = pidshim_try_wait(w->child->h, &e);
	if (r == -EAGAIN) {
		spurious++;
		return;
	}
	if (r < 0) {
		fprintf(stderr, "pidshim_try_wait #%d: %s\n", w->child->index, strerror(-r));
		exit(1);
	}
	bad += check_exit(w->child, &e);
	event_free(w->ev); /* leaves the loop first ... */
	pidshim_close(w->child->h); /* ... then the fd may go */
	w->child->h = NULL;
	free(w);
	if (--left == 0)
		event_base_loopbreak(base);
}

int main(int argc, char **argv)
{
	struct child *c;
	int n, i, r;

	child_main_if_child(argc, argv);
	r = example_start("libevent");
	if (r)
		return r;
	n = children_count();
	c = calloc(n, sizeof(*c));
	base = event_base_new();
	if (!c || !base || spawn_children(c, n) < 0)
		return 1;

	for (i = 0; i < n; i++) {
		struct watch *w = calloc(1, sizeof(*w));

		if (!w)
			return 1;
		w->child = &c[i];
		w->ev = event_new(base, pidshim_fd(c[i].h), EV_READ | EV_PERSIST, on_readable, w);
		if (!w->ev || event_add(w->ev, NULL) < 0) {
			fprintf(stderr, "event_new/event_add failed\n");
			return 1;
		}
	}
	left = n;
	if (event_base_dispatch(base) < 0)
		return 1;
	event_base_free(base);
	r = example_report("libevent", c, n, bad, spurious);
	free(c);
	return r;
}
