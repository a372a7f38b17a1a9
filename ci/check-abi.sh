#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# One ABI of `make check-abi`: builds the library, the static archive, the
# selftests (dynamic and static), and the CLI where libseccomp exists for
# the ABI, with that ABI's compiler; checks the exported symbols and the
# archive's global names; runs the selftests natively when this kernel execs
# the ABI's binaries, else under qemu-user (quick suite); and writes one
# count file, RESULTS/abi-ABI.count ("PASSED FAILED SKIPPED", the suite's
# tests plus one per check above), with the details in RESULTS/abi-ABI.tap.
# A toolchain that is not installed makes the whole ABI one named skip.
#
#   ci/check-abi.sh ABI BUILD RESULTS      ABI: i386 musl aarch64 s390x
#
# Trees: BUILD/abi/ABI (make's BUILD for the ABI).  The cross libseccomp
# (static, from Debian's libseccomp-dev:ARCH) is unpacked by ci/apt-fetch.sh
# into $XDG_CACHE_HOME/pidshim/abi/ARCH, never installed: the machine's
# dpkg architectures stay as they are.
#
# Under qemu-user the tests are run by calling qemu-ARCH-static directly,
# and the children they spawn are the host's build of selftests/helper:
# qemu-user cannot exec a foreign binary without a binfmt_misc entry, and
# the code under test is the parent's side.  Every skip under qemu-user
# must be one that qemu_explains() below traces to something qemu-user
# does not emulate; any other skip there counts as a failure.
set -u

abi=${1:?usage: check-abi.sh ABI BUILD RESULTS}
build=${2:?usage: check-abi.sh ABI BUILD RESULTS}
results=${3:?usage: check-abi.sh ABI BUILD RESULTS}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
case $build in /*) ;; *) build=$top/$build ;; esac
case $results in /*) ;; *) results=$top/$results ;; esac
# The ABI's own make runs get their variables from us, not from an outer
# `make check CC=clang ...`.
unset MAKEFLAGS MFLAGS MAKELEVEL
make=${MAKE:-make}
jobs=$(nproc 2>/dev/null || echo 2)
host_asm=/usr/include/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)/asm

# cc: the compiler; deb/triplet: Debian's architecture and multiarch name
# (no deb: no libseccomp for the ABI); qemu: the emulator when the kernel
# cannot run the binaries itself ("" = native only); links: kernel header
# directories the compiler does not see by itself (NAME=TARGET).
case $abi in
i386)
	# gcc-12-multilib, not gcc-multilib: the latter conflicts with every
	# cross compiler in Debian 12, only to add the /usr/include/asm link
	# made here instead.
	cc="gcc -m32" deb=i386 triplet=i386-linux-gnu qemu=''
	links="asm=$host_asm" pkgs="gcc-12-multilib"
	# qemu-i386 (7.2) cannot stand in for a kernel without IA32
	# emulation: it keeps the TLS descriptors of all guest threads in one
	# emulated GDT, so after a signal handler returns the thread's %gs is
	# reloaded with the descriptor the last pthread_create() wrote there
	# and the main thread becomes another thread (pthread_self() changes,
	# pthread_kill() to it is dropped as "exited", errno is shared): the
	# wait.*.restarts_after_signal_handler_without_eintr and heavy
	# eight-thread tests fail or hang there for that reason alone.
	no_qemu="this kernel does not exec i386 binaries (IA32 emulation off?) and qemu-i386 cannot stand in: its guest threads share one emulated GDT, so after a signal handler %gs points at another thread's TLS"
	;;
musl)
	cc=musl-gcc deb='' triplet='' qemu=''
	links="linux=/usr/include/linux asm=$host_asm asm-generic=/usr/include/asm-generic"
	pkgs="musl-tools linux-libc-dev" no_qemu="this kernel cannot exec the musl binaries"
	;;
aarch64)
	cc=aarch64-linux-gnu-gcc deb=arm64 triplet=aarch64-linux-gnu qemu=qemu-aarch64-static
	links='' pkgs="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static"
	;;
s390x)
	cc=s390x-linux-gnu-gcc deb=s390x triplet=s390x-linux-gnu qemu=qemu-s390x-static
	links='' pkgs="gcc-s390x-linux-gnu libc6-dev-s390x-cross qemu-user-static"
	;;
*)
	echo "check-abi.sh: unknown ABI '$abi' (i386 musl aarch64 s390x)" >&2
	exit 2
	;;
esac

b=$build/abi/$abi
mkdir -p "$b" "$results"
tap=$results/abi-$abi.tap
count=$results/abi-$abi.count
: > "$tap"
# Written first so that a killed run still counts as a failure.
echo "0 1 0" > "$count"
pass=0 fail=0 skip=0
started=$(date +%s)

ok() { pass=$((pass + 1)); echo "ok - $abi: $*" >> "$tap"; echo "abi-$abi: ok   $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $abi: $*" >> "$tap"; echo "abi-$abi: FAIL $*"; }
skipped() { skip=$((skip + 1)); echo "ok - $abi: # SKIP $*" >> "$tap"; echo "abi-$abi: SKIP $*"; }
finish() {
	echo "$pass $fail $skip" > "$count"
	echo "abi-$abi: $pass passed, $fail failed, $skip skipped in $(($(date +%s) - started))s (TAP in $tap)"
	[ "$fail" -eq 0 ]
	exit
}
# counts FILE: add a "PASSED FAILED SKIPPED" file to ours.
add_counts() {
	read -r p f s < "$1" || true
	pass=$((pass + ${p:-0})) fail=$((fail + ${f:-0})) skip=$((skip + ${s:-0}))
}

# ---- the toolchain ----------------------------------------------------
if ! command -v "${cc%% *}" > /dev/null 2>&1; then
	skipped "toolchain: ${cc%% *} is not installed (Debian: $pkgs; ci/deps/abi.list)"
	finish
fi
if ! echo 'int main(void) { return 0; }' |
	$cc -static -x c -o "$b/.cc-probe" - > "$b/.cc-probe.log" 2>&1; then
	skipped "toolchain: '$cc' cannot link a static program (Debian: $pkgs): $(head -n 1 "$b/.cc-probe.log")"
	finish
fi
# Kernel headers the compiler does not search by itself: a private
# directory of links, first on its include path.
isystem=
if [ -n "$links" ]; then
	mkdir -p "$b/include"
	for l in $links; do
		ln -sfn "${l#*=}" "$b/include/${l%%=*}"
	done
	isystem="-isystem $b/include"
fi
abicc="$cc $isystem"

# ---- build ---------------------------------------------------------------
if $make -j"$jobs" --no-print-directory BUILD="$b" CC="$abicc" \
	lib selftests selftests-static > "$b/build.log" 2>&1; then
	ok "build: libpidshim.so, libpidshim.a, selftests (dynamic and static) with $cc"
else
	not_ok "build: make lib selftests selftests-static with $cc failed (log: $b/build.log)"
	tail -n 20 "$b/build.log" | sed 's/^/# /' | tee -a "$tap"
	finish
fi

so=$(find "$b" -maxdepth 1 -name "libpidshim.so.*.*.*" | head -n 1)
if ci/check-symbols.sh "$so" shim/lib/pidshim.map > "$b/symbols.log" 2>&1; then
	ok "symbols: $(tail -n 1 "$b/symbols.log" | sed 's/^check-symbols: //')"
else
	not_ok "symbols: the exported set of $so differs from the map"
	sed 's/^/# /' "$b/symbols.log" >> "$tap"
fi

# A program linking the archive sees pidshim_* and nothing else of ours
# (i386's PIC thunks are shared COMDAT code, see the Makefile).
leaked=$(nm -g --defined-only "$b/libpidshim.a" 2>&1 | awk 'NF == 3 { print $3 }' |
	grep -v -e '^pidshim_' -e '^__x86\.get_pc_thunk\.' | tr '\n' ' ')
if [ -z "$leaked" ]; then
	ok "static archive: defines no global name but pidshim_*"
else
	not_ok "static archive: internal names left global: $leaked"
fi

# ---- how the binaries run here -------------------------------------------
prefix='' mode=''
if "$b/selftests/helper" exit 0 > "$b/exec.log" 2>&1; then
	mode=native
elif [ -n "$qemu" ] && command -v "$qemu" > /dev/null 2>&1; then
	mode=qemu prefix=$qemu
	# The dynamic test binaries find the ABI's loader and libc here.
	QEMU_LD_PREFIX=/usr/$triplet
	export QEMU_LD_PREFIX
elif [ -n "$qemu" ]; then
	no_run="this kernel cannot exec $abi binaries and $qemu is not installed (qemu-user-static)"
else
	no_run="$no_qemu [$(sed -n '$s/^.*: //p' "$b/exec.log")]"
fi

# ---- the selftests -----------------------------------------------------
suite_env="PIDSHIM_SELFTEST_DIR=$b/selftests"
helper=$b/selftests/helper
if [ -z "$mode" ]; then
	# Nothing runs; the CLI is still built below.
	skipped "selftests: $no_run"
elif [ "$mode" = qemu ]; then
	# The host's helper (see the top); quick loops and wider time bounds,
	# qemu-user translates every instruction.
	if ! $make --no-print-directory BUILD="$build" "$build/selftests/helper" > "$b/helper.log" 2>&1; then
		not_ok "selftests: the host's helper did not build (log: $b/helper.log)"
		finish
	fi
	helper=$build/selftests/helper
	# Not heavy: qemu-user (7.2) can deadlock the child of a fork taken
	# while other guest threads run (qemu turns glibc's CLONE_VFORK spawn
	# into a fork): the child hangs on a lock inside qemu before it execs,
	# and its parent waits for it forever.  heavy's eight spawning threads
	# hit that in 3 of 18 runs on s390x and 5 of 8 on aarch64 here (the
	# other binaries spawn from one thread at a time); on a real kernel
	# heavy passes.
	qdir=$b/qemu-selftests
	rm -rf "$qdir" && mkdir -p "$qdir"
	while read -r n; do
		[ "$n" = heavy ] || ln -s "../selftests/$n" "$qdir/$n"
	done < "$b/selftests/LIST"
	grep -vx heavy "$b/selftests/LIST" > "$qdir/LIST"
	skipped "selftests: heavy not run under qemu-user, whose fork of a multi-threaded guest can hang the child in a qemu-internal lock before exec (its eight spawning threads hit it in up to half the runs)"
	suite_env="PIDSHIM_SELFTEST_DIR=$qdir PIDSHIM_TEST_QUICK=1 PIDSHIM_TEST_SLOW=3"
fi
if [ -n "$mode" ]; then
	echo "abi-$abi: selftests ($mode${prefix:+: $prefix})"
	# shellcheck disable=SC2086
	env $suite_env PIDSHIM_TEST_HELPER="$helper" \
		sh selftests/run-suite.sh "abi-$abi-suite" "$b/results" $prefix | sed "s/^/abi-$abi: /"
	sed 's/^/    /' "$b/results/abi-$abi-suite.tap" >> "$tap"
	add_counts "$b/results/abi-$abi-suite.count"
fi

# Why each skip under qemu-user happens: the skip reason the test prints,
# and what qemu-user lacks that causes it.  Natively the skips are those of
# the host's own suite.
qemu_explains() {
	case $1 in
	*"kernel lacks seccomp filters"*)
		echo "qemu-user does not emulate seccomp(2) (ENOSYS) and refuses prctl(PR_SET_SECCOMP) (EINVAL) for its guest" ;;
	*"ptrace(PTRACE_SEIZE) refused here (Function not implemented)"*)
		echo "qemu-user does not emulate ptrace(2) (ENOSYS)" ;;
	*"posix_spawn reports no exec errors here"*)
		echo "qemu-user runs glibc's CLONE_VM|CLONE_VFORK spawn child as a plain fork, so the exec error never reaches the parent" ;;
	*"kernel lacks clone3 (Linux 5.3)"*)
		echo "qemu-user (7.2) does not emulate clone3(2) (ENOSYS), so the library takes clone() there" ;;
	*"unshare(CLONE_NEWUSER) fails even in a fresh process: Invalid argument"*)
		echo "qemu-user runs a thread of its own in every guest process, and the kernel refuses unshare(CLONE_NEWUSER) to a multithreaded process (EINVAL)" ;;
	esac
}
if [ "$mode" = qemu ]; then
	grep -h '# SKIP' "$b/results/abi-$abi-suite.tap" | sed 's/.*# SKIP *//' > "$b/skips"
	while read -r reason; do
		why=$(qemu_explains "$reason")
		if [ -z "$why" ]; then
			not_ok "selftests: a skip under qemu-user that qemu-user does not explain: $reason"
		fi
	done < "$b/skips"
	sort "$b/skips" | uniq -c | while read -r n reason; do
		why=$(qemu_explains "$reason")
		[ -n "$why" ] && echo "# $n skipped under qemu-user: \"$reason\": $why" >> "$tap"
		[ -n "$why" ] && echo "abi-$abi: $n skipped: $why"
	done
fi

# The static build the qemu kernel matrix boots: its probe binary runs.
if [ -n "$mode" ]; then
	out=$b/results/static-probe.out
	# shellcheck disable=SC2086
	env $suite_env PIDSHIM_TEST_HELPER="$helper" $prefix "$b/static/selftests/probe" > "$out" 2>&1
	rc=$?
	totals=$(grep '^# Totals:' "$out" | tail -n 1)
	case $rc/$totals in
	"0/# Totals: pass:"*" fail:0 "*)
		ok "static selftests: probe (linked with libpidshim.a) ${totals#\# Totals: }" ;;
	*)
		not_ok "static selftests: probe exited $rc: ${totals:-no totals}"
		grep '^not ok' "$out" >> "$tap" ;;
	esac
fi

# ---- the CLI and the personalities ---------------------------------------
if [ -z "$deb" ]; then
	skipped "cli: Debian has no libseccomp built for $abi (pidshim emulate needs it)"
	finish
fi
suite=${PIDSHIM_ABI_SUITE:-$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null)}
seccomp_root=${XDG_CACHE_HOME:-$HOME/.cache}/pidshim/abi/$deb
if ! ci/apt-fetch.sh "${suite:-bookworm}" "$deb" "$seccomp_root" libseccomp-dev libseccomp2 \
	> "$b/apt-fetch.log" 2>&1; then
	skipped "cli: libseccomp-dev:$deb could not be fetched from the Debian archive (log: $b/apt-fetch.log)"
	finish
fi
libseccomp=$seccomp_root/usr/lib/$triplet/libseccomp.a
# The static CLI and tests always (the qemu kernel matrix boots them, and
# under qemu-user they are what runs); the dynamic ones where the matrix
# can run them, or where nothing runs at all (then the build is the check).
targets="cli-static personality-tests-static"
[ "$mode" = qemu ] || targets="cli personality-tests $targets"
# shellcheck disable=SC2086
if $make -j"$jobs" --no-print-directory BUILD="$b" CC="$abicc -isystem $seccomp_root/usr/include" \
	CLI_LIBS="$libseccomp" $targets > "$b/build-cli.log" 2>&1; then
	ok "build: $targets, with $(grep libseccomp-dev "$seccomp_root/.apt-fetch-debs" 2>/dev/null || echo "libseccomp-dev:$deb")"
else
	not_ok "build: make $targets with $cc failed (log: $b/build-cli.log)"
	tail -n 20 "$b/build-cli.log" | sed 's/^/# /' | tee -a "$tap"
	finish
fi

# The selftests' skip above already says why nothing runs here.
[ -n "$mode" ] || finish

pidshim=$b/pidshim
[ "$mode" = qemu ] && pidshim=$b/static/pidshim
# emulate with no filter execs its command and passes its exit status on.
$prefix "$pidshim" emulate native -- "$helper" exit 7 > "$b/emulate.out" 2>&1
rc=$?
if [ "$rc" -eq 7 ]; then
	ok "cli: pidshim emulate native -- helper exit 7 exits 7"
else
	not_ok "cli: pidshim emulate native -- helper exit 7 exited $rc: $(head -n 1 "$b/emulate.out")"
fi

# A real filter: the whole personality matrix when it loads, else one skip
# that says why.
$prefix "$pidshim" emulate 4.19 -- "$helper" exit 0 > "$b/emulate.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then
	msg=$(head -n 1 "$b/emulate.out")
	if [ "$mode" = qemu ]; then
		skipped "personalities: qemu-user does not emulate seccomp for its guest (emulate 4.19: $msg); the $abi filters run under a real $abi kernel only (qemu-system, see README: Platforms)"
	else
		skipped "personalities: this kernel refused the filter (emulate 4.19: $msg)"
	fi
elif [ "$mode" = qemu ]; then
	skipped "personalities: this qemu-user loaded a seccomp filter, but the matrix execs pidshim without qemu, so it runs natively only"
else
	echo "abi-$abi: personality matrix"
	PIDSHIM="$b/pidshim" PIDSHIM_SELFTEST_DIR="$b/selftests" PIDSHIM_TEST_HELPER="$b/selftests/helper" \
		selftests/personality/check-matrix.sh "$b/selftests/personality" "$b/results" |
		sed "s/^/abi-$abi: /"
	for f in "$b"/results/personality-*.count; do
		[ -e "$f" ] || continue
		add_counts "$f"
		sed 's/^/    /' "${f%.count}.tap" >> "$tap" 2>/dev/null
	done
fi
finish
