#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Reads back the output of ci/kernel-suite.sh for one kernel (a guest's
# serial console log, or the host run's log) and turns it into verdicts:
# one row per personality (backend selected, passed, failed, skipped) on
# stdout, a TAP file, a "PASSED FAILED SKIPPED" count file, and the
# kernel's `pidshim probe --json`.  The verdicts are made here, not in the
# guest, so a guest that hangs or dies half-way still gives honest
# failures: every personality or binary whose section never ended counts
# as failed, as does a personality that selects another backend than
# CONTRACT section 4 says.
#
#   kernel-report.sh NAME LOG OUTDIR RESULTSDIR "PERSONALITY..."
#
# Writes OUTDIR/NAME.probe.json, RESULTSDIR/kernel-NAME.{tap,count}.
# Rows: NAME RELEASE PERSONALITY BACKEND PASSED FAILED SKIPPED NOTE
set -eu
name=$1 log=$2 outdir=$3 resdir=$4 want=$5
mkdir -p "$outdir" "$resdir"

# Console lines may carry \r; a kernel message may also land in the log.
tr -d '\r' < "$log" | awk -v name="$name" -v want="$want" \
	-v probe="$outdir/$name.probe.json" -v tap="$resdir/kernel-$name.tap" \
	-v count="$resdir/kernel-$name.count" '
function emit(ok, desc, sub_) {
	n++
	if (sub_ != "")
		body = body "# Subtest: " desc "\n" sub_
	body = body (ok ? "ok " : "not ok ") n " " desc "\n"
}
function end_test(rc, secs,    note, miss) {
	# Results the plan promised but never came: a crash, a kill, a hang.
	miss = (planned > 0 && nres < planned) ? planned - nres : 0
	tf += miss
	note = ""
	if (rc == 137)
		note = "killed after time-out"
	else if (rc == -1)
		note = "cut off: the guest hung or crashed"
	if (miss)
		note = note (note != "" ? ", " : "") miss " results missing"
	if (planned == 0 && nres == 0 && (rc == 0 || rc == 4))
		ts++        # "1..0 # SKIP why": the whole binary skipped
	else if (rc == 4 && planned < 0 && nres == 0)
		ts++        # KSFT_SKIP without a plan
	else if (rc != 0 && tf == 0) {
		tf++
		if (note == "")
			note = "exit status " rc " without a failed test"
	} else if (planned < 0 && nres == 0) {
		tf++; note = "no TAP output"
	}
	P[pers] += tp; F[pers] += tf; S[pers] += ts
	if (note != "")
		N[pers] = N[pers] cur ": " note "; "
	emit(tf == 0, pers " " cur " (" tp " passed, " tf " failed, " ts " skipped, " secs ")" \
		(note != "" ? " # " note : ""), tbody)
	intest = 0
}
BEGIN { n = 0; release = "?"; intest = 0; inprobe = 0; done = 0; np = 0 }
/^@@KM uname / { release = $3; next }
/^@@KM probe-begin/ { inprobe = 1; printf "" > probe; next }
/^@@KM probe-end/ { inprobe = 0; close(probe); next }
inprobe { print > probe; next }
/^@@KM pers-begin / {
	if (intest) end_test(-1, "cut")
	pers = $3; ex = $4; sub(/^expect=/, "", ex)
	seen[pers] = 1; order[++np] = pers; E[pers] = ex
	P[pers] = F[pers] = S[pers] = 0; N[pers] = ""
	next
}
/^@@KM backend / {
	B[$3] = $4
	if ($4 == E[$3]) { P[$3]++; emit(1, $3 " selects backend " $4, "") }
	else {
		F[$3]++; N[$3] = N[$3] "backend " $4 ", expected " E[$3] "; "
		emit(0, $3 " selects backend " $4 " # expected " E[$3], "")
	}
	next
}
/^@@KM test-begin / {
	if (intest) end_test(-1, "cut")
	cur = $4; intest = 1; planned = -1; nres = 0; tp = tf = ts = 0; tbody = ""
	next
}
/^@@KM test-end / {
	rc = $5; sub(/^rc=/, "", rc); secs = $6; sub(/^secs=/, "", secs)
	if (intest) end_test(rc + 0, secs "s")
	next
}
/^@@KM pers-end / { ended[$3] = 1; next }
/^@@KM done/ { done = 1; next }
intest {
	if ($0 != "")
		tbody = tbody "    " $0 "\n"
	if ($0 ~ /^1\.\.[0-9]+/) { planned = substr($1, 4) + 0; next }
	if ($0 ~ /^ok /) {
		nres++
		if (toupper($0) ~ /# *SKIP/) ts++; else tp++
	} else if ($0 ~ /^not ok /) {
		nres++
		if (toupper($0) ~ /# *(TODO|SKIP)/) ts++; else tf++
	}
	next
}
END {
	# A section that never ended: the guest hung or died in this binary.
	if (intest) {
		cutp[pers] = 1
		end_test(-1, "cut")
	}
	emit(done, name " ran to the end" (done ? "" : " # guest hung or crashed, see its log"), "")
	tot_p = done; tot_f = !done; tot_s = 0
	nw = split(want, W, " ")
	for (i = 1; i <= nw; i++) {
		p = W[i]
		if (!(p in seen)) {
			order[++np] = p; B[p] = "-"; F[p] = 1; P[p] = S[p] = 0
			N[p] = "not run"
			emit(0, p " not run # the guest stopped before it", "")
		} else if (!(p in ended) && !(p in cutp)) {
			F[p]++; N[p] = N[p] "cut off between two binaries; "
		}
	}
	for (i = 1; i <= np; i++) {
		p = order[i]
		note = N[p]; sub(/; $/, "", note); gsub(/ /, "_", note)
		printf "%s %s %s %s %d %d %d %s\n", name, release, p, (p in B ? B[p] : "-"),
			P[p], F[p], S[p], (note == "" ? "-" : note)
		tot_p += P[p]; tot_f += F[p]; tot_s += S[p]
	}
	printf "TAP version 13\n# kernel %s, release %s\n%s1..%d\n", name, release, body, n > tap
	printf "%d %d %d\n", tot_p, tot_f, tot_s > count
}'
