/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * impl_uv.c - the libuv anchor, used as its documentation says: uv_spawn()
 * with an exit_cb on the default loop, uv_close() on the handle from the
 * exit_cb, uv_run() to drive it.  stdio is inherited (UV_INHERIT_FD 0-2)
 * so the child gets what posix_spawn gives it in the raw baseline.  libuv
 * notices exits through its SIGCHLD handler, which calls waitpid(pid,
 * WNOHANG) for every process handle of the loop: that is the O(K) cost B3
 * shows.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <uv.h>

#include "bench.h"

enum kind { K_B1, K_IDLE, K_PROBE };

struct child {
	uv_process_t proc;
	enum kind kind;
};

static uv_loop_t *loop;
static int b1_left, b1_done, idle_live, probe_done;
static uint64_t probe_woke;
static const char *b1_path;
static struct child *idle[BENCH_MAX_IDLE];
static int n_idle;

static void on_close(uv_handle_t *h)
{
	free(h->data);
}

static int spawn(const char *file, char *const argv[], enum kind kind,
		 struct child **ret);

static void on_exit_cb(uv_process_t *p, int64_t status, int term_signal)
{
	struct child *c = p->data;

	switch (c->kind) {
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
			if (spawn(b1_path, argv, K_B1, NULL) < 0)
				abort();
		}
		break;
	}
	uv_close((uv_handle_t *)p, on_close);
}

static int spawn(const char *file, char *const argv[], enum kind kind, struct child **ret)
{
	uv_process_options_t o = { 0 };
	uv_stdio_container_t stdio[3];
	struct child *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	for (int i = 0; i < 3; i++) {
		stdio[i].flags = UV_INHERIT_FD;
		stdio[i].data.fd = i;
	}
	o.file = file;
	o.args = (char **)argv;
	o.exit_cb = on_exit_cb;
	o.stdio_count = 3;
	o.stdio = stdio;
	c->kind = kind;
	c->proc.data = c;
	r = uv_spawn(loop, &c->proc, &o);
	if (r < 0) {
		/* The handle must still be closed after a failed uv_spawn. */
		uv_close((uv_handle_t *)&c->proc, on_close);
		return r;
	}
	if (ret)
		*ret = c;
	return 0;
}

static int uvb_init(void)
{
	loop = uv_default_loop();
	return loop ? 0 : -ENOMEM;
}

static int uvb_spawn_wait(const char *path, int n, int conc)
{
	char *argv[] = { (char *)path, NULL };
	int first = conc < n ? conc : n, r;

	b1_path = path;
	b1_left = n - first;
	b1_done = 0;
	for (int i = 0; i < first; i++) {
		r = spawn(path, argv, K_B1, NULL);
		if (r < 0)
			return r;
	}
	uv_run(loop, UV_RUN_DEFAULT);
	return b1_done == n ? 0 : -EPROTO;
}

/* A uv_process_t is always in the loop: there is no "bare handle". */
static int uvb_track_idle(char *const argv[], int k, int in_loop)
{
	int r;

	while (n_idle < k) {
		r = spawn(argv[0], argv, K_IDLE, &idle[n_idle]);
		if (r < 0)
			return r;
		n_idle++;
		idle_live++;
	}
	return 0;
}

static int uvb_probe(char *const argv[], int in_loop, uint64_t *woke)
{
	int r;

	probe_done = 0;
	r = spawn(argv[0], argv, K_PROBE, NULL);
	if (r < 0)
		return r;
	while (!probe_done)
		uv_run(loop, UV_RUN_ONCE);
	*woke = probe_woke;
	/* Let the close callback run before the next measurement. */
	uv_run(loop, UV_RUN_NOWAIT);
	return 0;
}

static void uvb_untrack_all(void)
{
	for (int i = 0; i < n_idle; i++)
		uv_process_kill(&idle[i]->proc, SIGKILL);
	while (idle_live > 0)
		uv_run(loop, UV_RUN_ONCE);
	uv_run(loop, UV_RUN_NOWAIT);
	n_idle = 0;
}

const struct bench_ops bench_impl = {
	.name = "libuv",
	.init = uvb_init,
	.spawn_wait = uvb_spawn_wait,
	.track_idle = uvb_track_idle,
	.probe = uvb_probe,
	.untrack_all = uvb_untrack_all,
};
