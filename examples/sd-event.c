// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sd-event.c - collect 100 children's statuses in an sd-event loop, one
 * sd_event_add_io() source on each pidshim_fd().
 *
 * sd_event_source_disable_unref() removes the fd from sd-event's epoll
 * set at once (EPOLL_CTL_DEL), then pidshim_close() may close it.
 * sd_event_add_child() would need SIGCHLD blocked in every thread; with
 * pidshim nothing has to be blocked.
 */
#include <systemd/sd-event.h>

#include "children.h"

struct watch {
	sd_event_source *src;
	struct child *child;
};

static int left, bad;
static long spurious;

static int on_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct watch *w = userdata;
	/* Before the unref below: a source unref'd in its own callback is
	 * disconnected from its loop at once. */
	sd_event *event = sd_event_source_get_event(s);
	struct pidshim_exit e;
	int r;

	r = pidshim_try_wait(w->child->h, &e);
	if (r == -EAGAIN) {
		spurious++;
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "pidshim_try_wait #%d: %s\n", w->child->index, strerror(-r));
		return sd_event_exit(event, 1);
	}
	bad += check_exit(w->child, &e);
	sd_event_source_disable_unref(w->src);
	pidshim_close(w->child->h);
	w->child->h = NULL;
	free(w);
	if (--left == 0)
		return sd_event_exit(event, 0);
	return 0;
}

int main(int argc, char **argv)
{
	sd_event *event = NULL;
	struct child *c;
	int n, i, r;

	child_main_if_child(argc, argv);
	r = example_start("sd-event");
	if (r)
		return r;
	n = children_count();
	c = calloc(n, sizeof(*c));
	if (!c || sd_event_new(&event) < 0 || spawn_children(c, n) < 0)
		return 1;

	for (i = 0; i < n; i++) {
		struct watch *w = calloc(1, sizeof(*w));

		if (!w)
			return 1;
		w->child = &c[i];
		r = sd_event_add_io(event, &w->src, pidshim_fd(c[i].h), EPOLLIN, on_readable, w);
		if (r < 0) {
			fprintf(stderr, "sd_event_add_io: %s\n", strerror(-r));
			return 1;
		}
	}
	left = n;
	r = sd_event_loop(event);
	sd_event_unref(event);
	if (r != 0) {
		fprintf(stderr, "sd_event_loop: %d\n", r);
		return 1;
	}
	r = example_report("sd-event", c, n, bad, spurious);
	free(c);
	return r;
}
