// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libuv.c - collect 100 children's statuses in a libuv loop, one
 * uv_poll_t on each pidshim_fd().
 *
 * The handle is only closed in the uv_close() callback: libuv requires the
 * fd to stay open until then, and uv_close() of a poll handle is what
 * takes the fd out of libuv's epoll set.  pidshim is used instead of
 * uv_spawn, so libuv installs no SIGCHLD handler of its own.
 */
#include <uv.h>

#include "children.h"

struct watch {
	uv_poll_t poll; /* first: the uv_handle_t pointer is the struct */
	struct child *child;
};

static int left, bad;
static long spurious;

static void on_closed(uv_handle_t *handle)
{
	struct watch *w = (struct watch *)handle;

	pidshim_close(w->child->h);
	w->child->h = NULL;
	free(w);
}

static void on_readable(uv_poll_t *poll, int status, int events)
{
	struct watch *w = (struct watch *)poll;
	struct pidshim_exit e;
	int r;

	if (status < 0) {
		fprintf(stderr, "uv_poll: %s\n", uv_strerror(status));
		exit(1);
	}
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
	left--;
	uv_close((uv_handle_t *)poll, on_closed);
}

int main(int argc, char **argv)
{
	uv_loop_t *loop;
	struct child *c;
	int n, i, r;

	child_main_if_child(argc, argv);
	r = example_start("libuv");
	if (r)
		return r;
	n = children_count();
	c = calloc(n, sizeof(*c));
	loop = uv_default_loop();
	if (!c || !loop || spawn_children(c, n) < 0)
		return 1;

	for (i = 0; i < n; i++) {
		struct watch *w = calloc(1, sizeof(*w));

		if (!w)
			return 1;
		w->child = &c[i];
		r = uv_poll_init(loop, &w->poll, pidshim_fd(c[i].h));
		if (r == 0)
			r = uv_poll_start(&w->poll, UV_READABLE, on_readable);
		if (r < 0) {
			fprintf(stderr, "uv_poll: %s\n", uv_strerror(r));
			return 1;
		}
	}
	left = n;
	/* Runs until every watcher was closed. */
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	r = example_report("libuv", c, n, bad, spurious);
	free(c);
	return r;
}
