// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * matrix_jobs.c - the processes `pidshim matrix` waits for: kernel
 * fetches, qemu guests and the host run.  Each is spawned with
 * pidshim_spawn (stdout and stderr into its log files) and added to one
 * pidshim_set; the loop sleeps in pidshim_set_wait until one ends or the
 * next second, when the deadlines and each job's tick (has the guest
 * booted yet?) are checked.  A job past its deadline gets KILL through its
 * handle, so a hung guest costs at most its time-out and nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "matrix.h"
#include "pidshim.h"

extern char **environ;

struct slot {
	struct mx_job *job;
	struct pidshim *h;
	int64_t started, deadline;
};

static int job_start(struct mx_job *j, struct slot *s, struct pidshim_set *set)
{
	posix_spawn_file_actions_t fa;
	int r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, j->out ? j->out : "/dev/null",
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, j->err ? j->err : "/dev/null",
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	s->job = j;
	s->started = j->started = cli_now_ms();
	s->deadline = j->timeout_ms > 0 ? cli_deadline(j->timeout_ms) : INT64_MAX;
	r = pidshim_spawnp(&s->h, j->argv[0], &fa, NULL, j->argv,
			   j->envp ? j->envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r == 0)
		r = pidshim_set_add(set, s->h);
	if (r < 0) {
		if (s->h)
			pidshim_send_signal(s->h, SIGKILL);
		j->status = r;
		pidshim_close(s->h);
		s->h = NULL;
		s->job = NULL;
	}
	return r;
}

static void job_end(struct slot *s, struct pidshim_set *set)
{
	struct pidshim_exit ex;
	int r = pidshim_wait(s->h, &ex);

	s->job->status = r < 0 ? r : pidshim_exit_status(&ex);
	s->job->secs = (int)((cli_now_ms() - s->started + 500) / 1000);
	pidshim_set_remove(set, s->h);
	pidshim_close(s->h);
	s->h = NULL;
	s->job = NULL;
}

/* Deadlines and ticks of every running job. */
static void job_checks(struct slot *slots, int n)
{
	int64_t now = cli_now_ms();

	for (int i = 0; i < n; i++) {
		struct mx_job *j = slots[i].job;

		if (!j)
			continue;
		if (now >= slots[i].deadline && !j->timed_out) {
			j->timed_out = true;
			pidshim_send_signal(slots[i].h, SIGKILL);
		} else if (j->tick && !j->ticked_out && j->tick(j)) {
			j->ticked_out = true;
			pidshim_send_signal(slots[i].h, SIGKILL);
		}
	}
}

static int running_slots(const struct slot *slots, int n, bool count_beside)
{
	int busy = 0;

	for (int i = 0; i < n; i++)
		busy += slots[i].job && (count_beside || !slots[i].job->beside);
	return busy;
}

static struct slot *slot_of(struct slot *slots, int n, struct pidshim *h)
{
	for (int i = 0; i < n; i++)
		if (slots[i].h == h)
			return &slots[i];
	return NULL;
}

int mx_run_jobs(struct mx_job **jobs, int n, int parallel)
{
	struct pidshim_set *set = NULL;
	struct slot *slots = calloc((size_t)n + 1, sizeof(*slots));
	int next = 0, r = 0;

	if (!slots || (r = pidshim_set_new(&set)) < 0) {
		free(slots);
		return r < 0 ? r : -ENOMEM;
	}
	while (r == 0 && (next < n || running_slots(slots, n, true) > 0)) {
		struct pidshim *ready = NULL;

		while (next < n && (parallel <= 0 || jobs[next]->beside ||
				    running_slots(slots, n, false) < parallel)) {
			job_start(jobs[next], &slots[next], set);
			next++;
		}
		if (!running_slots(slots, n, true))
			continue;
		r = pidshim_set_wait(set, 1000, &ready);
		if (r == 0) {
			job_end(slot_of(slots, n, ready), set);
		} else if (r == -ETIMEDOUT || r == -EINTR) {
			r = 0;
		}
		job_checks(slots, n);
	}
	for (int i = 0; i < n; i++) {
		if (slots[i].h) { /* only after a failed wait: leave nothing behind */
			pidshim_send_signal(slots[i].h, SIGKILL);
			job_end(&slots[i], set);
		}
	}
	pidshim_set_free(set);
	free(slots);
	return r;
}
