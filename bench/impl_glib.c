/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * impl_glib.c - the GLib anchor, used as its documentation says:
 * g_spawn_async() with G_SPAWN_DO_NOT_REAP_CHILD, then g_child_watch_add()
 * on the default main context, g_spawn_close_pid() in the callback, and
 * g_main_context_iteration() to drive it.  G_SPAWN_LEAVE_DESCRIPTORS_OPEN
 * is set because posix_spawn (the raw floor and pidshim_spawn) inherits
 * descriptors too, and it is the documented condition for GLib's own
 * posix_spawn fast path: GLib is measured at its fastest, not handicapped
 * by an fd-closing pass the others do not do.  GLib 2.74 (Debian 12)
 * watches each child with a pidfd where the kernel has pidfd_open (a
 * SIGCHLD handler plus waitpid(pid, WNOHANG) on every child watch source
 * elsewhere), but every main-loop iteration still prepares, polls and
 * checks every source: the O(K) cost B3 shows.
 */
#include <errno.h>
#include <glib.h>
#include <signal.h>

#include "bench.h"

enum kind { K_B1, K_IDLE, K_PROBE };

static int b1_left, b1_done, idle_live, probe_done;
static uint64_t probe_woke;
static const char *b1_path;
static GPid idle[BENCH_MAX_IDLE];
static int n_idle;

static int spawn(char *const argv[], enum kind kind, GPid *ret);

static void on_child(GPid pid, gint status, gpointer data)
{
	switch ((enum kind)GPOINTER_TO_INT(data)) {
	case K_PROBE:
		probe_woke = bench_now_ns();
		probe_done = 1;
		break;
	case K_IDLE:
		idle_live--;
		break;
	case K_B1:
		b1_done++;
		if (b1_left > 0) {
			char *argv[] = { (char *)b1_path, NULL };

			b1_left--;
			if (spawn(argv, K_B1, NULL) < 0)
				g_error("g_spawn_async failed");
		}
		break;
	}
	g_spawn_close_pid(pid);
}

static int spawn(char *const argv[], enum kind kind, GPid *ret)
{
	GError *err = NULL;
	GPid pid;

	if (!g_spawn_async(NULL, (gchar **)argv, NULL,
			   G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_LEAVE_DESCRIPTORS_OPEN,
			   NULL, NULL, &pid, &err)) {
		int r = err->domain == G_SPAWN_ERROR ? -EIO : -EINVAL;

		g_printerr("g_spawn_async: %s\n", err->message);
		g_error_free(err);
		return r;
	}
	g_child_watch_add(pid, on_child, GINT_TO_POINTER(kind));
	if (ret)
		*ret = pid;
	return 0;
}

static int gb_init(void)
{
	return 0;
}

static int gb_spawn_wait(const char *path, int n, int conc)
{
	char *argv[] = { (char *)path, NULL };
	int first = conc < n ? conc : n, r;

	b1_path = path;
	b1_left = n - first;
	b1_done = 0;
	for (int i = 0; i < first; i++) {
		r = spawn(argv, K_B1, NULL);
		if (r < 0)
			return r;
	}
	while (b1_done < n)
		g_main_context_iteration(NULL, TRUE);
	return 0;
}

/* A child watch is always in the main context: no "bare handle". */
static int gb_track_idle(char *const argv[], int k, int in_loop)
{
	int r;

	while (n_idle < k) {
		r = spawn(argv, K_IDLE, &idle[n_idle]);
		if (r < 0)
			return r;
		n_idle++;
		idle_live++;
	}
	return 0;
}

static int gb_probe(char *const argv[], int in_loop, uint64_t *woke)
{
	int r;

	probe_done = 0;
	r = spawn(argv, K_PROBE, NULL);
	if (r < 0)
		return r;
	while (!probe_done)
		g_main_context_iteration(NULL, TRUE);
	*woke = probe_woke;
	return 0;
}

static void gb_untrack_all(void)
{
	/* GLib has no kill API for a GPid: kill(2) is what its users call. */
	for (int i = 0; i < n_idle; i++)
		kill(idle[i], SIGKILL);
	while (idle_live > 0)
		g_main_context_iteration(NULL, TRUE);
	n_idle = 0;
}

const struct bench_ops bench_impl = {
	.name = "glib",
	.init = gb_init,
	.spawn_wait = gb_spawn_wait,
	.track_idle = gb_track_idle,
	.probe = gb_probe,
	.untrack_all = gb_untrack_all,
};
