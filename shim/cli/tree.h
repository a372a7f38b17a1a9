/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tree.h - the process tree below `pidshim run`: how a timeout reaches
 * every descendant of CMD, not only CMD, and how what is left is killed
 * and reaped.  CMD leads a process group of its own (as timeout(1) puts
 * its child in a new group), so one kill(2) reaches every process that
 * stayed in it; pidshim is a child subreaper, so descendants that left
 * the group (setsid, a double fork) and lost their parent become
 * pidshim's children; and a walk of /proc finds the ones whose parent
 * still lives.  Each process found is signalled through a pidshim handle
 * (a pidfd where the kernel has them), after checking that its parent is
 * still the one the walk saw, so a PID reused meanwhile is never hit.
 */
#ifndef PIDSHIM_CLI_TREE_H
#define PIDSHIM_CLI_TREE_H

#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

struct cli_tree {
	pid_t self;	  /* pidshim */
	pid_t cmd;	  /* CMD: its handle's, never reaped here */
	pid_t pgid;	  /* CMD's process group, 0 when it has none of its own */
	bool cmd_reaped;  /* once set, pgid may name someone else's group */
	unsigned reaped;  /* descendants reaped here (orphans) */
	struct rusage ru; /* their resource usage, added up */
};

/* Become a child subreaper: orphaned descendants are reparented to us. */
int cli_tree_subreaper(void);

/*
 * Send sig (and CONT after it, unless sig is KILL or CONT, as timeout(1)
 * does for a stopped process) to CMD's process group while CMD is
 * unreaped, and to every other descendant found in /proc that is not in
 * that group.  CMD itself is signalled by the caller, through its handle.
 * Returns the number of processes signalled one by one.
 */
int cli_tree_signal(struct cli_tree *t, int sig);

/*
 * Reap every exited child but CMD without blocking, adding their usage
 * to t->ru.  Returns how many were reaped.
 */
unsigned cli_tree_reap(struct cli_tree *t);

/* Descendants still alive (zombies not counted), CMD excluded. */
unsigned cli_tree_count(const struct cli_tree *t);

#endif /* PIDSHIM_CLI_TREE_H */
