/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * common.c - the measuring side of every benchmark binary.  It owns the
 * clock, the shared page the stamping helper writes its exit time into,
 * the fd and heap accounting, and the command line; the implementation
 * (bench_impl, one per binary) only spawns and waits.  Each subcommand
 * prints one JSON object per line on stdout for bench/run.py, which does
 * the statistics, so this file stays free of policy.
 *
 *   info                               describe the implementation
 *   b1 PATH N CONC                     B1: N spawn+wait cycles, CONC in flight
 *   lat KLIST TRIALS REPS DELAY MODE   B2/B3: exit-to-wake latency with K
 *                                      idle tracked children, MODE wait|loop
 *   res N                              B4: fds and heap bytes for N handles
 *   cycles N                           B5: N spawn+wait cycles of /bin/true
 *                                      (run under callgrind)
 *
 * Exit status 77 means "this implementation cannot run here" (e.g. a
 * forced pidshim backend the kernel lacks); the reason is on stdout.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static volatile uint64_t *stamp;
static int stamp_fd = -1;
static char child_path[PATH_MAX + 16];

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_die(const char *what, int err)
{
	fprintf(stderr, "bench %s: %s: %s\n", bench_impl.name, what,
		strerror(err < 0 ? -err : err));
	exit(1);
}

/* 4000 tracked children need 4000 pidfds (twice that for some backends). */
static void raise_limit(int resource)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(resource, &rl);
	}
}

/* Why K tracked children cannot run here, or NULL.  B3 skips such a K
 * (and says why) rather than failing half-way with EMFILE or EAGAIN. */
static const char *k_limit(int k, char *buf, size_t len)
{
	struct rlimit rl;
	long pid_max = 0;
	FILE *f;

	/* Up to 2 fds per tracked child, plus the loop's own. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)k * 2 + 64 > rl.rlim_cur) {
		snprintf(buf, len, "RLIMIT_NOFILE %llu too low",
			 (unsigned long long)rl.rlim_cur);
		return buf;
	}
	/* RLIMIT_NPROC counts every process of the user, not only ours. */
	if (getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)k + 256 > rl.rlim_cur) {
		snprintf(buf, len, "RLIMIT_NPROC %llu too low",
			 (unsigned long long)rl.rlim_cur);
		return buf;
	}
	f = fopen("/proc/sys/kernel/pid_max", "re");
	if (f) {
		if (fscanf(f, "%ld", &pid_max) != 1)
			pid_max = 0;
		fclose(f);
	}
	if (pid_max > 0 && k + 1024 > pid_max) {
		snprintf(buf, len, "pid_max %ld too low", pid_max);
		return buf;
	}
	return NULL;
}

/*
 * posix_spawn execs, so the child cannot inherit a MAP_SHARED mapping: it
 * inherits a memfd instead (deliberately not close-on-exec) and maps it.
 */
static void setup_stamp(void)
{
	void *p;

	stamp_fd = memfd_create("pidshim-bench-stamp", 0);
	if (stamp_fd < 0)
		bench_die("memfd_create", errno);
	if (ftruncate(stamp_fd, 4096) < 0)
		bench_die("ftruncate", errno);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, stamp_fd, 0);
	if (p == MAP_FAILED)
		bench_die("mmap", errno);
	stamp = p;
}

/* The helper lives next to this binary. */
static void find_child(void)
{
	const char *env = getenv("PIDSHIM_BENCH_CHILD");
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env) {
		snprintf(child_path, sizeof(child_path), "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		bench_die("readlink /proc/self/exe", errno);
	self[n] = 0;
	slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	snprintf(child_path, sizeof(child_path), "%s/bench-child", self);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		bench_die("opendir /proc/self/fd", errno);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

/* Bytes in use on the heap, all arenas, mmapped chunks included. */
static long long heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (long long)mi.uordblks + (long long)mi.hblkhd;
}

static void print_head(const char *what)
{
	const char *d = bench_impl.describe ? bench_impl.describe() : NULL;

	if (d && !*d)
		d = NULL;

	printf("{\"b\":\"%s\",\"impl\":\"%s\"%s%s", what, bench_impl.name, d ? "," : "",
	       d ? d : "");
}

static int do_b1(int argc, char **argv)
{
	int n, conc, r;
	uint64_t t0, t1;

	if (argc != 5)
		return 2;
	n = atoi(argv[3]);
	conc = atoi(argv[4]);
	t0 = bench_now_ns();
	r = bench_impl.spawn_wait(argv[2], n, conc);
	t1 = bench_now_ns();
	if (r < 0)
		bench_die("spawn_wait", r);
	print_head("b1");
	printf(",\"n\":%d,\"conc\":%d,\"ns\":%llu}\n", n, conc,
	       (unsigned long long)(t1 - t0));
	return 0;
}

static int do_lat(int argc, char **argv)
{
	char fdbuf[16], delaybuf[16];
	char *idle_argv[] = { child_path, "idle", NULL };
	char *stamp_argv[] = { child_path, "stamp", fdbuf, delaybuf, NULL };
	int trials, reps, in_loop, r;
	char *klist, *tok, *save = NULL;
	char whybuf[64];
	const char *why;
	uint64_t *lat;

	if (argc != 7)
		return 2;
	klist = argv[2];
	trials = atoi(argv[3]);
	reps = atoi(argv[4]);
	snprintf(fdbuf, sizeof(fdbuf), "%d", stamp_fd);
	snprintf(delaybuf, sizeof(delaybuf), "%d", atoi(argv[5]));
	/* 0 the blocking wait, 1 the loop/set, 2 the handle's own fd. */
	in_loop = !strcmp(argv[6], "loop") ? 1 : !strcmp(argv[6], "fd") ? 2 : 0;
	lat = calloc((size_t)trials, sizeof(*lat));
	if (!lat)
		bench_die("calloc", ENOMEM);

	for (tok = strtok_r(klist, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int k = atoi(tok);
		uint64_t woke;

		if (k > BENCH_MAX_IDLE)
			bench_die("K too large", EINVAL);
		why = k_limit(k, whybuf, sizeof(whybuf));
		if (why) {
			print_head("lat-skip");
			printf(",\"k\":%d,\"reason\":\"%s\"}\n", k, why);
			continue;
		}
		if (k > 0) {
			r = bench_impl.track_idle(idle_argv, k, in_loop);
			if (r < 0)
				bench_die("track_idle", r);
		}
		/* One unmeasured probe: first-use costs are not the steady state. */
		r = bench_impl.probe(stamp_argv, in_loop, &woke);
		if (r < 0)
			bench_die("probe", r);
		for (int rep = 0; rep < reps; rep++) {
			for (int i = 0; i < trials; i++) {
				*stamp = 0;
				r = bench_impl.probe(stamp_argv, in_loop, &woke);
				if (r < 0)
					bench_die("probe", r);
				if (*stamp == 0 || *stamp > woke)
					bench_die("helper did not stamp before its exit "
						  "was seen",
						  EPROTO);
				lat[i] = woke - *stamp;
			}
			print_head("lat");
			printf(",\"k\":%d,\"rep\":%d,\"mode\":\"%s\",\"lat_ns\":[", k,
			       rep, argv[6]);
			for (int i = 0; i < trials; i++)
				printf("%s%llu", i ? "," : "",
				       (unsigned long long)lat[i]);
			printf("]}\n");
			fflush(stdout);
		}
	}
	bench_impl.untrack_all();
	free(lat);
	return 0;
}

static int do_res(int argc, char **argv)
{
	char fdbuf[16];
	char *idle_argv[] = { child_path, "idle", NULL };
	char *stamp_argv[] = { child_path, "stamp", fdbuf, "0", NULL };
	int n, fds0, fds1, r;
	long long heap0, heap1;
	uint64_t woke;

	if (argc != 3)
		return 2;
	n = atoi(argv[2]);
	snprintf(fdbuf, sizeof(fdbuf), "%d", stamp_fd);
	/* Warm up: backend probe, service threads, loop set-up are per
	 * process, not per handle. */
	r = bench_impl.probe(stamp_argv, 0, &woke);
	if (r < 0)
		bench_die("probe", r);
	fds0 = count_fds();
	heap0 = heap_bytes();
	r = bench_impl.track_idle(idle_argv, n, 0);
	if (r < 0)
		bench_die("track_idle", r);
	fds1 = count_fds();
	heap1 = heap_bytes();
	bench_impl.untrack_all();
	print_head("res");
	printf(",\"n\":%d,\"fds\":%d,\"heap\":%lld}\n", n, fds1 - fds0, heap1 - heap0);
	return 0;
}

/* CPU time (user + system, every thread) this process has used, in ns. */
static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

/* idle K SECONDS: the CPU the implementation spends, per second of wall
 * time, while K children it tracks (as an event loop would) all sleep:
 * the price of any background checking it does. */
static int do_idle(int argc, char **argv)
{
	char fdbuf[16];
	char *idle_argv[] = { child_path, "idle", NULL };
	char *stamp_argv[] = { child_path, "stamp", fdbuf, "0", NULL };
	int k, secs, r;
	uint64_t woke, c0, t0, c1, t1;

	if (argc != 4)
		return 2;
	k = atoi(argv[2]);
	secs = atoi(argv[3]);
	if (k < 1 || k > BENCH_MAX_IDLE || secs < 1)
		return 2;
	snprintf(fdbuf, sizeof(fdbuf), "%d", stamp_fd);
	r = bench_impl.probe(stamp_argv, 1, &woke);
	if (r < 0)
		bench_die("probe", r);
	r = bench_impl.track_idle(idle_argv, k, 1);
	if (r < 0)
		bench_die("track_idle", r);
	sleep(1); /* the spawning is over; measure the steady state */
	c0 = cpu_ns();
	t0 = bench_now_ns();
	sleep((unsigned int)secs);
	c1 = cpu_ns();
	t1 = bench_now_ns();
	bench_impl.untrack_all();
	print_head("idle");
	printf(",\"k\":%d,\"cpu_ns_per_s\":%.0f}\n", k,
	       (double)(c1 - c0) * 1e9 / (double)(t1 - t0));
	return 0;
}

static int do_cycles(int argc, char **argv)
{
	int r;

	if (argc != 3)
		return 2;
	r = bench_impl.spawn_wait("/bin/true", atoi(argv[2]), 1);
	if (r < 0)
		bench_die("spawn_wait", r);
	print_head("cycles");
	printf(",\"n\":%d}\n", atoi(argv[2]));
	return 0;
}

int main(int argc, char **argv)
{
	int r;

	if (argc < 2) {
		fprintf(stderr, "usage: %s info|b1|lat|res|idle|cycles ...\n", argv[0]);
		return 2;
	}
	raise_limit(RLIMIT_NOFILE);
	raise_limit(RLIMIT_NPROC);
	find_child();
	setup_stamp();
	r = bench_impl.init();
	if (r == -ENOSYS) {
		print_head("skip");
		printf(",\"reason\":\"%s\"}\n", strerror(-r));
		return 77;
	}
	if (r < 0)
		bench_die("init", r);

	if (!strcmp(argv[1], "info")) {
		print_head("info");
		printf("}\n");
		r = 0;
	} else if (!strcmp(argv[1], "b1")) {
		r = do_b1(argc, argv);
	} else if (!strcmp(argv[1], "lat")) {
		r = do_lat(argc, argv);
	} else if (!strcmp(argv[1], "res")) {
		r = do_res(argc, argv);
	} else if (!strcmp(argv[1], "idle")) {
		r = do_idle(argc, argv);
	} else if (!strcmp(argv[1], "cycles")) {
		r = do_cycles(argc, argv);
	} else {
		r = 2;
	}
	if (r == 2)
		fprintf(stderr, "%s: bad arguments for %s\n", argv[0], argv[1]);
	return r;
}
