/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * matrix.h - what the parts of `pidshim matrix` share.  The command boots
 * each kernel under qemu with a busybox initramfs that holds the user's
 * static test, runs it natively and under each requested personality,
 * and prints one row per kernel x personality.  Its parts:
 *   matrix.c            options, the flow, the table and JSON report
 *   matrix_arch.c       the one table of what differs per architecture
 *                       (qemu binary and machine, console, Debian kernel
 *                       flavour, busybox), and the ELF checks
 *   matrix_initramfs.c  the newc cpio writer
 *   matrix_jobs.c       kernel fetches, qemu guests and the host run as
 *                       processes waited for in one pidshim_set, each
 *                       with its deadline
 *   matrix_log.c        reading a console log back: markers, TAP counts,
 *                       the per-cell logs, the verdicts
 * In the guest, /init (ci/guest-init.sh) runs ci/matrix-run.sh, which
 * prints "@@PM" marker lines around each cell; the host run uses the same
 * script, so every kernel is tested the same way.
 */
#ifndef PIDSHIM_CLI_MATRIX_H
#define PIDSHIM_CLI_MATRIX_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define MX_MAX_CELLS 32
#define MX_NAME_MAX  64

/* What differs per architecture: one row of matrix_arch.c's table. */
struct mx_arch {
	const char *name;	    /* --arch: "x86_64" */
	const char *qemu;	    /* "qemu-system-x86_64" */
	const char *qemu_package;   /* the Debian package that has it */
	const char *const *machine; /* extra qemu arguments, NULL-terminated */
	const char *cpu_tcg;	    /* -cpu under TCG */
	const char *cpu_kvm;	    /* -cpu under KVM */
	const char *console;	    /* guest serial console device */
	const char *debian_arch;    /* Debian architecture of the kernels */
	const char *kernel_flavour; /* linux-image-*-FLAVOUR */
	const char *busybox;	    /* a static busybox for the guest, NULL:
				       only LIBEXEC/<name>/busybox */
	const char *busybox_pkg;    /* the Debian package that has it */
	unsigned short elf_machine; /* e_machine of the guest's binaries */
	unsigned short elf_compat;  /* also runs these (0: none) */
	const char *uname_machine;  /* uname -m of a host that runs it natively */
};

const struct mx_arch *mx_arch_lookup(const char *name);
/* The names of the table, blank-separated, for messages. */
const char *mx_arch_names(void);

/*
 * What the file at path is for the guest: 0 a static executable for
 * arch (or a #!/bin/... script busybox runs), else -errno with *why.
 */
int mx_check_guest_binary(const struct mx_arch *a, const char *path, const char **why);

enum mx_kind { MX_SUITE, MX_IMAGE, MX_HOST };

enum mx_status {
	MX_PASSED,
	MX_SKIPPED,
	MX_FAILED,  /* the test failed: exit status or TAP */
	MX_TIMEOUT, /* the cell's own time-out (--cell-timeout) */
	MX_HUNG,    /* the guest was killed at --timeout while in this cell */
	MX_CRASHED, /* the guest stopped in this cell without ending it */
	MX_NOT_RUN, /* the guest never reached this cell */
	MX_ERROR,   /* no kernel (fetch failed), or it did not boot */
};

const char *mx_status_name(enum mx_status s);

struct mx_cell {
	char name[MX_NAME_MAX]; /* "native", "4.19", ... or "probe" */
	char backend[16];	/* the backend the library chose there, or "-" */
	enum mx_status status;
	int rc;	  /* exit status of the test, -1 unknown */
	bool tap; /* the test printed TAP */
	unsigned passed, failed, skipped, planned;
	int secs;
	char note[96];
};

struct mx_kernel {
	char name[MX_NAME_MAX];
	enum mx_kind kind;
	char *image;	       /* vmlinuz to boot (suites: after the fetch) */
	char *dir;	       /* its log directory */
	char release[96];      /* uname -r in the guest, "?" unknown */
	const char *accel;     /* "tcg", "kvm" or "host" */
	enum mx_status status; /* MX_PASSED: booted and ran to the end */
	char note[160];
	int secs;
	bool timed_out; /* killed at --timeout */
	bool no_hello;	/* killed at --boot-timeout: never reached /init */
	int ncells;
	struct mx_cell cells[MX_MAX_CELLS];
};

/*
 * Read the log of kernel k (console or host run), fill k->release and
 * k->cells (one per name in cells[0..n)), write DIR/<cell>.log and
 * DIR/probe.json.  Returns 0, or -errno when the log cannot be read.
 */
int mx_read_log(struct mx_kernel *k, const char *log, char *const *cells, int n);

/* A cpio "newc" archive being written. */
struct mx_cpio {
	FILE *f;
	unsigned ino;
	int err;
};

int mx_cpio_open(struct mx_cpio *c, const char *path);
int mx_cpio_dir(struct mx_cpio *c, const char *name);
int mx_cpio_file(struct mx_cpio *c, const char *name, const char *src, unsigned mode);
int mx_cpio_data(struct mx_cpio *c, const char *name, const void *data, size_t len,
		 unsigned mode);
int mx_cpio_symlink(struct mx_cpio *c, const char *name, const char *target);
int mx_cpio_chardev(struct mx_cpio *c, const char *name, unsigned major, unsigned minor);
/* Copy a file or a directory tree from the host to name. */
int mx_cpio_tree(struct mx_cpio *c, const char *name, const char *src);
/* Write the trailer and close: 0, or the first error met. */
int mx_cpio_close(struct mx_cpio *c);

/* One process the matrix waits for: a fetch, a guest, the host run. */
struct mx_job {
	char *const *argv;
	const char *out, *err; /* files for stdout and stderr */
	char *const *envp;     /* NULL: environ */
	int64_t timeout_ms;    /* 0: none */
	/* Called about every second while it runs; true: kill it now. */
	bool (*tick)(struct mx_job *j);
	void *data;
	bool beside; /* runs without taking one of the slots */
	/* Filled in: */
	int64_t started; /* cli_now_ms() when it was spawned */
	int status;	 /* wait(2) status word, -errno when it could not start */
	bool timed_out;	 /* killed at timeout_ms */
	bool ticked_out; /* killed because tick said so */
	int secs;
};

/*
 * Run the jobs in order, at most `parallel` at a time (0: all at once;
 * a job marked beside does not take a slot), until all have ended.
 * Returns 0, or -errno when waiting itself failed.
 */
int mx_run_jobs(struct mx_job **jobs, int n, int parallel);

#endif /* PIDSHIM_CLI_MATRIX_H */
