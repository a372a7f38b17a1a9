// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libev.c - collect 100 children's statuses in a libev loop, one ev_io
 * watcher on each pidshim_fd().
 *
 * ev_io_stop() comes before pidshim_close().  libev's epoll backend defers
 * the kernel update and copes with fds that vanish through a generation
 * counter, but the watcher must still be stopped before its fd is closed,
 * as libev documents.  pidshim replaces ev_child here: no SIGCHLD
 * handler, and it works in any loop, not only the default one.
 */
#include <ev.h>

#include "children.h"

struct watch {
	ev_io io; /* first: the ev_io pointer is the struct */
	struct child *child;
};

static int left, bad;
static long spurious;

static void on_readable(struct ev_loop *loop, ev_io *io, int revents)
{
	struct watch *w = (struct watch *)io;
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
	ev_io_stop(loop, io);
	pidshim_close(w->child->h);
	w->child->h = NULL;
	free(w);
	if (--left == 0)
		ev_break(loop, EVBREAK_ALL);
}

int main(int argc, char **argv)
{
	struct ev_loop *loop;
	struct child *c;
	int n, i, r;

	child_main_if_child(argc, argv);
	r = example_start("libev");
	if (r)
		return r;
	n = children_count();
	c = calloc(n, sizeof(*c));
	/* A private loop: the default one would install libev's SIGCHLD watcher. */
	loop = ev_loop_new(EVFLAG_AUTO);
	if (!c || !loop || spawn_children(c, n) < 0)
		return 1;

	for (i = 0; i < n; i++) {
		struct watch *w = calloc(1, sizeof(*w));

		if (!w)
			return 1;
		w->child = &c[i];
		ev_io_init(&w->io, on_readable, pidshim_fd(c[i].h), EV_READ);
		ev_io_start(loop, &w->io);
	}
	left = n;
	ev_run(loop, 0);
	ev_loop_destroy(loop);
	r = example_report("libev", c, n, bad, spurious);
	free(c);
	return r;
}
