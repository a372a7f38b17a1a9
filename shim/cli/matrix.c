// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * matrix.c - `pidshim matrix`: runs anyone's static test on real kernels.
 * Each --kernel is a Debian suite (its newest cloud kernel, fetched and
 * cached by kernel-fetch.sh), an image NAME=PATH, or "host" (natively,
 * no VM).  The test, the --file extras, a static pidshim and busybox go
 * into one initramfs; every kernel boots it under qemu (KVM when it
 * works, TCG otherwise), runs the test natively and under each requested
 * personality (`pidshim emulate`), and prints one row per kernel x
 * personality.  What the command needs besides qemu and busybox-static
 * (the guest's /init, the cell runner, the fetcher, a static pidshim per
 * architecture, and a static busybox for an architecture the host has
 * none of, as LIBEXEC/<arch>/busybox) is in the libexec directory
 * `make install` fills or the caller points PIDSHIM_LIBEXECDIR at:
 * $PIDSHIM_LIBEXECDIR, else <bin>/libexec/pidshim (the build tree), else
 * <bin>/../libexec/pidshim, else the one configured at build time.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "matrix.h"
#include "parse.h"
#include "personality.h"

#ifndef CLI_PKGLIBEXECDIR
#define CLI_PKGLIBEXECDIR "/usr/local/libexec/pidshim"
#endif

#define MX_MAX_KERNELS	       32
#define KVM_GET_API_VERSION_NR 0xAE00 /* _IO(KVMIO, 0x00) */

struct mx_opts {
	const struct mx_arch *arch;
	const char *kernels[MX_MAX_KERNELS];
	int nkernels;
	char *cells[MX_MAX_CELLS]; /* "probe" (with --probe), "native", personalities */
	int ncells;
	const char **files, **envs;
	int nfiles, nenvs;
	bool json, probe;
	int64_t timeout_ms, cell_timeout_ms, boot_timeout_ms;
	long jobs, memory_mb;
	const char *accel, *log_dir;
	char **test;
};

struct mx_run {
	const struct mx_opts *o;
	char self[PATH_MAX], libexec[PATH_MAX], dir[PATH_MAX], initrd[PATH_MAX];
	char busybox[PATH_MAX];
	struct mx_kernel kernels[MX_MAX_KERNELS];
	int nkernels;
	bool any_guest;
};

/* The help text, laid out as printed. */
/* clang-format off */
static void usage(FILE *f)
{
	fprintf(f,
		"Usage: pidshim matrix [OPTION...] -- TEST [ARG...]\n"
		"\n"
		"Boot each kernel under qemu and run the static program TEST in it,\n"
		"natively and under each personality; one row per kernel x personality.\n"
		"\n"
		"  -k, --kernel SPEC       SUITE (newest Debian cloud kernel of a suite:\n"
		"                          bullseye, bookworm, trixie, sid...), NAME=PATH\n"
		"                          or PATH (a kernel image), or host (natively)\n"
		"  -p, --personality NAME  also run under NAME (see 'pidshim emulate\n"
		"                          --list'); 'all' for every one\n"
		"  -f, --file PATH         also put PATH (a file or a directory) next to\n"
		"                          TEST in the guest\n"
		"  -e, --env NAME=VALUE    set NAME in TEST's environment\n"
		"      --probe             add a row per kernel: 'pidshim probe --tap'\n"
		"  -t, --timeout DUR       bound for one kernel, boot included (10m)\n"
		"      --cell-timeout DUR  bound for one run of TEST (0: none, the default)\n"
		"      --boot-timeout DUR  bound until the guest's /init starts (2m)\n"
		"  -j, --jobs N            guests booted at once (2)\n"
		"      --accel auto|kvm|tcg  (auto: KVM when it works)\n"
		"  -m, --memory MIB        guest memory (512)\n"
		"      --arch NAME         guest architecture (%s)\n"
		"  -o, --log-dir DIR       console and per-cell logs (./pidshim-matrix)\n"
		"      --json              one JSON object on stdout instead of the table\n"
		"  -h, --help              this text\n"
		"\n"
		"TEST and --file PATH go to /pm in the guest, TEST runs there with\n"
		"PIDSHIM_MATRIX_KERNEL, _CELL and _ACCEL set; a TEST without '/' is a\n"
		"command of the guest (busybox).  TAP output is counted.\n"
		"\n"
		"Exit status: 0 every cell passed or skipped; 1 a cell failed, timed out,\n"
		"hung or did not run; 2 bad usage; 125 the matrix could not be set up.\n"
		"See pidshim-matrix(1).\n",
		mx_arch_names());
}
/* clang-format on */

static int add_cell(struct mx_opts *o, const char *name)
{
	for (int i = 0; i < o->ncells; i++)
		if (!strcmp(o->cells[i], name))
			return 0;
	if (o->ncells >= MX_MAX_CELLS - 1) /* room for "probe" */
		return cli_usage_error("matrix", "too many personalities");
	o->cells[o->ncells++] = (char *)name;
	return 0;
}

static int add_personality(struct mx_opts *o, const char *name)
{
	const struct personality *p;
	int r = 0;

	if (!strcmp(name, "all")) {
		for (size_t i = 0; !r && (p = personality_get(i)); i++)
			r = add_cell(o, p->name);
		return r;
	}
	if (!personality_lookup(name))
		return cli_usage_error(
			"matrix",
			"unknown personality '%s' (see 'pidshim emulate --list')", name);
	return add_cell(o, name);
}

static int parse_dur(const char *opt, const char *v, int64_t *ms)
{
	const char *why;

	if (cli_parse_duration(v, ms, &why) < 0)
		return cli_usage_error("matrix", "bad duration '%s' for %s: %s", v, opt,
				       why);
	return 0;
}

static int parse_count(const char *opt, const char *v, long max, long *n)
{
	char *end;

	errno = 0;
	*n = strtol(v, &end, 10);
	if (errno || end == v || *end || *n < 1 || *n > max)
		return cli_usage_error("matrix", "bad value '%s' for %s (1 to %ld)", v,
				       opt, max);
	return 0;
}

static int parse_one(struct mx_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'k':
		if (o->nkernels == MX_MAX_KERNELS)
			return cli_usage_error("matrix", "too many kernels");
		o->kernels[o->nkernels++] = arg;
		return 0;
	case 'p':
		return add_personality(o, arg);
	case 'f':
		o->files[o->nfiles++] = arg;
		return 0;
	case 'e':
		if (!strchr(arg, '=') || arg[0] == '=')
			return cli_usage_error("matrix",
					       "--env wants NAME=VALUE, not '%s'", arg);
		o->envs[o->nenvs++] = arg;
		return 0;
	case 'P':
		o->probe = true;
		return 0;
	case 't':
		return parse_dur("--timeout", arg, &o->timeout_ms);
	case 'C':
		return parse_dur("--cell-timeout", arg, &o->cell_timeout_ms);
	case 'B':
		return parse_dur("--boot-timeout", arg, &o->boot_timeout_ms);
	case 'j':
		return parse_count("--jobs", arg, 64, &o->jobs);
	case 'm':
		return parse_count("--memory", arg, 1 << 20, &o->memory_mb);
	case 'A':
		if (strcmp(arg, "auto") && strcmp(arg, "kvm") && strcmp(arg, "tcg"))
			return cli_usage_error(
				"matrix", "--accel is auto, kvm or tcg, not '%s'", arg);
		o->accel = arg;
		return 0;
	case 'a':
		o->arch = mx_arch_lookup(arg);
		if (!o->arch)
			return cli_usage_error("matrix",
					       "unknown architecture '%s' (known: %s)",
					       arg, mx_arch_names());
		return 0;
	case 'o':
		o->log_dir = arg;
		return 0;
	case 'J':
		o->json = true;
		return 0;
	}
	return -1;
}

/* Returns -1 to go on, or the exit code. */
static int mx_parse(int argc, char **argv, struct mx_opts *o)
{
	static const struct option longs[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "personality", required_argument, NULL, 'p' },
		{ "file", required_argument, NULL, 'f' },
		{ "env", required_argument, NULL, 'e' },
		{ "probe", no_argument, NULL, 'P' },
		{ "timeout", required_argument, NULL, 't' },
		{ "cell-timeout", required_argument, NULL, 'C' },
		{ "boot-timeout", required_argument, NULL, 'B' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "memory", required_argument, NULL, 'm' },
		{ "accel", required_argument, NULL, 'A' },
		{ "arch", required_argument, NULL, 'a' },
		{ "log-dir", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	optind = 0;
	opterr = 0;
	o->cells[o->ncells++] = "native";
	while ((c = getopt_long(argc, argv, "+:k:p:f:e:t:j:m:o:h", longs, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		r = parse_one(o, c, optarg);
		if (r < 0)
			return cli_getopt_error("matrix", c, argv);
		if (r > 0)
			return r;
	}
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0)
		return cli_usage_error("matrix", "missing '--' before TEST '%s'",
				       argv[optind]);
	if (optind >= argc)
		return cli_usage_error("matrix", "missing '--' and the TEST to run");
	if (o->probe) {
		memmove(&o->cells[1], &o->cells[0],
			(size_t)o->ncells * sizeof(o->cells[0]));
		o->cells[0] = "probe";
		o->ncells++;
	}
	if (!o->nkernels)
		return cli_usage_error(
			"matrix", "no kernel: give --kernel SUITE, NAME=PATH or host");
	o->test = &argv[optind];
	return -1;
}

/* ---- setting up --------------------------------------------------------- */

/* One line on stderr; the matrix could not be set up: exit 125. */
#define setup_error(...) cli_fail("matrix", EXIT_CANCELED, __VA_ARGS__)

static bool file_in(const char *dir, const char *name)
{
	char path[PATH_MAX];

	cli_fmt(path, sizeof(path), "%s/%s", dir, name);
	return access(path, R_OK) == 0;
}

/*
 * The libexec directory: $PIDSHIM_LIBEXECDIR when set, else the first
 * candidate next to the binary or configured at build time that has the
 * guest's /init.
 */
static int find_libexec(struct mx_run *m)
{
	char bindir[PATH_MAX], cand[3][PATH_MAX];
	const char *env = getenv("PIDSHIM_LIBEXECDIR");
	ssize_t n = readlink("/proc/self/exe", m->self, sizeof(m->self) - 1);

	if (n <= 0)
		return setup_error("cannot find my own binary: %s", strerror(errno));
	m->self[n] = '\0';
	if (env && *env) {
		if (!file_in(env, "guest-init.sh"))
			return setup_error("PIDSHIM_LIBEXECDIR=%s has no guest-init.sh",
					   env);
		cli_fmt(m->libexec, sizeof(m->libexec), "%s", env);
		return 0;
	}
	cli_fmt(bindir, sizeof(bindir), "%s", m->self);
	*strrchr(bindir, '/') = '\0';
	cli_fmt(cand[0], sizeof(cand[0]), "%s/libexec/pidshim", bindir);
	cli_fmt(cand[1], sizeof(cand[1]), "%s/../libexec/pidshim", bindir);
	cli_fmt(cand[2], sizeof(cand[2]), "%s", CLI_PKGLIBEXECDIR);
	for (int i = 0; i < 3; i++) {
		if (file_in(cand[i], "guest-init.sh")) {
			cli_fmt(m->libexec, sizeof(m->libexec), "%s", cand[i]);
			return 0;
		}
	}
	return setup_error(
		"the guest files (guest-init.sh, matrix-run.sh, ...) are in none of "
		"%s, %s, %s: install pidshim with 'make install' or set "
		"PIDSHIM_LIBEXECDIR",
		cand[0], cand[1], cand[2]);
}

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t len = strcspn(p, ":");

		cli_fmt(buf, sizeof(buf), "%.*s/%s", (int)len, p, prog);
		if (access(buf, X_OK) == 0)
			return true;
		p += len + (p[len] == ':');
	}
	return false;
}

/*
 * The guest's busybox: LIBEXEC/<arch>/busybox when there is one (a
 * foreign architecture's, unpacked from its Debian package), else the
 * architecture's usual place on the host.
 */
static int find_busybox(struct mx_run *m)
{
	const struct mx_arch *a = m->o->arch;
	char dir[PATH_MAX];

	cli_fmt(dir, sizeof(dir), "%s/%s", m->libexec, a->name);
	if (file_in(dir, "busybox"))
		cli_fmt(m->busybox, sizeof(m->busybox), "%s/busybox", dir);
	else if (a->busybox)
		cli_fmt(m->busybox, sizeof(m->busybox), "%s", a->busybox);
	else
		return setup_error("no static busybox for %s guests: put one at "
				   "%s/busybox (Debian: %s, unpacked with dpkg -x)",
				   a->name, dir, a->busybox_pkg);
	return 0;
}

/* What the guests need: qemu, a static busybox and pidshim, a static TEST. */
static int check_guest_tools(struct mx_run *m)
{
	const struct mx_arch *a = m->o->arch;
	char path[PATH_MAX];
	const char *why;
	int r;

	if (strchr(m->o->test[0], '/') &&
	    mx_check_guest_binary(a, m->o->test[0], &why) < 0)
		return setup_error("%s cannot run in an %s guest: %s", m->o->test[0],
				   a->name, why);
	if (!in_path(a->qemu))
		return setup_error("%s is not installed (Debian: apt-get install %s)",
				   a->qemu, a->qemu_package);
	if ((r = find_busybox(m)) != 0)
		return r;
	if (mx_check_guest_binary(a, m->busybox, &why) < 0)
		return setup_error("%s: %s (Debian: %s)", m->busybox, why,
				   a->busybox_pkg);
	cli_fmt(path, sizeof(path), "%s/%s/pidshim", m->libexec, a->name);
	if (mx_check_guest_binary(a, path, &why) < 0)
		return setup_error("%s, the static pidshim for %s guests: %s", path,
				   a->name, why);
	return 0;
}

/* Checks that files exist and no two land on one name in /pm. */
static int check_files(const struct mx_opts *o)
{
	const char *names[258];
	int n = 0;

	if (strchr(o->test[0], '/'))
		names[n++] = o->test[0];
	for (int i = 0; i < o->nfiles; i++)
		names[n++] = o->files[i];
	for (int i = 0; i < n; i++) {
		const char *base =
			strrchr(names[i], '/') ? strrchr(names[i], '/') + 1 : names[i];

		if (access(names[i], R_OK) < 0)
			return setup_error("%s: %s", names[i], strerror(errno));
		if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
			return setup_error("%s: name the file or directory itself",
					   names[i]);
		for (int j = 0; j < i; j++) {
			const char *other = strrchr(names[j], '/')
						    ? strrchr(names[j], '/') + 1
						    : names[j];
			if (!strcmp(base, other))
				return setup_error(
					"%s and %s would both be /pm/%s in the guest",
					names[j], names[i], base);
		}
	}
	return 0;
}

/* NAME for a kernel image named by its path only: vmlinuz-6.6.1 -> 6.6.1. */
static void name_from_path(const char *path, char *name, size_t size)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

	if (!strncmp(base, "vmlinuz-", 8) && base[8])
		base += 8;
	cli_fmt(name, size, "%s", base);
}

static bool good_name(const char *s)
{
	if (!*s || *s == '.' || strlen(s) >= MX_NAME_MAX)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789."
			 "_+-") == strlen(s);
}

/* Does this machine run the architecture's binaries itself (uname -m)? */
static bool arch_is_native(const struct mx_arch *a)
{
	struct utsname u;

	return uname(&u) == 0 && !strcmp(u.machine, a->uname_machine);
}

static int add_kernel(struct mx_run *m, const char *spec)
{
	struct mx_kernel *k = &m->kernels[m->nkernels];
	const char *eq = strchr(spec, '=');

	*k = (struct mx_kernel){ .kind = MX_SUITE, .accel = "host" };
	if (eq) {
		cli_fmt(k->name, sizeof(k->name), "%.*s", (int)(eq - spec), spec);
		k->kind = MX_IMAGE;
		k->image = strdup(eq + 1);
	} else if (strchr(spec, '/')) {
		name_from_path(spec, k->name, sizeof(k->name));
		k->kind = MX_IMAGE;
		k->image = strdup(spec);
	} else {
		cli_fmt(k->name, sizeof(k->name), "%s", spec);
		k->kind = !strcmp(spec, "host") ? MX_HOST : MX_SUITE;
	}
	if (!good_name(k->name))
		return cli_usage_error("matrix",
				       "bad kernel name '%s' in '%s' (letters, digits, "
				       "'.', '_', '+', '-')",
				       k->name, spec);
	for (int i = 0; i < m->nkernels; i++)
		if (!strcmp(m->kernels[i].name, k->name))
			return cli_usage_error("matrix", "kernel '%s' given twice",
					       k->name);
	if (k->kind == MX_HOST && !arch_is_native(m->o->arch))
		return cli_usage_error("matrix",
				       "the host kernel cannot run %s tests here: "
				       "leave 'host' out with --arch %s",
				       m->o->arch->name, m->o->arch->name);
	if (k->kind == MX_IMAGE && access(k->image, R_OK) < 0)
		return setup_error("kernel image %s: %s", k->image, strerror(errno));
	m->any_guest |= k->kind != MX_HOST;
	m->nkernels++;
	return 0;
}

/* DIR/NAME, emptied of the files of an earlier run. */
static int kernel_dir(struct mx_run *m, struct mx_kernel *k)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (asprintf(&k->dir, "%s/%s", m->dir, k->name) < 0)
		return setup_error("out of memory");
	if (mkdir(k->dir, 0755) < 0 && errno != EEXIST)
		return setup_error("%s: %s", k->dir, strerror(errno));
	d = opendir(k->dir);
	while (d && (e = readdir(d))) {
		if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN)
			continue;
		cli_fmt(path, sizeof(path), "%s/%s", k->dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	return 0;
}

static int mx_setup(struct mx_run *m)
{
	const struct mx_opts *o = m->o;
	int r;

	for (int i = 0; i < o->nkernels; i++)
		if ((r = add_kernel(m, o->kernels[i])) != 0)
			return r;
	if ((r = find_libexec(m)) || (r = check_files(o)))
		return r;
	if (m->any_guest && (r = check_guest_tools(m)))
		return r;
	if (mkdir(o->log_dir, 0755) < 0 && errno != EEXIST)
		return setup_error("%s: %s", o->log_dir, strerror(errno));
	if (!realpath(o->log_dir, m->dir))
		return setup_error("%s: %s", o->log_dir, strerror(errno));
	for (int i = 0; i < m->nkernels; i++)
		if ((r = kernel_dir(m, &m->kernels[i])))
			return r;
	return 0;
}

/* ---- what the guest gets ---------------------------------------------------- */

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* s as one sh word in single quotes. */
static void sh_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

/* The settings matrix-run.sh sources: cells, bounds, environment, TEST. */
static char *conf_text(const struct mx_opts *o, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		return NULL;
	fputs("# Written by pidshim matrix for matrix-run.sh.\nPM_CELLS='", f);
	for (int i = 0; i < o->ncells; i++)
		fprintf(f, "%s%s", i ? " " : "", o->cells[i]);
	fprintf(f, "'\nPM_CELL_TIMEOUT_MS=%lld\n",
		(long long)(o->cell_timeout_ms > 0 ? o->cell_timeout_ms : 0));
	for (int i = 0; i < o->nenvs; i++) {
		fputs("export ", f);
		sh_quote(f, o->envs[i]);
		fputc('\n', f);
	}
	fputs("set --", f);
	for (int i = 0; o->test[i]; i++) {
		fputc(' ', f);
		if (i == 0 && strchr(o->test[0], '/')) {
			fputs("\"$PM_DIR\"/", f);
			sh_quote(f, base_name(o->test[0]));
		} else {
			sh_quote(f, o->test[i]);
		}
	}
	fputc('\n', f);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* One initramfs for every guest: busybox, /init, the runner, pidshim, /pm. */
static int write_initramfs(struct mx_run *m, const char *conf, size_t conf_len)
{
	const struct mx_opts *o = m->o;
	struct mx_cpio c;
	char src[PATH_MAX], dst[PATH_MAX];

	cli_fmt(m->initrd, sizeof(m->initrd), "%s/initramfs.cpio", m->dir);
	if (mx_cpio_open(&c, m->initrd) < 0)
		return setup_error("%s: %s", m->initrd, strerror(errno));
	mx_cpio_dir(&c, "bin");
	mx_cpio_dir(&c, "dev");
	mx_cpio_dir(&c, "proc");
	mx_cpio_dir(&c, "sys");
	mx_cpio_dir(&c, "tmp");
	mx_cpio_dir(&c, "pm");
	mx_cpio_chardev(&c, "dev/console", 5, 1);
	mx_cpio_file(&c, "bin/busybox", m->busybox, 0755);
	mx_cpio_symlink(&c, "bin/sh", "busybox");
	cli_fmt(src, sizeof(src), "%s/guest-init.sh", m->libexec);
	mx_cpio_file(&c, "init", src, 0755);
	cli_fmt(src, sizeof(src), "%s/matrix-run.sh", m->libexec);
	mx_cpio_file(&c, "matrix-run.sh", src, 0755);
	cli_fmt(src, sizeof(src), "%s/%s/pidshim", m->libexec, o->arch->name);
	mx_cpio_file(&c, "pidshim", src, 0755);
	mx_cpio_data(&c, "pm.conf", conf, conf_len, 0644);
	if (strchr(o->test[0], '/')) {
		cli_fmt(dst, sizeof(dst), "pm/%s", base_name(o->test[0]));
		mx_cpio_tree(&c, dst, o->test[0]);
	}
	for (int i = 0; i < o->nfiles; i++) {
		cli_fmt(dst, sizeof(dst), "pm/%s", base_name(o->files[i]));
		mx_cpio_tree(&c, dst, o->files[i]);
	}
	if (mx_cpio_close(&c) < 0)
		return setup_error("writing %s: %s", m->initrd, strerror(-c.err));
	return 0;
}

/* The host run's copy of /pm: cp -R, in a few lines. */
static int copy_tree(const char *src, const char *dst)
{
	char s[PATH_MAX], d[PATH_MAX], buf[65536];
	struct dirent *e;
	struct stat st;
	int in, out, r = 0;
	ssize_t n;
	DIR *dir;

	if (stat(src, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(dst, 0755) < 0 && errno != EEXIST)
			return -errno;
		if (!(dir = opendir(src)))
			return -errno;
		while (!r && (e = readdir(dir))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			cli_fmt(s, sizeof(s), "%s/%s", src, e->d_name);
			cli_fmt(d, sizeof(d), "%s/%s", dst, e->d_name);
			r = copy_tree(s, d);
		}
		closedir(dir);
		return r;
	}
	in = open(src, O_RDONLY | O_CLOEXEC);
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777);
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			r = -EIO;
	if (in < 0 || out < 0)
		r = -errno;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return r;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int stage_host(struct mx_run *m, struct mx_kernel *k, const char *conf, size_t len)
{
	const struct mx_opts *o = m->o;
	char path[PATH_MAX], pm[PATH_MAX];
	FILE *f;
	int r = 0;

	cli_fmt(pm, sizeof(pm), "%s/pm", k->dir);
	if ((nftw(pm, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT) ||
	    mkdir(pm, 0755) < 0)
		return setup_error("cannot make a fresh %s: %s", pm, strerror(errno));
	if (strchr(o->test[0], '/')) {
		cli_fmt(path, sizeof(path), "%s/%s", pm, base_name(o->test[0]));
		r = copy_tree(o->test[0], path);
	}
	for (int i = 0; !r && i < o->nfiles; i++) {
		cli_fmt(path, sizeof(path), "%s/%s", pm, base_name(o->files[i]));
		r = copy_tree(o->files[i], path);
	}
	cli_fmt(path, sizeof(path), "%s/pm.conf", k->dir);
	if (!r &&
	    (!(f = fopen(path, "we")) || fwrite(conf, 1, len, f) != len || fclose(f)))
		r = -EIO;
	return r ? setup_error("copying the test for the host run to %s: %s", pm,
			       strerror(-r))
		 : 0;
}

static int mx_stage(struct mx_run *m)
{
	size_t len;
	char *conf = conf_text(m->o, &len);
	int r = 0;

	if (!conf)
		return setup_error("out of memory");
	if (m->any_guest)
		r = write_initramfs(m, conf, len);
	for (int i = 0; !r && i < m->nkernels; i++)
		if (m->kernels[i].kind == MX_HOST)
			r = stage_host(m, &m->kernels[i], conf, len);
	free(conf);
	return r;
}

/* ---- the processes ---------------------------------------------------------- */

extern char **environ;

/* environ plus the given NAME=VALUE strings (NULL-terminated), or NULL. */
static char **env_plus(char *const *extra)
{
	size_t n = 0, m = 0;
	char **env;

	while (environ[n])
		n++;
	while (extra[m])
		m++;
	env = calloc(n + m + 1, sizeof(*env));
	if (env) {
		memcpy(env, extra, m * sizeof(*env));
		memcpy(env + m, environ, n * sizeof(*env));
	}
	return env;
}

struct fetch {
	struct mx_job job;
	struct mx_kernel *k;
	char *argv[3], out[PATH_MAX], err[PATH_MAX];
};

/* The last non-empty line of a file, for a one-line reason. */
static void last_line(const char *path, char *buf, size_t size)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	while (f && (n = getline(&line, &cap, f)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n > 0)
			cli_fmt(buf, size, "%s", line);
	}
	free(line);
	if (f)
		fclose(f);
}

static void fetch_result(struct fetch *f)
{
	struct mx_kernel *k = f->k;
	char path[PATH_MAX];

	last_line(f->out, path, sizeof(path));
	if (f->job.status == 0 && path[0] && access(path, R_OK) == 0) {
		k->image = strdup(path);
		return;
	}
	k->status = MX_ERROR;
	last_line(f->err, path, sizeof(path));
	cli_fmt(k->note, sizeof(k->note), "no kernel: %s",
		f->job.timed_out ? "the fetch timed out"
		: path[0]	 ? path
				 : "the fetch failed");
	fprintf(stderr, "pidshim matrix: %s: %s (see %s)\n", k->name, k->note, f->err);
}

/* The newest Debian kernel of each suite, fetched in parallel (cached). */
static int mx_fetch(struct mx_run *m)
{
	const struct mx_arch *a = m->o->arch;
	struct fetch f[MX_MAX_KERNELS] = { 0 };
	struct mx_job *jobs[MX_MAX_KERNELS];
	char script[PATH_MAX], ea[64], ef[96];
	char **env = env_plus((char *[]){ ea, ef, NULL });
	int n = 0, r;

	cli_fmt(script, sizeof(script), "%s/kernel-fetch.sh", m->libexec);
	cli_fmt(ea, sizeof(ea), "PIDSHIM_KERNEL_ARCH=%s", a->debian_arch);
	cli_fmt(ef, sizeof(ef), "PIDSHIM_KERNEL_FLAVOUR=%s", a->kernel_flavour);
	for (int i = 0; env && i < m->nkernels; i++) {
		struct mx_kernel *k = &m->kernels[i];

		if (k->kind != MX_SUITE)
			continue;
		f[n].k = k;
		f[n].argv[0] = script;
		f[n].argv[1] = k->name;
		cli_fmt(f[n].out, sizeof(f[n].out), "%s/fetch.out", k->dir);
		cli_fmt(f[n].err, sizeof(f[n].err), "%s/fetch.log", k->dir);
		f[n].job = (struct mx_job){ .argv = f[n].argv,
					    .out = f[n].out,
					    .err = f[n].err,
					    .envp = env,
					    .timeout_ms = 30 * 60 * 1000 };
		jobs[n] = &f[n].job;
		fprintf(stderr, "pidshim matrix: %s: fetching the newest %s kernel\n",
			k->name, a->kernel_flavour);
		n++;
	}
	r = env ? mx_run_jobs(jobs, n, 4) : -ENOMEM;
	for (int i = 0; i < n; i++)
		fetch_result(&f[i]);
	free(env);
	return r < 0 ? setup_error("waiting for the kernel fetches: %s", strerror(-r))
		     : 0;
}

struct guest {
	struct mx_job job;
	struct mx_kernel *k;
	int64_t boot_ms; /* from the start of qemu until /init says hello */
	bool booted;
	char *argv[48];
	char console[PATH_MAX], serial[PATH_MAX + 16], qemu_log[PATH_MAX];
	char cmdline[512], mem[24];
};

/* Has the guest's /init said "@@PM hello" on the console yet? */
static bool saw_hello(const char *console)
{
	char buf[65536];
	ssize_t n = 0;
	int fd = open(console, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf));
		close(fd);
	}
	return n > 0 && memmem(buf, (size_t)n, "@@PM hello", 10);
}

/* Kill a guest that has not reached /init by its deadline. */
static bool guest_tick(struct mx_job *j)
{
	struct guest *g = j->data;

	if (g->booted || (g->booted = saw_hello(g->console)))
		return false;
	return g->boot_ms > 0 && cli_now_ms() - j->started >= g->boot_ms;
}

/* Append the NULL-terminated arguments to argv[n...]; returns the new n. */
static int push_args(char **argv, int n, ...)
{
	va_list ap;
	char *arg;

	va_start(ap, n);
	while ((arg = va_arg(ap, char *)))
		argv[n++] = arg;
	va_end(ap);
	return n;
}

/* qemu's -serial file:PATH, with the commas qemu would split on doubled. */
static void serial_arg(char *buf, size_t size, const char *path)
{
	size_t n = 5;

	memcpy(buf, "file:", 5);

	for (; *path && n + 2 < size; path++) {
		buf[n++] = *path;
		if (*path == ',')
			buf[n++] = ',';
	}
	buf[n] = '\0';
}

static void guest_setup(struct mx_run *m, struct guest *g, struct mx_kernel *k)
{
	const struct mx_opts *o = m->o;
	const struct mx_arch *a = o->arch;
	bool kvm = !strcmp(k->accel, "kvm");
	int n = 0;

	g->k = k;
	cli_fmt(g->console, sizeof(g->console), "%s/console.log", k->dir);
	cli_fmt(g->qemu_log, sizeof(g->qemu_log), "%s/qemu.log", k->dir);
	serial_arg(g->serial, sizeof(g->serial), g->console);
	cli_fmt(g->mem, sizeof(g->mem), "%ld", o->memory_mb);
	cli_fmt(g->cmdline, sizeof(g->cmdline),
		"console=%s panic=-1 oops=panic mitigations=off quiet pidshim.kernel=%s "
		"pidshim.accel=%s pidshim.console=%s",
		a->console, k->name, k->accel, a->console);
	n = push_args(g->argv, n, a->qemu, "-accel", k->accel, "-cpu",
		      kvm ? a->cpu_kvm : a->cpu_tcg, (char *)NULL);
	for (const char *const *arg = a->machine; *arg; arg++)
		g->argv[n++] = (char *)*arg;
	n = push_args(g->argv, n, "-m", g->mem, "-smp", "1", "-nodefaults",
		      "-no-user-config", "-display", "none", "-no-reboot", "-net", "none",
		      "-serial", g->serial, "-kernel", k->image, "-initrd", m->initrd,
		      "-append", g->cmdline, (char *)NULL);
	g->argv[n] = NULL;
	g->boot_ms = o->boot_timeout_ms;
	g->booted = false;
	g->job = (struct mx_job){ .argv = g->argv,
				  .out = g->qemu_log,
				  .err = g->qemu_log,
				  .timeout_ms = o->timeout_ms,
				  .tick = guest_tick,
				  .data = g };
	k->timed_out = false;
	fprintf(stderr, "pidshim matrix: %s: booting %s (%s)\n", k->name, k->image,
		k->accel);
}

struct host {
	struct mx_job job;
	char *argv[16], **env;
	char out[PATH_MAX], err[PATH_MAX], runner[PATH_MAX], conf[PATH_MAX], pm[PATH_MAX];
	char timeout[32];
};

/* The host column: the same runner under `pidshim run --timeout`. */
static void host_setup(struct mx_run *m, struct host *h, struct mx_kernel *k)
{
	int n = 0;

	cli_fmt(h->out, sizeof(h->out), "%s/console.log", k->dir);
	cli_fmt(h->err, sizeof(h->err), "%s/runner.log", k->dir);
	cli_fmt(h->runner, sizeof(h->runner), "%s/matrix-run.sh", m->libexec);
	cli_fmt(h->conf, sizeof(h->conf), "%s/pm.conf", k->dir);
	cli_fmt(h->pm, sizeof(h->pm), "%s/pm", k->dir);
	cli_fmt(h->timeout, sizeof(h->timeout), "%lldms", (long long)m->o->timeout_ms);
	n = push_args(h->argv, n, m->self, "run", "--timeout", h->timeout, "--kill-after",
		      "5", "--", "sh", h->runner, h->conf, h->pm, m->self, (char *)NULL);
	h->argv[n] = NULL;
	h->env = env_plus((char *[]){ "PIDSHIM_MATRIX_KERNEL=host",
				      "PIDSHIM_MATRIX_ACCEL=host", NULL });
	/* Beside the guests: its backstop only matters if `pidshim run` hangs. */
	h->job = (struct mx_job){ .argv = h->argv,
				  .out = h->out,
				  .err = h->err,
				  .envp = h->env,
				  .timeout_ms = m->o->timeout_ms + 30000,
				  .beside = true };
	fprintf(stderr, "pidshim matrix: host: running natively\n");
}

/*
 * KVM when /dev/kvm answers and the guest is of the host's architecture;
 * a guest that then does not boot retries on TCG.
 */
static const char *choose_accel(const char *want, const struct mx_arch *a)
{
	int fd, v = -1;

	if (strcmp(want, "auto") != 0)
		return want;
	if (!arch_is_native(a))
		return "tcg";
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		v = ioctl(fd, KVM_GET_API_VERSION_NR, 0);
		close(fd);
	}
	return v == 12 ? "kvm" : "tcg";
}

static int run_guests(struct mx_run *m, struct mx_job **jobs, int n, struct host *h)
{
	int r = mx_run_jobs(jobs, n, (int)m->o->jobs);

	for (int i = 0; i < n; i++) {
		if (jobs[i] == &h->job) {
			struct mx_kernel *k = h->job.data;
			int st = h->job.status;

			k->secs = h->job.secs;
			k->timed_out =
				h->job.timed_out || (st >= 0 && WIFEXITED(st) &&
						     (WEXITSTATUS(st) == EXIT_TIMEDOUT ||
						      WEXITSTATUS(st) == 137));
			continue;
		}
		struct guest *gi = jobs[i]->data;

		gi->k->secs = gi->job.secs;
		gi->k->timed_out = gi->job.timed_out;
		gi->k->no_hello = !saw_hello(gi->console);
		fprintf(stderr, "pidshim matrix: %s: done in %ds%s\n", gi->k->name,
			gi->k->secs,
			gi->k->timed_out  ? " (killed at the time-out)"
			: gi->k->no_hello ? " (never reached /init)"
					  : "");
	}
	return r;
}

static int mx_boot(struct mx_run *m)
{
	const char *accel = choose_accel(m->o->accel, m->o->arch);
	struct guest *g = calloc((size_t)m->nkernels, sizeof(*g));
	struct mx_job *jobs[MX_MAX_KERNELS];
	struct host h = { 0 };
	int n = 0, r;

	if (!g)
		return setup_error("out of memory");
	for (int i = 0; i < m->nkernels; i++) {
		struct mx_kernel *k = &m->kernels[i];

		if (k->kind == MX_HOST) {
			host_setup(m, &h, k);
			h.job.data = k;
			jobs[n++] = &h.job;
		} else if (k->status != MX_ERROR) {
			k->accel = accel;
			guest_setup(m, &g[i], k);
			jobs[n++] = &g[i].job;
		}
	}
	r = run_guests(m, jobs, n, &h);
	/* A KVM that exists but does not work (nested virtualisation): TCG. */
	n = 0;
	for (int i = 0; r == 0 && i < m->nkernels; i++) {
		struct mx_kernel *k = &m->kernels[i];

		if (k->kind != MX_HOST && k->no_hello && !strcmp(k->accel, "kvm") &&
		    !strcmp(m->o->accel, "auto")) {
			k->accel = "tcg";
			guest_setup(m, &g[i], k);
			jobs[n++] = &g[i].job;
		}
	}
	if (n)
		r = run_guests(m, jobs, n, &h);
	free(h.env);
	free(g);
	return r < 0 ? setup_error("waiting for the guests: %s", strerror(-r)) : 0;
}

/* Every cell of a kernel that never ran the runner gets its reason. */
static void all_cells(struct mx_kernel *k, enum mx_status st, const struct mx_opts *o)
{
	k->ncells = o->ncells;
	for (int i = 0; i < o->ncells; i++) {
		struct mx_cell *c = &k->cells[i];

		*c = (struct mx_cell){ .status = st, .rc = -1 };
		cli_fmt(c->name, sizeof(c->name), "%s", o->cells[i]);
		cli_fmt(c->backend, sizeof(c->backend), "-");
		cli_fmt(c->note, sizeof(c->note), "%s", k->note);
	}
}

static void mx_collect(struct mx_run *m)
{
	const struct mx_opts *o = m->o;
	char log[PATH_MAX];

	for (int i = 0; i < m->nkernels; i++) {
		struct mx_kernel *k = &m->kernels[i];

		if (k->status == MX_ERROR) {
			all_cells(k, MX_ERROR, o);
			cli_fmt(k->release, sizeof(k->release), "?");
			continue;
		}
		cli_fmt(log, sizeof(log), "%s/console.log", k->dir);
		if (k->no_hello) {
			char why[128];

			k->status = MX_ERROR;
			cli_fmt(log, sizeof(log), "%s/qemu.log", k->dir);
			last_line(log, why, sizeof(why));
			cli_fmt(k->note, sizeof(k->note),
				"did not reach /init in %ds%s%s", k->secs,
				why[0] ? ": " : ", see console.log", why);
			all_cells(k, MX_ERROR, o);
			cli_fmt(k->release, sizeof(k->release), "?");
		} else if (mx_read_log(k, log, o->cells, o->ncells) == 0) {
			k->status = MX_PASSED;
		} else {
			k->status = k->timed_out ? MX_HUNG : MX_CRASHED;
			cli_fmt(k->note, sizeof(k->note), "%s, see %s",
				k->timed_out ? "killed at the time-out"
					     : "stopped before the end",
				log);
		}
	}
}

/* ---- the report -------------------------------------------------------------- */

static bool cell_ok(const struct mx_cell *c)
{
	return c->status == MX_PASSED || c->status == MX_SKIPPED;
}

static void report_text(const struct mx_run *m, FILE *f)
{
	unsigned ok = 0, bad = 0;

	fprintf(f, "%-10s %-26s %-14s %-10s %-8s %4s %6s %6s %7s %5s  %s\n", "kernel",
		"release", "personality", "backend", "result", "exit", "passed", "failed",
		"skipped", "secs", "note");
	for (int i = 0; i < m->nkernels; i++) {
		const struct mx_kernel *k = &m->kernels[i];

		for (int j = 0; j < k->ncells; j++) {
			const struct mx_cell *c = &k->cells[j];
			char rc[12] = "-", counts[3][12] = { "-", "-", "-" };

			if (c->rc >= 0)
				cli_fmt(rc, sizeof(rc), "%d", c->rc);
			if (c->tap) {
				cli_fmt(counts[0], sizeof(counts[0]), "%u", c->passed);
				cli_fmt(counts[1], sizeof(counts[1]), "%u", c->failed);
				cli_fmt(counts[2], sizeof(counts[2]), "%u", c->skipped);
			}
			fprintf(f,
				"%-10s %-26s %-14s %-10s %-8s %4s %6s %6s %7s %5d%s%s\n",
				k->name, k->release, c->name, c->backend,
				mx_status_name(c->status), rc, counts[0], counts[1],
				counts[2], c->secs, c->note[0] ? "  " : "", c->note);
			if (cell_ok(c))
				ok++;
			else
				bad++;
		}
	}
	fprintf(f,
		"pidshim matrix: %u cells: %u passed or skipped, %u failed; logs in %s\n",
		ok + bad, ok, bad, m->dir);
}

static void json_cell(const struct mx_kernel *k, const struct mx_cell *c, const char *dir)
{
	char log[PATH_MAX];

	cli_fmt(log, sizeof(log), "%s/%s.log", dir, c->name);
	printf("{\"kernel\": ");
	cli_json_string(stdout, k->name);
	printf(", \"release\": ");
	cli_json_string_or_null(stdout, strcmp(k->release, "?") ? k->release : NULL);
	printf(", \"personality\": ");
	cli_json_string(stdout, c->name);
	printf(", \"backend\": ");
	cli_json_string_or_null(stdout, strcmp(c->backend, "-") ? c->backend : NULL);
	printf(", \"status\": \"%s\", \"exit_code\": ", mx_status_name(c->status));
	if (c->rc >= 0)
		printf("%d", c->rc);
	else
		printf("null");
	if (c->tap)
		printf(", \"tap\": {\"passed\": %u, \"failed\": %u, \"skipped\": %u, "
		       "\"planned\": %u}",
		       c->passed, c->failed, c->skipped, c->planned);
	else
		printf(", \"tap\": null");
	printf(", \"seconds\": %d, \"note\": ", c->secs);
	cli_json_string_or_null(stdout, c->note[0] ? c->note : NULL);
	printf(", \"log\": ");
	cli_json_string_or_null(stdout, access(log, R_OK) == 0 ? log : NULL);
	printf("}");
}

static void json_kernel(const struct mx_kernel *k)
{
	static const char *const kinds[] = { "suite", "image", "host" };

	printf("{\"name\": ");
	cli_json_string(stdout, k->name);
	printf(", \"source\": \"%s\", \"image\": ", kinds[k->kind]);
	cli_json_string_or_null(stdout, k->image);
	printf(", \"release\": ");
	cli_json_string_or_null(stdout, strcmp(k->release, "?") ? k->release : NULL);
	printf(", \"accel\": \"%s\", \"status\": \"%s\", \"seconds\": %d, \"note\": ",
	       k->accel, k->status == MX_PASSED ? "done" : mx_status_name(k->status),
	       k->secs);
	cli_json_string_or_null(stdout, k->note[0] ? k->note : NULL);
	printf(", \"log_dir\": ");
	cli_json_string(stdout, k->dir);
	printf("}");
}

static void report_json(const struct mx_run *m, int code)
{
	unsigned count[MX_ERROR + 1] = { 0 };
	bool first = true;

	printf("{\"arch\": \"%s\", \"test\": [", m->o->arch->name);
	for (int i = 0; m->o->test[i]; i++) {
		fputs(i ? ", " : "", stdout);
		cli_json_string(stdout, m->o->test[i]);
	}
	printf("],\n \"kernels\": [");
	for (int i = 0; i < m->nkernels; i++) {
		fputs(i ? ",\n  " : "\n  ", stdout);
		json_kernel(&m->kernels[i]);
	}
	printf("],\n \"cells\": [");
	for (int i = 0; i < m->nkernels; i++) {
		for (int j = 0; j < m->kernels[i].ncells; j++) {
			fputs(first ? "\n  " : ",\n  ", stdout);
			first = false;
			json_cell(&m->kernels[i], &m->kernels[i].cells[j],
				  m->kernels[i].dir);
			count[m->kernels[i].cells[j].status]++;
		}
	}
	printf("],\n \"passed\": %u, \"skipped\": %u, \"failed\": %u, \"log_dir\": ",
	       count[MX_PASSED], count[MX_SKIPPED],
	       count[MX_FAILED] + count[MX_TIMEOUT] + count[MX_HUNG] + count[MX_CRASHED] +
		       count[MX_NOT_RUN] + count[MX_ERROR]);
	cli_json_string(stdout, m->dir);
	printf(", \"exit_code\": %d}\n", code);
}

static int mx_exit_code(const struct mx_run *m)
{
	for (int i = 0; i < m->nkernels; i++)
		for (int j = 0; j < m->kernels[i].ncells; j++)
			if (!cell_ok(&m->kernels[i].cells[j]))
				return EXIT_PROBLEM;
	return 0;
}

int cli_cmd_matrix(int argc, char **argv)
{
	const char *files[256], *envs[256];
	struct mx_opts o = { .files = files,
			     .envs = envs,
			     .jobs = 2,
			     .memory_mb = 512,
			     .timeout_ms = 10 * 60 * 1000,
			     .boot_timeout_ms = 2 * 60 * 1000,
			     .accel = "auto",
			     .log_dir = "pidshim-matrix",
			     .arch = mx_arch_lookup("x86_64") };
	struct mx_run *m;
	int code;

	if (argc > 256)
		return cli_usage_error("matrix", "too many arguments");
	code = mx_parse(argc, argv, &o);
	if (code >= 0)
		return code;
	m = calloc(1, sizeof(*m));
	if (!m)
		return setup_error("out of memory");
	m->o = &o;
	code = mx_setup(m);
	if (!code)
		code = mx_fetch(m);
	if (!code)
		code = mx_stage(m);
	if (!code)
		code = mx_boot(m);
	if (!code) {
		mx_collect(m);
		code = mx_exit_code(m);
		if (o.json)
			report_json(m, code);
		else
			report_text(m, stdout);
		if (fflush(stdout) != 0)
			code = EXIT_CANCELED;
	}
	for (int i = 0; i < m->nkernels; i++) {
		free(m->kernels[i].image);
		free(m->kernels[i].dir);
	}
	free(m);
	return code;
}
