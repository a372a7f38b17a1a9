// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tree.c - finds, signals and reaps the descendants of `pidshim run` (see
 * tree.h).  The walk reads /proc/<pid>/stat of every process once per
 * call (CONFIG_PROC_CHILDREN, the cheaper children list, is off in many
 * kernels) and visits the descendants parents first.  A process is
 * signalled only after a handle to it exists and its parent, read again
 * through /proc after the handle was made, is pidshim or a process
 * checked the same way that is still alive: then the handle names the
 * process the walk saw, even if the PID number was reused in between.
 * Where pidshim_open cannot hold a non-child (the signalfd backend: no
 * pidfds), kill(2) follows the same parent check, which narrows the
 * reuse window to the few instructions between the check and the kill.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pidshim.h"
#include "tree.h"

struct proc {
	pid_t pid, ppid, pgrp;
	char state;
	int depth; /* 1 = child of pidshim; 0 = not a descendant; -1 unknown */
	struct pidshim *h;
	bool checked; /* its parent was confirmed after the handle was made */
};

int cli_tree_subreaper(void)
{
	return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0 ? -errno : 0;
}

/* ppid, process group and state of pid from /proc/pid/stat. */
static int read_stat(pid_t pid, struct proc *p)
{
	char path[32], buf[512], *s;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	/* "pid (comm) S ppid pgrp ...": comm may hold spaces and parens. */
	s = strrchr(buf, ')');
	if (!s || sscanf(s + 1, " %c %d %d", &p->state, &p->ppid, &p->pgrp) != 3)
		return -EINVAL;
	p->pid = pid;
	return 0;
}

static int by_pid(const void *a, const void *b)
{
	const struct proc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static struct proc *find(struct proc *v, size_t n, pid_t pid)
{
	struct proc key = { .pid = pid };

	return bsearch(&key, v, n, sizeof(*v), by_pid);
}

/* Every process of /proc, sorted by pid; NULL when /proc is unreadable. */
static struct proc *scan(size_t *count)
{
	struct proc *v = NULL, *nv;
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *d = opendir("/proc");

	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		memset(&v[n], 0, sizeof(v[n]));
		if (read_stat((pid_t)pid, &v[n]) == 0)
			v[n++].depth = -1;
	}
	closedir(d);
	if (v)
		qsort(v, n, sizeof(*v), by_pid);
	*count = n;
	return v;
}

/* Depth below self (1 = our child), 0 for a process outside the tree. */
static int depth_of(struct proc *v, size_t n, struct proc *p, pid_t self)
{
	struct proc *parent;

	if (p->depth >= 0)
		return p->depth;
	p->depth = 0; /* also breaks a cycle a racing reparent could show */
	if (p->ppid == self)
		p->depth = 1;
	else if ((parent = find(v, n, p->ppid)) && depth_of(v, n, parent, self) > 0)
		p->depth = parent->depth + 1;
	return p->depth;
}

/* A parent we may trust: pidshim, or a checked process still alive. */
static bool parent_holds(struct proc *v, size_t n, pid_t ppid, pid_t self)
{
	struct proc *parent;

	if (ppid == self)
		return true;
	parent = find(v, n, ppid);
	if (!parent || !parent->checked)
		return false;
	return parent->h ? pidshim_send_signal(parent->h, 0) == 0 : kill(ppid, 0) == 0;
}

/*
 * Make a handle for p and confirm it names the process the walk saw: its
 * parent, read again after the handle exists, is unchanged and trusted.
 */
static bool confirm(struct proc *v, size_t n, struct proc *p, pid_t self)
{
	struct proc now;
	int r = pidshim_open(p->pid, 0, &p->h);

	if (r < 0)
		p->h = NULL;
	if (r == -ESRCH || read_stat(p->pid, &now) < 0 || now.ppid != p->ppid)
		return false;
	if (!parent_holds(v, n, p->ppid, self))
		return false;
	if (p->h && pidshim_send_signal(p->h, 0) < 0)
		return false; /* the stat just read may have been a newcomer's */
	p->checked = true;
	return true;
}

static void send_confirmed(const struct proc *p, int sig)
{
	bool cont = sig != SIGKILL && sig != SIGCONT;

	if (p->h) {
		pidshim_send_signal(p->h, sig);
		if (cont)
			pidshim_send_signal(p->h, SIGCONT);
	} else {
		kill(p->pid, sig);
		if (cont)
			kill(p->pid, SIGCONT);
	}
}

int cli_tree_signal(struct cli_tree *t, int sig)
{
	bool group = t->pgid > 0 && !t->cmd_reaped;
	size_t n = 0;
	struct proc *v;
	int sent = 0, maxd = 0;

	if (group) {
		kill(-t->pgid, sig);
		if (sig != SIGKILL && sig != SIGCONT)
			kill(-t->pgid, SIGCONT);
	}
	v = scan(&n);
	if (!v)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (depth_of(v, n, &v[i], t->self) > maxd)
			maxd = v[i].depth;
	/* Parents first: a child is checked against its checked parent. */
	for (int d = 1; d <= maxd; d++) {
		for (size_t i = 0; i < n; i++) {
			struct proc *p = &v[i];

			if (p->depth != d || p->state == 'Z')
				continue;
			if (p->pid == t->cmd) {
				/* Our unreaped child: its PID cannot be reused. */
				p->checked = !t->cmd_reaped;
				continue;
			}
			if (!confirm(v, n, p, t->self))
				continue;
			/* Those in CMD's group had the group kill already. */
			if (!group || p->pgrp != t->pgid) {
				send_confirmed(p, sig);
				sent++;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		pidshim_close(v[i].h);
	free(v);
	return sent;
}

static void add_rusage(struct rusage *sum, const struct rusage *ru)
{
	timeradd(&sum->ru_utime, &ru->ru_utime, &sum->ru_utime);
	timeradd(&sum->ru_stime, &ru->ru_stime, &sum->ru_stime);
	if (ru->ru_maxrss > sum->ru_maxrss)
		sum->ru_maxrss = ru->ru_maxrss;
}

unsigned cli_tree_reap(struct cli_tree *t)
{
	unsigned reaped = 0;

	for (;;) {
		siginfo_t si = { 0 };
		struct rusage ru;
		int status;

		/* Look without reaping: CMD's exit is its handle's to collect. */
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
		    si.si_pid == 0)
			break;
		if (si.si_pid == t->cmd)
			break; /* CMD ended: the caller collects it, then calls again */
		if (wait4(si.si_pid, &status, WNOHANG, &ru) != si.si_pid)
			break;
		add_rusage(&t->ru, &ru);
		t->reaped++;
		reaped++;
	}
	return reaped;
}

unsigned cli_tree_count(const struct cli_tree *t)
{
	size_t n = 0;
	unsigned alive = 0;
	struct proc *v = scan(&n);

	for (size_t i = 0; v && i < n; i++)
		if (depth_of(v, n, &v[i], t->self) > 0 && v[i].pid != t->cmd &&
		    v[i].state != 'Z')
			alive++;
	free(v);
	return alive;
}
