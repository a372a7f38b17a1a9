#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run.py - the driver behind `make bench`.  It runs the benchmark binaries
# built from bench/*.c (one per implementation; the pidshim one once per
# backend, since the backend is chosen once per process), interleaving the
# implementations repetition by repetition so that every ratio compares
# figures measured side by side, under the same load.  It prints one
# markdown table per benchmark (B1-B5), writes results.json (every raw
# sample, the summaries and the machine), results.md (the tables) and
# scaling.png (B3, with gnuplot) into the binaries' directory, and marks
# every target not met with MISS.  Every figure is a ratio against the raw
# baseline of the same run: the median of >= 5 repetitions, with min and
# max.  Only the Python standard library is used.

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

PIDSHIM_BACKENDS = ["pidfd", "pidfd-poll", "signalfd"]
# The signalfd backend's second mechanism (pidshim_mechanism(3)): SIGCHLD
# blocked in every thread, no library thread.
PIDSHIM_VARIANTS = [("pidshim/" + b, {"PIDSHIM_BACKEND": b}) for b in PIDSHIM_BACKENDS] + \
    [("pidshim/signalfd-sigchld", {"PIDSHIM_BACKEND": "signalfd", "BENCH_SIGCHLD": "1"})]
ANCHORS = ["libuv", "glib", "libev", "sd-event"]
ANCHOR_BIN = {"libuv": "uv", "glib": "glib", "libev": "ev", "sd-event": "sdevent"}
# Shared objects whose own instructions B5 counts, by implementation.
LIB_OBJECT = {"libuv": "libuv.so", "glib": "libglib-2.0.so", "libev": "libev.so",
              "sd-event": "libsystemd.so"}


class Impl:
    def __init__(self, name, binary, env=None, kind="anchor"):
        self.name = name
        self.binary = binary
        self.env = dict(os.environ)
        self.env.pop("PIDSHIM_BACKEND", None)
        self.env.update(env or {})
        self.kind = kind  # raw, floor (other bare-syscall designs), pidshim or anchor
        self.before = False  # pidshim of an older commit (--before): no targets
        self.backend = None
        self.mechanism = None


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_json(impl, args, prefix=(), timeout=900):
    """Run one benchmark process; return its JSON lines (or None on 77)."""
    cmd = list(prefix) + [impl.binary] + [str(a) for a in args]
    p = subprocess.run(cmd, env=impl.env, capture_output=True, text=True, timeout=timeout)
    out = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    if p.returncode == 77:
        return None, out
    if p.returncode != 0:
        raise RuntimeError("%s %s failed (%d): %s" % (impl.name, " ".join(map(str, args)),
                                                       p.returncode, p.stderr.strip()))
    return out, p


def med(xs):
    return statistics.median(xs)


def summary(xs):
    return {"median": med(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def pct(xs, q):
    """Nearest-rank percentile."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(-(-q * len(s) // 100)) - 1))
    return s[k]


def at_most(s, limit):
    """A target "ratio <= limit" (lower is better): met when the median
    is; a MISS only when the whole spread of repetitions misses."""
    if s["median"] <= limit:
        return "ok (<= %gx)" % limit
    if s["min"] <= limit:
        return "ok within the spread (median %.2fx, min %.2fx <= %gx)" % (
            s["median"], s["min"], limit)
    return "MISS: > %gx raw (min %.2fx)" % (limit, s["min"])


def at_least(s, limit):
    """A target "ratio >= limit" (higher is better), as at_most."""
    if s["median"] >= limit:
        return "ok (>= %gx)" % limit
    if s["max"] >= limit:
        return "ok within the spread (median %.2fx, max %.2fx >= %gx)" % (
            s["median"], s["max"], limit)
    return "MISS: < %gx raw (max %.2fx)" % (limit, s["max"])


def fmt_ratio(s, digits=2):
    return "%.*fx [%.*f-%.*f]" % (digits, s["median"], digits, s["min"], digits, s["max"])


def fmt_us(ns):
    us = ns / 1000.0
    return "%.0f" % us if us >= 100 else "%.1f" % us


def table(headers, rows):
    out = ["| " + " | ".join(headers) + " |",
           "|" + "|".join("---" for _ in headers) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, shell=True).stdout.strip()
    except OSError:
        return ""


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    osname = ""
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osname = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "os": osname,
        "loadavg_start": os.getloadavg()[0],
        "libuv": sh("pkg-config --modversion libuv"),
        "glib": sh("pkg-config --modversion glib-2.0"),
        "libsystemd": sh("pkg-config --modversion libsystemd"),
        "libev": sh("dpkg-query -W -f='${Version}' libev-dev 2>/dev/null"),
        "compiler": sh("${CC:-cc} --version | head -1"),
        "commit": sh("git -C %s rev-parse --short HEAD 2>/dev/null" % REPO),
    }


# --------------------------------------------------------------------- B1

def bench_b1(impls, raw, p, res):
    out = []
    # The pidfd-per-child floor, where the kernel has pidfds: what any
    # design that holds one fd per child pays before its own code runs.
    floor = next((i for i in impls if i.name == "raw-pidfd"), None)
    for conc in (1, 32):
        ns = {i.name: [] for i in impls}
        ratio = {i.name: [] for i in impls}
        vs_floor = {i.name: [] for i in impls}
        chunks = {i.name: [] for i in impls}
        # At concurrency 32 a chunk must be long next to its ramp-up.
        n_chunks = p.b1_chunks if conc == 1 else max(1, p.b1_chunks // 4)
        chunk = p.b1_n // n_chunks
        for rep in range(p.reps):
            # Each repetition's children run in chunks, the implementations
            # taking turns in a rotating order; the repetition's ratio is the
            # median of the per-round ratios, so a burst of load from other
            # processes during one round does not decide it.
            per = {i.name: [] for i in impls}
            for c in range(n_chunks):
                k = (rep * n_chunks + c) % len(impls)
                for i in impls[k:] + impls[:k]:
                    lines, _ = run_json(i, ["b1", "/bin/true", chunk, conc])
                    per[i.name].append(lines[0]["ns"] / chunk)
            for i in impls:
                ns[i.name].append(sum(per[i.name]) / n_chunks)
                ratio[i.name].append(med([per[raw.name][c] / per[i.name][c]
                                          for c in range(n_chunks)]))
                if floor:
                    vs_floor[i.name].append(med([per[floor.name][c] / per[i.name][c]
                                                 for c in range(n_chunks)]))
                chunks[i.name].append(per[i.name])
        rows, data = [], {}
        for i in impls:
            s = summary(ratio[i.name])
            note = ""
            if i.kind == "pidshim" and not i.before:
                note = at_least(s, 0.95)
                # Name the anchors faster beyond the noise (spreads apart).
                ahead = ["%s %.2fx" % (a.name, med(ratio[a.name])) for a in impls
                         if a.kind == "anchor" and min(ratio[a.name]) > s["max"]]
                if ahead:
                    note += "; faster beyond the spread: " + ", ".join(ahead)
            fs = summary(vs_floor[i.name]) if floor else None
            rows.append([i.name, fmt_us(med(ns[i.name])), "%.0f" % (1e9 / med(ns[i.name])),
                         fmt_ratio(s)] + ([fmt_ratio(fs)] if fs else []) + [note])
            data[i.name] = {"ns_per_child": ns[i.name], "throughput_ratio": s,
                            "vs_pidfd_floor": fs,
                            "chunk_ns_per_child": chunks[i.name], "target": note}
        res["b1"]["conc%d" % conc] = data
        out.append("### B1 spawn+wait throughput, %d children of /bin/true, concurrency %d\n\n"
                   % (p.b1_n, conc) +
                   "Ratio = raw posix_spawn+waitpid time / implementation time (higher is "
                   "faster; median [min-max] of %d repetitions, each run as %d rounds in "
                   "which every implementation spawns %d children in turn; a repetition's "
                   "ratio is the median of its rounds' ratios).%s\n\n"
                   % (p.reps, n_chunks, chunk,
                      " vs raw-pidfd: the same against posix_spawn + one pidfd per child "
                      "(epoll + waitid(P_PIDFD)), the floor of every design that gives each "
                      "child an fd." if floor else "") +
                   table(["implementation", "us/child", "children/s", "throughput vs raw"] +
                         (["vs raw-pidfd"] if floor else []) + ["target"], rows))
    return out


# ------------------------------------------------------------------ B2/B3

def lat_samples(lines):
    """{k: [[latencies of rep 0], [rep 1], ...]}"""
    by_k = {}
    for l in lines:
        if l["b"] == "lat":
            by_k.setdefault(l["k"], []).append(l["lat_ns"])
    return by_k


# B2 waits: the blocking wait for every implementation; for pidshim also
# the handle's fd polled (pidshim_fd) and a set (pidshim_set_wait).  Raw
# floor: a thread blocked in waitid(P_PID).
B2_MODES = [("wait", "pidshim_wait"), ("fd", "pidshim_fd + poll"), ("loop", "pidshim_set_wait")]


def b2_limit(i, mode):
    # The pidfd backends wait in the kernel on the pidfd; the fallback's
    # blocking wait sleeps in waitid(P_ALL, WNOWAIT) itself (its look by
    # PID costs a little), and its fd and sets need one hand-off more (the
    # watcher writes the eventfd).
    if i.backend != "signalfd":
        return 1.2 if mode == "wait" else 1.5
    return 1.3 if mode == "wait" else 1.5


def bench_b2(impls, raw, p, res):
    per_rep = max(1, p.b2_trials // p.reps)
    runs = [(i, m) for i in impls for m, _ in B2_MODES if m == "wait" or i.kind == "pidshim"]
    p50 = {(i.name, m): [] for i, m in runs}
    p99 = {(i.name, m): [] for i, m in runs}
    samples = {(i.name, m): [] for i, m in runs}
    for rep in range(p.reps):
        order = runs[rep % len(runs):] + runs[:rep % len(runs)]
        for i, m in order:
            lines, _ = run_json(i, ["lat", "0", per_rep, 1, p.delay_us, m])
            xs = lat_samples(lines)[0][0]
            samples[(i.name, m)].append(xs)
            p50[(i.name, m)].append(pct(xs, 50))
            p99[(i.name, m)].append(pct(xs, 99))
    rows = []
    base = (raw.name, "wait")
    for i, m in runs:
        key = (i.name, m)
        r50 = summary([p50[key][r] / p50[base][r] for r in range(p.reps)])
        r99 = summary([p99[key][r] / p99[base][r] for r in range(p.reps)])
        note = at_most(r50, b2_limit(i, m)) if i.kind == "pidshim" and not i.before else ""
        how = dict(B2_MODES)[m] if i.kind == "pidshim" else ("waitid(P_PID)" if i is raw
                                                             else "its own wait or loop")
        rows.append([i.name, how, fmt_us(med(p50[key])), fmt_ratio(r50),
                     fmt_us(med(p99[key])), fmt_ratio(r99), note])
        res["b2"].setdefault(i.name, {})[m] = {
            "lat_ns": samples[key], "p50_ns": p50[key], "p99_ns": p99[key],
            "p50_ratio": r50, "p99_ratio": r99, "target": note}
    return ["### B2 exit-to-wake latency, %d trials (%d repetitions of %d)\n\n"
            % (per_rep * p.reps, p.reps, per_rep) +
            "The child stamps CLOCK_MONOTONIC into a shared page just before _exit; the "
            "parent stamps when it learns of the exit: pidshim_wait returns, the handle's "
            "fd polls readable and pidshim_try_wait returns the status, or pidshim_set_wait "
            "returns (the loop callback for the anchors). Raw floor: waitid(P_PID). Ratios: "
            "median [min-max] over repetitions, each run taking its turn in a rotating "
            "order. A target is missed only when the whole spread misses.\n\n" +
            table(["implementation", "wait", "p50 us", "p50 vs raw", "p99 us", "p99 vs raw",
                   "target"], rows)]


def bench_b3(impls, raw, p, res, outdir):
    ks = p.b3_k
    cost = {i.name: {} for i in impls}  # impl -> k -> [median latency of each rep]
    skipped = set()
    # Each repetition is a process of its own (K idle children spawned
    # anew), the implementations taking turns in a rotating order as in
    # B1/B2: a repetition's ratio compares runs made seconds apart, not
    # minutes (at K=4000 one implementation's cost moved 2x between runs
    # made one after the other on a shared VM).
    for k in ks:
        log("bench: B3 K=%d" % k)
        for rep in range(p.reps):
            for i in impls[rep % len(impls):] + impls[:rep % len(impls)]:
                if i.name in skipped:
                    continue
                lines, _ = run_json(i, ["lat", k, p.b3_trials, 1, p.delay_us, "loop"])
                for l in lines:
                    if l["b"] == "lat-skip":
                        log("bench: B3 %s K=%d not run: %s" % (i.name, l["k"], l["reason"]))
                        skipped.add(i.name)
                by_k = lat_samples(lines)
                if k in by_k:
                    cost[i.name].setdefault(k, []).append(med(by_k[k][0]))
        skipped.clear()
    for i in impls:
        res["b3"][i.name] = {"k": {str(k): {"rep_median_ns": v, "summary": summary(v)}
                                   for k, v in cost[i.name].items()}}
    # Only the K every implementation could run (RLIMIT_NOFILE may cap it).
    ks = [k for k in ks if all(k in cost[i.name] for i in impls)]
    rows = []
    k_lo, k_hi = (10 if 10 in ks else ks[0]), ks[-1]
    for i in impls:
        c = cost[i.name]
        cells = []
        for k in ks:
            rc = med(c[k]) / med(cost[raw.name][k])
            cells.append("%s (%.2fx)" % (fmt_us(med(c[k])), rc))
        growth = med(c[k_hi]) / med(c[k_lo])
        g_reps = [c[k_hi][r] / c[k_lo][r] for r in range(len(c[k_lo]))]
        note = ""
        mine = i.kind == "pidshim" and not i.before
        if mine and i.backend == "signalfd" and "raw-wait-all" in cost:
            # No pidfd, no SIGCHLD handler: the kernel's walk of the child
            # list in waitid(P_ALL) is the floor; within 1.15x of it.
            w = cost["raw-wait-all"][k_hi]
            note = at_most(summary([c[k_hi][r] / w[r] for r in range(min(len(w), len(c[k_hi])))]),
                           1.15).replace("raw", "raw-wait-all") + " at K=%d" % k_hi
        elif mine:
            note = at_most(summary(g_reps), 2.0).replace("raw", "K=%d" % k_lo)
        res["b3"][i.name]["growth"] = {"median": growth, "min": min(g_reps),
                                       "max": max(g_reps)}
        res["b3"][i.name]["target"] = note
        rows.append([i.name] + cells + ["%.2fx [%.2f-%.2f]" % (growth, min(g_reps), max(g_reps)),
                                        note])
    plot_b3(impls, ks, cost, outdir)
    return ["### B3 cost to notice one more exit with K idle tracked children\n\n"
            "Exit-to-wake latency of one more child while K idle children are tracked "
            "(pidshim: all in one pidshim_set, waited with pidshim_set_wait; anchors: one "
            "watcher each in their loop; raw: waitid(P_PID) on the child, the K-independent "
            "floor). Cell: median us over %d repetitions (each the median of %d exits, in a "
            "process of its own, the implementations taking turns), "
            "(ratio to raw at the same K). Growth = cost at K=%d / cost at K=%d, per "
            "repetition [min-max].\n\n" % (p.reps, p.b3_trials, k_hi, k_lo) +
            table(["implementation"] + ["K=%d" % k for k in ks] +
                  ["K=%d / K=%d" % (k_hi, k_lo), "target"], rows) +
            "\n\nPlot: `%s`" % os.path.join(outdir, "scaling.png")]


def plot_b3(impls, ks, cost, outdir):
    gp = shutil.which("gnuplot")
    if not gp:
        log("bench: gnuplot not found, no scaling.png")
        return
    terms = subprocess.run([gp, "-e", "set terminal"], capture_output=True, text=True)
    term = "pngcairo size 900,560" if "pngcairo" in (terms.stdout + terms.stderr) else "png size 900,560"
    dat = os.path.join(outdir, "scaling.dat")
    with open(dat, "w") as f:
        for i in impls:
            f.write('"%s"\n' % i.name)
            for k in ks:
                f.write("%d %.3f %.3f %.3f\n" % (k, med(cost[i.name][k]) / 1000,
                                                min(cost[i.name][k]) / 1000,
                                                max(cost[i.name][k]) / 1000))
            f.write("\n\n")
    script = os.path.join(outdir, "scaling.gp")
    with open(script, "w") as f:
        f.write("set terminal %s\n" % term)
        f.write('set output "%s"\n' % os.path.join(outdir, "scaling.png"))
        f.write('set title "B3: cost to notice one more exit vs tracked children"\n')
        f.write('set xlabel "K idle tracked children"\n'
                'set ylabel "exit-to-wake latency (us), median; bars: min-max of repetitions"\n')
        f.write("set logscale xy\nset grid\nset key outside right\n")
        f.write("set xrange [0.7:%d]\n" % (ks[-1] * 1.5))
        colors = {"raw": "#000000", "raw-pidfd": "#888888", "raw-wait-all": "#8c564b",
                  "pidshim/pidfd": "#1f3f9f", "pidshim/pidfd-poll": "#3f8fdf",
                  "pidshim/signalfd": "#00a0a0", "pidshim/signalfd-sigchld": "#00d080",
                  "libuv": "#d62728", "glib": "#ff7f0e",
                  "libev": "#9467bd", "sd-event": "#2ca02c"}
        clauses = []
        for n, i in enumerate(impls):
            width = 2.5 if i.kind == "pidshim" else 1.5
            clauses.append('"%s" index %d using 1:2:3:4 with yerrorlines lw %.1f lc rgb "%s" '
                           'title columnheader(1)' % (dat, n, width, colors.get(i.name, "#777777")))
        f.write("plot " + ", \\\n     ".join(clauses) + "\n")
    r = subprocess.run([gp, script], capture_output=True, text=True)
    if r.returncode != 0:
        log("bench: gnuplot failed: " + r.stderr.strip())


# --------------------------------------------------------------------- B4

def size_of(path):
    out = sh("size -B %s | tail -1" % path).split()
    if len(out) < 4:
        return None
    return {"text": int(out[0]), "data": int(out[1]), "bss": int(out[2]), "total": int(out[3])}


def lib_path(binary, name):
    for line in sh("ldd %s" % binary).splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m and m.group(1).startswith(name):
            return os.path.realpath(m.group(2))
    return None


def bench_b4(impls, raw, p, res, libso):
    fds = {i.name: [] for i in impls}
    heap = {i.name: [] for i in impls}
    for rep in range(p.reps):
        for i in impls:
            lines, _ = run_json(i, ["res", p.b4_n])
            fds[i.name].append(lines[0]["fds"] / p.b4_n)
            heap[i.name].append(lines[0]["heap"] / p.b4_n)
    rows = []
    for i in impls:
        f, h = summary(fds[i.name]), summary(heap[i.name])
        rf = med(fds[i.name]) / med(fds[raw.name]) if med(fds[raw.name]) else float("nan")
        note = ""
        if i.kind == "pidshim":
            limit = 2 if i.backend == "signalfd" else 1
            note = "ok (<= %d)" % limit if f["max"] <= limit else "MISS: > %d fd" % limit
        rows.append([i.name, "%.2f [%.2f-%.2f]" % (f["median"], f["min"], f["max"]),
                     "%.2fx" % rf, "%.0f [%.0f-%.0f]" % (h["median"], h["min"], h["max"]), note])
        res["b4"][i.name] = {"fds_per_handle": f, "heap_bytes_per_handle": h,
                             "fds_vs_raw": rf, "target": note}
    # Background cost: CPU per second while B3's K children all sleep.
    idle_rows = []
    for i in impls:
        if i.kind == "anchor":
            continue  # their loops do no background work of their own
        lines, _ = run_json(i, ["idle", p.b4_idle_k, p.b4_idle_s])
        if not lines:
            continue
        ms = lines[0]["cpu_ns_per_s"] / 1e6
        res["b4"][i.name]["idle_cpu_ms_per_s"] = ms
        idle_rows.append([i.name, "%.2f" % ms, "%.2f%%" % (ms / 10.0)])
    sizes = []
    own = size_of(libso)
    res["b4"]["size"] = {"libpidshim": own}
    if own:
        sizes.append(["libpidshim.so", own["text"], own["data"], own["bss"], own["total"], "1.00x"])
    for i in impls:
        if i.kind != "anchor":
            continue
        path = lib_path(i.binary, LIB_OBJECT[i.name])
        s = size_of(path) if path else None
        if s:
            res["b4"]["size"][i.name] = s
            sizes.append([os.path.basename(path), s["text"], s["data"], s["bss"], s["total"],
                          "%.2fx" % (s["total"] / own["total"]) if own else "-"])
    return ["### B4 resources per open handle (%d handles, %d repetitions)\n\n" % (p.b4_n, p.reps) +
            "fds: growth of /proc/self/fd; heap: mallinfo2() uordblks+hblkhd growth (all "
            "arenas), including the watcher struct the caller allocates for the anchors. "
            "Raw floor: one pidfd_open() fd, no heap. pidshim handles are bare (not in a "
            "set).\n\n" +
            table(["implementation", "fds/handle", "fds vs raw", "heap bytes/handle", "target"],
                  rows) +
            "\n\nCPU while %s tracked children all sleep (%s s, after the spawning; every "
            "thread of the process; the signalfd backend's ticker looks at each "
            "running child every 250 ms):\n\n" % (p.b4_idle_k, p.b4_idle_s) +
            table(["implementation", "CPU ms per second", "of one core"], idle_rows) +
            "\n\n`size -B` of the shared objects (bytes):\n\n" +
            table(["object", "text", "data", "bss", "total", "vs libpidshim"], sizes)]


# --------------------------------------------------------------------- B5

def find_valgrind():
    """The valgrind command (a list) and a label.  ci/get-valgrind.sh prints
    the command for trixie's valgrind 3.24 (fetched into the cache), or
    "valgrind" when it falls back: Debian 12's 3.19 fails pidfd_open with
    ENOSYS, so under it only the signalfd backend can run."""
    script = os.path.join(REPO, "ci", "get-valgrind.sh")
    cmd = None
    if os.access(script, os.X_OK):
        r = subprocess.run([script], capture_output=True, text=True)
        lines = [l for l in r.stdout.splitlines() if l.strip()]
        if r.returncode == 0 and lines:
            cmd = lines[-1].split()
        for l in r.stderr.splitlines():
            log("bench: " + l)
    if not cmd:
        if not shutil.which("valgrind"):
            return None, None
        cmd = ["valgrind"]
    v = subprocess.run(cmd + ["--version"], capture_output=True, text=True).stdout.strip()
    where = "trixie's, from ci/get-valgrind.sh" if cmd[0] == "env" else shutil.which(cmd[0])
    return cmd, "%s (%s)" % (v, where)


def parse_callgrind(path, exe):
    """Self instructions per object, inclusive instructions of calls leaving
    each object (calls into the benchmark binary itself excluded: those are
    the loop's callbacks, which call back into the library and would count
    its work twice), and the total, from an uncompressed callgrind file."""
    self_ir, out_calls, total = {}, {}, 0
    ob = fn_ob = cob = None
    skip_next = False
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if skip_next:
                skip_next = False
                parts = line.split()
                if len(parts) >= 2 and cob != fn_ob and os.path.realpath(cob) != exe:
                    out_calls[fn_ob] = out_calls.get(fn_ob, 0) + int(parts[1])
                cob = None
                continue
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                if len(parts) >= 2:
                    self_ir[fn_ob] = self_ir.get(fn_ob, 0) + int(parts[1])
                continue
            if line.startswith("ob="):
                ob = line[3:]
            elif line.startswith("fn="):
                fn_ob = ob
                cob = None
            elif line.startswith("cob="):
                cob = line[4:]
            elif line.startswith("calls="):
                if cob is None:
                    cob = fn_ob
                skip_next = True
            elif line.startswith("totals:") or line.startswith("summary:"):
                total = int(line.split()[1])
    return self_ir, out_calls, total


def callgrind_counts(vg, impl, n, tmp, shim=None):
    env = impl.env
    if shim:
        env = dict(env, LD_PRELOAD=shim)
    prefix = vg + ["--tool=callgrind", "--compress-strings=no", "--compress-pos=no",
              "--callgrind-out-file=%s/cg.%%p" % tmp]
    cmd = prefix + [impl.binary, "cycles", str(n)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    out, err = proc.communicate(timeout=900)
    if proc.returncode == 77:
        reason = ""
        for l in out.splitlines():
            if l.startswith("{"):
                reason = json.loads(l).get("reason", "")
        return None, reason or "cannot run under this valgrind"
    if proc.returncode != 0:
        raise RuntimeError("callgrind %s: %s" % (impl.name, err.strip()[-400:]))
    path = os.path.join(tmp, "cg.%d" % proc.pid)
    self_ir, out_calls, total = parse_callgrind(path, os.path.realpath(impl.binary))
    for fname in os.listdir(tmp):
        os.unlink(os.path.join(tmp, fname))
    return (self_ir, out_calls, total), None


def bench_b5(impls, raw, p, res, libso):
    vg, version = find_valgrind()
    if not vg:
        return ["### B5 library CPU cost\n\nvalgrind not found: not measured."]
    lo, hi = p.b5_lo, p.b5_hi
    own, incl, total, data = {}, {}, {}, {}
    runnable = []
    shim = os.path.join(p.bindir, "vg-syscall-shim.so")
    shims = {}
    with tempfile.TemporaryDirectory(prefix="pidshim-cg.") as tmp:
        for rep in range(p.reps):
            for i in impls:
                if i.name in data:
                    continue  # skipped under this valgrind
                log("bench: B5 %s #%d" % (i.name, rep))
                use = shims.get(i.name)
                a, why = callgrind_counts(vg, i, lo, tmp, use)
                if a is None and i.kind == "pidshim" and os.path.exists(shim) and rep == 0:
                    # This valgrind lacks a syscall the probe needs
                    # (pidfd_send_signal in 3.24): answer it from the shim.
                    use = shims[i.name] = shim
                    a, why = callgrind_counts(vg, i, lo, tmp, use)
                if a is None:
                    data[i.name] = {"skipped": why}
                    continue
                b, _ = callgrind_counts(vg, i, hi, tmp, use)
                objname = {"pidshim": "libpidshim.so", "anchor": LIB_OBJECT.get(i.name)}.get(i.kind)

                def pick(d):
                    return sum(v for k, v in d.items() if k and objname and
                               os.path.basename(k).startswith(objname))
                o = (pick(b[0]) - pick(a[0])) / (hi - lo)
                own.setdefault(i.name, []).append(o)
                incl.setdefault(i.name, []).append(o + (pick(b[1]) - pick(a[1])) / (hi - lo))
                total.setdefault(i.name, []).append((b[2] - a[2]) / (hi - lo))
                if rep == 0:
                    runnable.append(i)
    rows = []
    for i in impls:
        if i.name in data:
            rows.append([i.name, "-", "-", "-", "-",
                         "not run under %s: %s" % (version, data[i.name]["skipped"])])
            continue
        so, si, st = summary(own[i.name]), summary(incl[i.name]), summary(total[i.name])
        rr = summary([total[i.name][r] / total[raw.name][r] for r in range(len(total[i.name]))]) \
            if raw.name in total else None
        data[i.name] = {"own_ir_per_cycle": so, "own_plus_callees_ir_per_cycle": si,
                        "process_ir_per_cycle": st, "process_vs_raw": rr,
                        "samples": {"own": own[i.name], "own_plus_callees": incl[i.name],
                                    "process": total[i.name]},
                        "pidfd_send_signal_shim": i.name in shims}

        def f(x):
            return "%.0f [%.0f-%.0f]" % (x["median"], x["min"], x["max"])
        lib = i.kind not in ("raw", "floor")
        rows.append([i.name, f(so) if lib else "-", f(si) if lib else "-", f(st),
                     fmt_ratio(rr) if rr else "-", ""])
    # pidshim's own instructions against the anchors' own, as the issue asks.
    for r in rows:
        if r[0].startswith("pidshim/") and r[0] in own:
            cmp = ["%.2fx %s" % (med(own[r[0]]) / med(own[a]), a) for a in ("libuv", "glib")
                   if a in own and med(own[a])]
            r[5] = "own = " + ", ".join(cmp) if cmp else ""
            if r[0] in shims:
                r[5] += " (shim*)"
    res["b5"] = {"valgrind": vg, "valgrind_version": version, "cycles": [lo, hi], "impl": data}
    note = ""
    if shims:
        note += ("\n\n(shim*) %s has no pidfd_send_signal (syscall 424), which the library's "
                 "probe requires, so without help it picks signalfd and the forced pidfd "
                 "backends fail with ENOSYS. These rows ran with bench/vg-syscall-shim.c "
                 "preloaded: it answers 424 with the equivalent kill(2) and passes every "
                 "other syscall(3) straight to the kernel. The counts inside libpidshim are "
                 "unchanged; pidfd-poll's wait calls pidfd_send_signal(fd, 0) once (has other "
                 "code reaped the child?), so its own+callees and process counts include the "
                 "shim's /proc/self/fdinfo read." % version)
    if any(i.kind == "pidshim" and "skipped" in data.get(i.name, {}) for i in impls):
        note += ("\n\nSome pidshim backends cannot run under %s (Debian 12's 3.19 fails "
                 "pidfd_open with ENOSYS; ci/get-valgrind.sh fetches trixie's, which has it), "
                 "so they are not measured here." % version)
    return ["### B5 user-space instructions per spawn+wait cycle (callgrind, %s)\n\n" % version +
            "Instructions counted by `valgrind --tool=callgrind` in the parent process "
            "(runs of %d and %d cycles of /bin/true, difference / %d: start-up excluded), "
            "median [min-max] of %d repetitions (loop iterations depend on when SIGCHLD "
            "lands, so counts vary a little). own: instructions inside the library's shared "
            "object only; own+callees: plus what it calls in other objects (libc: "
            "posix_spawn, waitid, malloc...); process: everything in the parent (all "
            "threads), vs the raw posix_spawn+waitpid loop. Kernel time is not counted.\n\n"
            % (lo, hi, hi - lo, p.reps) +
            table(["implementation", "own Ir/cycle", "own+callees Ir/cycle",
                   "process Ir/cycle", "process vs raw", "note"], rows) + note]


# -------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bindir", required=True)
    ap.add_argument("--lib", required=True, help="libpidshim.so.X.Y.Z, for size(1)")
    ap.add_argument("--only", default="b1,b2,b3,b4,b5")
    ap.add_argument("--quick", action="store_true",
                    help="10x fewer children and trials (smoke test, noisy)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--before", help="bench-pidshim built against an older pidshim: "
                    "its rows run beside in B1-B3 (make bench BENCH_BEFORE=<commit>)")
    ap.add_argument("--before-name", default="before", help="what to call it")
    p = ap.parse_args()
    if os.environ.get("PIDSHIM_TEST_QUICK") == "1":
        p.quick = True
    q = 10 if p.quick else 1
    p.b1_n = 2000 // q
    p.b1_chunks = 20 if not p.quick else 2
    p.b2_trials = 2000 // q
    p.b3_k = [1, 10, 100, 1000, 4000]
    p.b3_trials = 21 if not p.quick else 5
    p.b4_n = 1000 // q
    p.b4_idle_k, p.b4_idle_s = 4000 // q, 5 if not p.quick else 2
    p.b5_lo, p.b5_hi = 5, 35
    p.delay_us = 1000
    only = set(p.only.split(","))
    outdir = p.bindir

    impls = [Impl("raw", os.path.join(p.bindir, "bench-raw"), kind="raw"),
             Impl("raw-pidfd", os.path.join(p.bindir, "bench-rawpidfd"), kind="floor"),
             Impl("raw-wait-all", os.path.join(p.bindir, "bench-raw"),
                  {"BENCH_RAW_WAIT": "all"}, kind="floor")]
    for name, env in PIDSHIM_VARIANTS:
        impls.append(Impl(name, os.path.join(p.bindir, "bench-pidshim"), env, kind="pidshim"))
    if p.before:
        for b in PIDSHIM_BACKENDS:
            i = Impl("%s:pidshim/%s" % (p.before_name, b), p.before, {"PIDSHIM_BACKEND": b},
                     kind="pidshim")
            i.before = True
            impls.append(i)
    for a in ANCHORS:
        impls.append(Impl(a, os.path.join(p.bindir, "bench-" + ANCHOR_BIN[a])))
    runnable, skipped = [], {}
    for i in impls:
        if not os.access(i.binary, os.X_OK):
            skipped[i.name] = "%s not built" % i.binary
            log("bench: skipping %s: %s" % (i.name, skipped[i.name]))
            continue
        lines, why = run_json(i, ["info"])
        if lines is None:
            skipped[i.name] = why[0].get("reason", "") if why else "cannot run"
            log("bench: skipping %s: %s" % (i.name, skipped[i.name]))
            continue
        i.backend = lines[0].get("backend")
        i.mechanism = lines[0].get("mechanism")
        if i.kind == "pidshim" and i.backend != i.env["PIDSHIM_BACKEND"]:
            raise RuntimeError("%s runs backend %s" % (i.name, i.backend))
        if i.kind == "pidshim" and not i.before and i.mechanism != (
                "none" if i.backend != "signalfd" else
                "signalfd" if i.env.get("BENCH_SIGCHLD") == "1" else "thread"):
            raise RuntimeError("%s runs mechanism %s" % (i.name, i.mechanism))
        runnable.append(i)
    impls, raw = runnable, runnable[0]
    now = [i for i in impls if not i.before]  # B4, B5: resources, not time

    res = {"machine": machine(), "params": {k: v for k, v in vars(p).items()},
           "skipped": skipped, "b1": {}, "b2": {}, "b3": {}, "b4": {}, "b5": {}}
    out = []
    steps = [("b1", lambda: bench_b1(impls, raw, p, res)),
             ("b2", lambda: bench_b2(impls, raw, p, res)),
             ("b3", lambda: bench_b3(impls, raw, p, res, outdir)),
             ("b4", lambda: bench_b4(now, raw, p, res, p.lib)),
             ("b5", lambda: bench_b5(now, raw, p, res, p.lib))]
    failed = []
    for name, fn in steps:
        if name not in only:
            continue
        log("bench: %s" % name.upper())
        try:
            tables = fn()
        except (RuntimeError, OSError, subprocess.SubprocessError, KeyError) as e:
            # One broken benchmark must not cost the others' results.
            failed.append(name)
            tables = ["### %s failed\n\n%s" % (name.upper(), e)]
            res[name] = {"error": str(e)}
        for t in tables:
            print(t + "\n", flush=True)
            out.append(t)
    m = res["machine"]
    m["loadavg_end"] = os.getloadavg()[0]
    head = ("Machine: %s, %s CPUs, Linux %s, %s; load average %.1f at start, %.1f at end; "
            "%s; libuv %s, GLib %s, libev %s, libsystemd %s; commit %s.\n"
            "Reproduce: `make bench` (tables also in %s/results.md).\n"
            % (m["cpu"], m["cpus"], m["kernel"], m["os"], m["loadavg_start"], m["loadavg_end"],
               m["date"], m["libuv"], m["glib"], m["libev"], m["libsystemd"], m["commit"],
               outdir))
    if skipped:
        head += "Not run: " + "; ".join("%s (%s)" % kv for kv in skipped.items()) + ".\n"
    print(head)
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write(head + "\n" + "\n\n".join(out) + "\n")
    misses = sum(t.count("MISS") for t in out)
    print("bench: %d target(s) missed; results in %s" % (misses, os.path.join(outdir, "results.json")))
    if failed:
        print("bench: failed to run: %s" % ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
