// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * probe.c - `pidshim probe [--json|--tap]`: what this kernel really offers
 * to pidfd users, next to what its version string claims.  Distro QA runs
 * `--tap`: a feature the claimed version should have but that does not
 * work is `not ok`, with the likely cause (a seccomp profile, an LSM, an
 * emulator, a partial backport), and so is a backend choice of the
 * library that does not follow from the features found.  A feature found
 * on an older kernel is fine (a backport).  Exit 1 on any `not ok`, in
 * every output format, so scripts can use the exit code alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "backends.h"
#include "cli.h"
#include "pidfd_features.h"
#include "pidshim.h"

#define MAX_FEATURES 32

struct check {
	bool expected; /* the claimed kernel version should have it */
	bool consistent;
	char cause[256]; /* likely cause when inconsistent */
};

struct report {
	struct utsname uts;
	int major, minor; /* claimed version; major < 0 when unparseable */
	int seccomp_mode; /* -1 unknown, 0 disabled, 1 strict, 2 filter */
	int seccomp_filters;
	const char *personality; /* set by `pidshim emulate` */
	struct feature_result res[MAX_FEATURES];
	struct check chk[MAX_FEATURES];
	int backend;	      /* pidshim_backend() */
	const char *forced;   /* PIDSHIM_BACKEND, or NULL */
	const char *expected; /* backend the features call for */
	char reason[256];     /* why the library's backend */
	bool backend_ok;
	char backend_cause[256];
	int problems;
};

/* The help text, laid out as printed. */
/* clang-format off */
static void usage(FILE *f)
{
	fprintf(f,
		"Usage: pidshim probe [--json | --tap]\n"
		"\n"
		"Test which pidfd features the running kernel really offers (by using\n"
		"them, never by reading the version), the backend libpidshim chooses,\n"
		"and whether both agree with the kernel version uname reports.\n"
		"\n"
		"      --json   one JSON object (schema in pidshim(1))\n"
		"      --tap    TAP, one line per check, for distro QA\n"
		"  -h, --help   this text\n"
		"\n"
		"Exit status: 0 consistent, 1 a feature or the backend disagrees with\n"
		"the kernel version, 2 bad usage.\n");
}
/* clang-format on */

static void parse_release(struct report *r)
{
	const char *p = r->uts.release;
	char *end;
	long maj, min;

	r->major = r->minor = -1;
	maj = strtol(p, &end, 10);
	if (end == p || *end != '.')
		return;
	p = end + 1;
	min = strtol(p, &end, 10);
	if (end == p || maj < 0 || maj > 1000 || min < 0 || min > 1000)
		return;
	r->major = (int)maj;
	r->minor = (int)min;
}

static void read_seccomp(struct report *r)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	r->seccomp_mode = -1;
	r->seccomp_filters = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Seccomp:", 8))
			r->seccomp_mode = atoi(line + 8);
		else if (!strncmp(line, "Seccomp_filters:", 16))
			r->seccomp_filters = atoi(line + 16);
	}
	fclose(f);
}

static const char *seccomp_name(int mode)
{
	switch (mode) {
	case 0:
		return "disabled";
	case 1:
		return "strict";
	case 2:
		return "filter";
	}
	return "unknown";
}

static const char *err_text(int err, char *buf, size_t size)
{
	if (err == FEATURE_ERR_SIGSYS)
		return "SIGSYS";
	if (err == 0)
		return "-";
	return cli_errno_name(err, buf, size);
}

static bool found(const struct report *r, const char *name)
{
	int i = features_index(name);

	return i >= 0 && r->res[i].found;
}

/* Why a feature the claimed kernel should have is missing. */
static void likely_cause(const struct report *r, const struct feature_result *res,
			 char *buf, size_t size)
{
	bool filter = r->seccomp_mode == 2;

	if (r->personality && filter) {
		snprintf(buf, size, "the seccomp filter of 'pidshim emulate %s' hides it",
			 r->personality);
	} else if (res->err == FEATURE_ERR_SIGSYS) {
		snprintf(buf, size,
			 "a seccomp filter traps it with SIGSYS "
			 "(SECCOMP_RET_TRAP, as on Android or in a sandbox)");
	} else if (filter && (res->err == EPERM || res->err == EACCES)) {
		snprintf(buf, size,
			 "a seccomp filter denies it (a container profile, "
			 "e.g. an older Docker or podman default)");
	} else if (filter && res->err == ENOSYS) {
		snprintf(buf, size,
			 "a seccomp filter answers ENOSYS (a container profile "
			 "older than the syscall)");
	} else if (filter && res->err) {
		snprintf(buf, size, "a seccomp filter (%d active) probably rejects it",
			 r->seccomp_filters);
	} else if (res->err == ENOSYS) {
		snprintf(buf, size,
			 "no seccomp filter: the kernel was built without it, or "
			 "an emulator (qemu-user, gVisor, WSL1) does not implement it");
	} else if (res->err == EPERM || res->err == EACCES) {
		snprintf(buf, size,
			 "no seccomp filter: an LSM (SELinux, AppArmor) or a "
			 "ptrace restriction (Yama) denies it");
	} else if (res->err == EINVAL || res->err == ENOTTY || res->err == ESRCH) {
		snprintf(buf, size,
			 "the kernel rejects the flag or request: a vendor "
			 "kernel with a partial backport, or an emulator");
	} else if (res->note) {
		snprintf(buf, size,
			 "it misbehaves (%s): an emulator or a broken backport",
			 res->note);
	} else {
		snprintf(buf, size, "unexpected error %d", res->err);
	}
}

static void check_features(struct report *r)
{
	for (size_t i = 0; i < cli_n_features; i++) {
		const struct feature *f = &cli_features[i];
		struct check *c = &r->chk[i];

		c->expected = r->major < 0 || r->major > f->major ||
			      (r->major == f->major && r->minor >= f->minor);
		c->consistent = r->res[i].found || !c->expected;
		if (!c->consistent) {
			likely_cause(r, &r->res[i], c->cause, sizeof(c->cause));
			r->problems++;
		}
	}
}

/*
 * The backend the features found call for, by the library's own rule
 * (backends.h).  eventfd is not a feature `pidshim probe` reports: it is
 * taken as present, and a kernel without it makes pidshim_backend() fail,
 * which is reported as such.
 */
static const char *expected_backend(const struct report *r)
{
	unsigned int have = BF_EVENTFD;
	const struct backend_def *b;

	for (size_t i = 0; i < cli_n_features; i++)
		if (r->res[i].found)
			have |= cli_features[i].backend_feature;
	b = backend_best(have);
	return b ? b->name : "none";
}

static void check_backend(struct report *r)
{
	char eb[16];
	const char *name;
	int i;

	r->expected = expected_backend(r);
	r->forced = secure_getenv("PIDSHIM_BACKEND");
	if (r->forced && !*r->forced)
		r->forced = NULL;
	r->backend = pidshim_backend();
	name = pidshim_backend_name(r->backend);
	r->backend_ok = true;

	if (r->backend < 0) {
		r->backend_ok = false;
		if (r->backend == -ENOSYS && r->forced)
			snprintf(r->reason, sizeof(r->reason),
				 "PIDSHIM_BACKEND=%s cannot run on this kernel",
				 r->forced);
		else if (r->backend == -EINVAL && r->forced)
			snprintf(r->reason, sizeof(r->reason),
				 "PIDSHIM_BACKEND=%s is not a backend name", r->forced);
		else
			snprintf(r->reason, sizeof(r->reason),
				 "the library's probe failed: %s", strerror(-r->backend));
		snprintf(r->backend_cause, sizeof(r->backend_cause), "%s", r->reason);
	} else if (r->forced) {
		snprintf(r->reason, sizeof(r->reason), "forced by PIDSHIM_BACKEND=%s",
			 r->forced);
	} else if (r->backend == PIDSHIM_BACKEND_PIDFD) {
		snprintf(r->reason, sizeof(r->reason),
			 "pidfd_open, pidfd_send_signal and waitid(P_PIDFD) work");
	} else if (r->backend == PIDSHIM_BACKEND_PIDFD_POLL) {
		i = features_index("waitid_pidfd");
		snprintf(r->reason, sizeof(r->reason),
			 "pidfd_open works but waitid(P_PIDFD) does not (%s), as on "
			 "Linux 5.3",
			 err_text(r->res[i].err, eb, sizeof(eb)));
	} else {
		const char *missing =
			!found(r, "pidfd_open") ? "pidfd_open" : "pidfd_send_signal";

		i = features_index(missing);
		snprintf(r->reason, sizeof(r->reason),
			 "%s is not usable (%s): the fallback, no pidfd", missing,
			 err_text(r->res[i].err, eb, sizeof(eb)));
	}
	if (r->backend > 0 && !r->forced && strcmp(name, r->expected) != 0) {
		r->backend_ok = false;
		snprintf(r->backend_cause, sizeof(r->backend_cause),
			 "libpidshim chose %s but the features found call for %s", name,
			 r->expected);
	}
	if (!r->backend_ok)
		r->problems++;
}

static void print_human(const struct report *r)
{
	char eb[16];

	printf("kernel     %s (claims Linux %d.%d), %s\n", r->uts.release, r->major,
	       r->minor, r->uts.machine);
	printf("seccomp    %s", seccomp_name(r->seccomp_mode));
	if (r->seccomp_mode == 2)
		printf(" (%d filter%s)", r->seccomp_filters,
		       r->seccomp_filters == 1 ? "" : "s");
	if (r->personality)
		printf(", pidshim emulate %s", r->personality);
	printf("\nbackend    %s: %s\n\n",
	       r->backend > 0 ? pidshim_backend_name(r->backend) : "none", r->reason);
	printf("%-24s %-6s %-6s %s\n", "FEATURE", "SINCE", "FOUND", "ERROR");
	for (size_t i = 0; i < cli_n_features; i++) {
		const struct feature *f = &cli_features[i];
		const struct feature_result *res = &r->res[i];
		char since[16];

		snprintf(since, sizeof(since), "%d.%d", f->major, f->minor);
		printf("%-24s %-6s %-6s %s", f->label, since, res->found ? "yes" : "no",
		       res->found ? "" : err_text(res->err, eb, sizeof(eb)));
		if (!res->found && res->note)
			printf(" (%s)", res->note);
		if (!r->chk[i].consistent)
			printf("  <- INCONSISTENT: %s", r->chk[i].cause);
		printf("\n");
	}
	if (!r->backend_ok)
		printf("\nbackend INCONSISTENT: %s\n", r->backend_cause);
	if (r->problems)
		printf("\n%d problem%s: this kernel does not behave like Linux %d.%d "
		       "(details: pidshim probe --tap)\n",
		       r->problems, r->problems == 1 ? "" : "s", r->major, r->minor);
	else
		printf("\nconsistent: the features match what Linux %d.%d should offer\n",
		       r->major, r->minor);
}

static void print_tap(const struct report *r)
{
	char eb[16];
	int n = 0;

	printf("TAP version 13\n1..%zu\n", cli_n_features + 1);
	printf("# kernel %s (claims Linux %d.%d), %s\n", r->uts.release, r->major,
	       r->minor, r->uts.machine);
	printf("# seccomp %s, %d filter(s)%s%s\n", seccomp_name(r->seccomp_mode),
	       r->seccomp_filters, r->personality ? ", pidshim emulate " : "",
	       r->personality ? r->personality : "");
	for (size_t i = 0; i < cli_n_features; i++) {
		const struct feature *f = &cli_features[i];
		const struct feature_result *res = &r->res[i];
		const struct check *c = &r->chk[i];

		printf("%s %d - %s (Linux %d.%d) ", c->consistent ? "ok" : "not ok", ++n,
		       f->label, f->major, f->minor);
		if (res->found && c->expected)
			printf("present\n");
		else if (res->found)
			printf("present although Linux %d.%d predates it (backported)\n",
			       r->major, r->minor);
		else if (!c->expected)
			printf("absent (%s), as expected on Linux %d.%d\n",
			       err_text(res->err, eb, sizeof(eb)), r->major, r->minor);
		else
			printf("missing on Linux %d.%d: %s%s%s; likely cause: %s\n",
			       r->major, r->minor, err_text(res->err, eb, sizeof(eb)),
			       res->note ? ", " : "", res->note ? res->note : "",
			       c->cause);
	}
	if (r->backend_ok)
		printf("ok %d - backend %s: %s\n", ++n, pidshim_backend_name(r->backend),
		       r->reason);
	else
		printf("not ok %d - backend: %s\n", ++n, r->backend_cause);
}

static void print_json(const struct report *r)
{
	char eb[16], since[16];

	printf("{\n  \"pidshim_version\": ");
	cli_json_string(stdout, PIDSHIM_VERSION_STRING);
	printf(",\n  \"kernel\": {\"release\": ");
	cli_json_string(stdout, r->uts.release);
	printf(", \"machine\": ");
	cli_json_string(stdout, r->uts.machine);
	if (r->major >= 0)
		printf(", \"major\": %d, \"minor\": %d},\n", r->major, r->minor);
	else
		printf(", \"major\": null, \"minor\": null},\n");
	printf("  \"seccomp\": {\"mode\": %d, \"mode_name\": \"%s\", \"filters\": %d},\n",
	       r->seccomp_mode, seccomp_name(r->seccomp_mode), r->seccomp_filters);
	printf("  \"personality\": ");
	cli_json_string_or_null(stdout, r->personality);
	printf(",\n  \"features\": [\n");
	for (size_t i = 0; i < cli_n_features; i++) {
		const struct feature *f = &cli_features[i];
		const struct feature_result *res = &r->res[i];
		const struct check *c = &r->chk[i];

		snprintf(since, sizeof(since), "%d.%d", f->major, f->minor);
		printf("    {\"name\": \"%s\", \"label\": ", f->name);
		cli_json_string(stdout, f->label);
		printf(", \"since\": \"%s\", \"found\": %s, \"errno\": ", since,
		       res->found ? "true" : "false");
		cli_json_string_or_null(
			stdout, res->found || res->err <= 0
					? NULL
					: cli_errno_name(res->err, eb, sizeof(eb)));
		printf(", \"sigsys\": %s, \"note\": ",
		       !res->found && res->err == FEATURE_ERR_SIGSYS ? "true" : "false");
		cli_json_string_or_null(stdout, res->found ? NULL : res->note);
		printf(", \"expected\": %s, \"consistent\": %s, \"cause\": ",
		       c->expected ? "true" : "false", c->consistent ? "true" : "false");
		cli_json_string_or_null(stdout, c->consistent ? NULL : c->cause);
		printf("}%s\n", i + 1 < cli_n_features ? "," : "");
	}
	printf("  ],\n  \"backend\": {\"name\": ");
	cli_json_string_or_null(stdout, pidshim_backend_name(r->backend));
	printf(", \"value\": %d, \"forced\": ", r->backend > 0 ? r->backend : 0);
	cli_json_string_or_null(stdout, r->forced);
	printf(", \"error\": ");
	cli_json_string_or_null(
		stdout,
		r->backend < 0 ? cli_errno_name(-r->backend, eb, sizeof(eb)) : NULL);
	printf(", \"expected\": \"%s\", \"reason\": ", r->expected);
	cli_json_string(stdout, r->reason);
	printf(", \"consistent\": %s, \"cause\": ", r->backend_ok ? "true" : "false");
	cli_json_string_or_null(stdout, r->backend_ok ? NULL : r->backend_cause);
	printf("},\n  \"problems\": %d,\n  \"consistent\": %s\n}\n", r->problems,
	       r->problems ? "false" : "true");
}

int cli_cmd_probe(int argc, char **argv)
{
	static struct report r;
	bool json = false, tap = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--tap"))
			tap = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-')
			return cli_usage_error("probe", "unknown option '%s'", argv[i]);
		else
			return cli_usage_error("probe", "unexpected argument '%s'",
					       argv[i]);
	}
	if (json && tap)
		return cli_usage_error("probe", "--json and --tap exclude each other");

	memset(&r, 0, sizeof(r));
	uname(&r.uts);
	parse_release(&r);
	read_seccomp(&r);
	r.personality = getenv("PIDSHIM_PERSONALITY");
	if (r.personality && !*r.personality)
		r.personality = NULL;
	features_probe_all(r.res);
	check_features(&r);
	check_backend(&r);

	if (json)
		print_json(&r);
	else if (tap)
		print_tap(&r);
	else
		print_human(&r);
	if (fflush(stdout) != 0)
		return EXIT_PROBLEM;
	return r.problems ? EXIT_PROBLEM : 0;
}
