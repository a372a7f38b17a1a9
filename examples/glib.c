// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * glib.c - collect 100 children's statuses in a GLib main loop, one
 * g_unix_fd_add() source on each pidshim_fd().
 *
 * Returning G_SOURCE_REMOVE from the callback destroys the source, which
 * takes the fd out of the main context; its GDestroyNotify then closes the
 * pidshim handle, so the fd is never closed while GLib still polls it.
 * pidshim replaces g_child_watch_add here: no SIGCHLD handler, no
 * waitpid() per child on every SIGCHLD.
 */
#include <glib-unix.h>
#include <glib.h>

#include "children.h"

static GMainLoop *loop;
static int left, bad;
static long spurious;

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct child *ch = data;
	struct pidshim_exit e;
	int r;

	r = pidshim_try_wait(ch->h, &e);
	if (r == -EAGAIN) {
		spurious++;
		return G_SOURCE_CONTINUE;
	}
	if (r < 0) {
		fprintf(stderr, "pidshim_try_wait #%d: %s\n", ch->index, strerror(-r));
		exit(1);
	}
	bad += check_exit(ch, &e);
	if (--left == 0)
		g_main_loop_quit(loop);
	return G_SOURCE_REMOVE;
}

/* Runs once the source is gone from the main context. */
static void on_source_destroyed(gpointer data)
{
	struct child *ch = data;

	pidshim_close(ch->h);
	ch->h = NULL;
}

int main(int argc, char **argv)
{
	struct child *c;
	int n, i, r;

	child_main_if_child(argc, argv);
	r = example_start("glib");
	if (r)
		return r;
	n = children_count();
	c = calloc(n, sizeof(*c));
	if (!c || spawn_children(c, n) < 0)
		return 1;

	loop = g_main_loop_new(NULL, FALSE);
	for (i = 0; i < n; i++)
		g_unix_fd_add_full(G_PRIORITY_DEFAULT, pidshim_fd(c[i].h), G_IO_IN, on_readable,
				   &c[i], on_source_destroyed);
	left = n;
	g_main_loop_run(loop);
	g_main_loop_unref(loop);
	r = example_report("glib", c, n, bad, spurious);
	free(c);
	return r;
}
