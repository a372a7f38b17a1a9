// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * matrix_log.c - turns the console log of one kernel back into verdicts.
 * ci/matrix-run.sh prints "@@PM" marker lines around each cell; the
 * verdicts are made here, on the host, so a guest that hangs or dies
 * half-way still gives honest rows: a cell that began and never ended
 * was hung (the guest was killed at its time-out) or crashed, a cell that
 * never began was not run.  TAP is counted the way prove(1) reads it, at
 * the top level only (indented subtests are summed up by their parent
 * line); several plans in one cell (a script running many TAP programs)
 * add up, and results a plan promised but never came count as failures.
 * Each cell's lines go to DIR/<cell>.log, the kernel's probe to
 * DIR/probe.json.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "matrix.h"

struct reader {
	struct mx_kernel *k;
	struct mx_cell *cur; /* the cell being read, NULL between cells */
	FILE *cell_log, *probe;
	bool done;
};

const char *mx_status_name(enum mx_status s)
{
	static const char *const names[] = {
		[MX_PASSED] = "passed",	  [MX_SKIPPED] = "skipped",
		[MX_FAILED] = "failed",	  [MX_TIMEOUT] = "timeout",
		[MX_HUNG] = "hung",	  [MX_CRASHED] = "crashed",
		[MX_NOT_RUN] = "not-run", [MX_ERROR] = "error",
	};

	return names[s];
}

static struct mx_cell *cell_named(struct mx_kernel *k, const char *name)
{
	for (int i = 0; i < k->ncells; i++)
		if (!strcmp(k->cells[i].name, name))
			return &k->cells[i];
	return NULL;
}

/* "# SKIP" or "# TODO" (any case) in the directive part of a TAP line. */
static bool directive(const char *line, const char *word)
{
	const char *hash = strchr(line, '#');

	while (hash) {
		const char *p = hash + 1;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!strncasecmp(p, word, strlen(word)))
			return true;
		hash = strchr(p, '#');
	}
	return false;
}

/* One line of a cell's output, at the top level of its TAP. */
static void count_tap(struct mx_cell *c, const char *line)
{
	unsigned n;

	if (!strncmp(line, "ok", 2) && (line[2] == ' ' || line[2] == '\0')) {
		c->tap = true;
		if (directive(line, "skip"))
			c->skipped++;
		else
			c->passed++;
	} else if (!strncmp(line, "not ok", 6) && (line[6] == ' ' || line[6] == '\0')) {
		c->tap = true;
		if (directive(line, "skip") || directive(line, "todo"))
			c->skipped++;
		else
			c->failed++;
	} else if (sscanf(line, "1..%u", &n) == 1) {
		c->tap = true;
		c->planned += n;
		if (n == 0 && directive(line, "skip"))
			c->skipped++; /* the whole program skipped */
	} else if (!strncmp(line, "Bail out!", 9)) {
		c->tap = true;
		c->failed++;
	}
}

static void cell_begin(struct reader *r, const char *name, const char *dir)
{
	char path[4096];

	r->cur = cell_named(r->k, name);
	if (!r->cur)
		return;
	r->cur->status = MX_CRASHED; /* until its end marker is seen */
	cli_fmt(path, sizeof(path), "%s/%s.log", dir, name);
	r->cell_log = fopen(path, "we");
}

/* The verdict of a cell that ended with exit status rc. */
static void cell_end(struct reader *r, const char *rest)
{
	struct mx_cell *c = r->cur;
	unsigned results;

	if (sscanf(rest, "%*s rc=%d secs=%d", &c->rc, &c->secs) < 1)
		c->rc = -1;
	results = c->passed + c->failed + c->skipped;
	if (c->tap && c->planned > results) {
		cli_fmt(c->note, sizeof(c->note), "%u results missing",
			c->planned - results);
		c->failed += c->planned - results;
	}
	if (strstr(rest, " timeout")) {
		c->status = MX_TIMEOUT;
		cli_fmt(c->note, sizeof(c->note), "killed at the cell time-out after %ds",
			c->secs);
	} else if (c->rc == 0 && c->failed == 0)
		c->status = c->tap && c->passed == 0 && c->skipped > 0 ? MX_SKIPPED
								       : MX_PASSED;
	else if (c->rc == 4 && c->tap && c->failed == 0 && c->passed == 0)
		c->status = MX_SKIPPED; /* kselftest's KSFT_SKIP */
	else
		c->status = MX_FAILED;
	if (c->status == MX_FAILED && c->failed == 0 && !c->note[0])
		cli_fmt(c->note, sizeof(c->note), "exit status %d", c->rc);
	if (r->cell_log)
		fclose(r->cell_log);
	r->cell_log = NULL;
	r->cur = NULL;
}

static void marker(struct reader *r, const char *m, const char *dir)
{
	char word[MX_NAME_MAX], val[MX_NAME_MAX];
	char path[4096];
	struct mx_cell *c;

	if (sscanf(m, "uname %95s", r->k->release) == 1)
		return;
	if (!strcmp(m, "probe-begin")) {
		cli_fmt(path, sizeof(path), "%s/probe.json", dir);
		r->probe = fopen(path, "we");
	} else if (!strncmp(m, "probe-end", 9)) {
		if (r->probe)
			fclose(r->probe);
		r->probe = NULL;
	} else if (sscanf(m, "cell-begin %63s", word) == 1) {
		cell_begin(r, word, dir);
	} else if (sscanf(m, "backend %63s %63s", word, val) == 2 &&
		   (c = cell_named(r->k, word))) {
		cli_fmt(c->backend, sizeof(c->backend), "%s", val);
	} else if (!strncmp(m, "cell-end ", 9) && r->cur) {
		cell_end(r, m + 9);
	} else if (!strcmp(m, "done")) {
		r->done = true;
	}
}

static void line(struct reader *r, char *s, const char *dir)
{
	char *m = strstr(s, "@@PM ");
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	if (m) {
		marker(r, m + 5, dir);
	} else if (r->probe) {
		fprintf(r->probe, "%s\n", s);
	} else if (r->cur) {
		if (r->cell_log)
			fprintf(r->cell_log, "%s\n", s);
		count_tap(r->cur, s);
	}
}

/* Cells the log never finished: what stopped them, in words. */
static void unfinished(struct mx_kernel *k)
{
	for (int i = 0; i < k->ncells; i++) {
		struct mx_cell *c = &k->cells[i];

		if (c->status == MX_CRASHED && k->timed_out) {
			c->status = MX_HUNG;
			cli_fmt(c->note, sizeof(c->note), "guest killed after %ds",
				k->secs);
		} else if (c->status == MX_CRASHED) {
			cli_fmt(c->note, sizeof(c->note),
				"the guest stopped here, see its console log");
		} else if (c->status == MX_NOT_RUN && !c->note[0]) {
			cli_fmt(c->note, sizeof(c->note),
				"the guest stopped before this cell");
		}
	}
}

int mx_read_log(struct mx_kernel *k, const char *log, char *const *cells, int n)
{
	struct reader r = { .k = k };
	char *buf = NULL;
	size_t cap = 0;
	FILE *f;

	k->ncells = n < MX_MAX_CELLS ? n : MX_MAX_CELLS;
	for (int i = 0; i < k->ncells; i++) {
		k->cells[i] = (struct mx_cell){ .status = MX_NOT_RUN, .rc = -1 };
		cli_fmt(k->cells[i].name, sizeof(k->cells[i].name), "%s", cells[i]);
		cli_fmt(k->cells[i].backend, sizeof(k->cells[i].backend), "-");
	}
	cli_fmt(k->release, sizeof(k->release), "?");
	f = fopen(log, "re");
	if (!f)
		return -errno;
	while (getline(&buf, &cap, f) > 0)
		line(&r, buf, k->dir);
	free(buf);
	fclose(f);
	if (r.cell_log)
		fclose(r.cell_log);
	if (r.probe)
		fclose(r.probe);
	unfinished(k);
	return r.done ? 0 : -EPIPE;
}
