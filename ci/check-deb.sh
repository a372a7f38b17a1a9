#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `make check-deb`: what a distribution does with pidshim's Debian source
# package, as tests.  `make deb` (ci/deb-build.sh) from a clean copy of the
# tree; blhc on its build log (every compile and link line carries
# dpkg-buildflags' hardening flags); lintian on the .changes (no error, no
# warning; every override in debian/ carries a comment); hardening-check
# on every ELF file of the binary packages; the symbols file against the
# version script; what each package holds (the test binaries without an
# rpath, linked to the installed libpidshim.so.0); and the autopkgtests of
# debian/tests with the null runner on the built packages, installed in a
# throwaway overlay (ci/check-deb-autopkgtest.sh, root only).
#
# Counts: suite "deb" (one test per check and per autopkgtest) and suite
# "deb-installed-tests" (the selftests the two installed-tests
# autopkgtests ran against the installed library, natively and under each
# personality).  The installed selftests run quick here
# (PIDSHIM_TEST_QUICK=1): check-selftests and check-personalities already
# run the full suites on this kernel; PIDSHIM_DEB_QUICK=0 runs them full;
# PIDSHIM_DEB_PERSONALITIES="a b" runs the personalities test under those
# only.
#   ci/check-deb.sh BUILD
set -u
build=${1:?usage: ci/check-deb.sh BUILD}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
# shellcheck source=ci/tap.sh
. "$here/tap.sh"
tap_init deb "$build"
res=$tap_res
deb=$(cd "$build" && pwd)/deb
log=$res/deb.log
t0=$(date +%s)
step() { echo "--- $1 ($(( $(date +%s) - t0 ))s)"; }
rm -f "$res/deb-installed-tests.count"

missing=
for t in dpkg-buildpackage dh lintian hardening-check blhc autopkgtest; do
	command -v "$t" > /dev/null || missing="$missing $t"
done
if [ -n "$missing" ]; then
	echo "ok - Debian packaging # SKIP missing$missing (ci/deps/deb.list)"
	skip=1
	finish
fi

# ---- make deb ----------------------------------------------------------------
step "make deb"
if "$here/deb-build.sh" "$build" > "$log" 2>&1; then
	ok "make deb: source package and binary packages built ($(( $(date +%s) - t0 ))s)"
else
	no "make deb (log: $log)"
	show "$log"
	finish
fi
cd "$top" || exit 1
version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
changes=$deb/pidshim_${version}_$arch.changes
buildlog=$deb/pidshim_${version}_$arch.build
pkgs=$(sed -n 's/^Package: //p' debian/control)
case " ${DEB_BUILD_PROFILES:-} " in
*" noinsttest "*) pkgs=$(echo "$pkgs" | grep -vx pidshim-tests) ;;
esac
for p in $pkgs; do
	if [ -f "$deb/${p}_${version}_$arch.deb" ]; then
		ok "package $p built"
	else
		no "package $p built (no $deb/${p}_${version}_$arch.deb)"
	fi
done

# ---- the build log: hardening flags on every compiler line -------------------
# The CMake package files are made by sed, whose `cc -dM -E` only reads the
# compiler's pointer size: not a compile, so no flags to check.
step "blhc"
if blhc --debian --all --ignore-line 'sed .*/cmake/pidshim/pidshimConfig(Version)?\.cmake' \
	"$buildlog" > "$res/deb-blhc.log" 2>&1; then
	ok "blhc: every compile and link line of the build log has dpkg-buildflags' flags"
else
	no "blhc: compile or link lines without dpkg-buildflags' flags"
	show "$res/deb-blhc.log"
fi
flags=
for f in -fstack-protector-strong -D_FORTIFY_SOURCE=2 -Werror=format-security \
	-Wl,-z,relro -Wl,-z,now; do
	grep -q -e " $f " "$buildlog" || flags="$flags $f"
done
if [ -z "$flags" ]; then
	ok "the build log shows the hardening flags (stack protector, fortify, format, relro, bindnow)"
else
	no "the build log lacks:$flags"
fi

# ---- lintian -------------------------------------------------------------------
step "lintian"
lintian --fail-on error,warning --display-info "$changes" > "$res/deb-lintian.log" 2>&1
rc=$?
sed 's/^/    /' "$res/deb-lintian.log"
if [ "$rc" -eq 0 ] && ! grep -q '^[EW]: ' "$res/deb-lintian.log"; then
	ok "lintian: no error and no warning on the source and binary packages"
else
	no "lintian: errors or warnings (exit $rc)"
fi
# An override is a claim that lintian is wrong here: it must say why.
bad=$(for f in debian/*lintian-overrides debian/source/lintian-overrides; do
	[ -f "$f" ] && awk -v f="$f" '
		/^[ \t]*#/ { why = 1; next }
		/^[ \t]*$/ { why = 0; next }
		!why { print f ": " $0 }' "$f"
done)
if [ -z "$bad" ]; then
	ok "every lintian override in debian/ follows a comment saying why"
else
	no "lintian overrides without a comment: $bad"
fi

# ---- hardening-check on every ELF file ----------------------------------------
step "hardening-check"
x=$(mktemp -d)
trap 'rm -rf "$x"' EXIT
for p in $pkgs; do
	dpkg-deb -x "$deb/${p}_${version}_$arch.deb" "$x/$p"
done
# What dpkg-buildflags asked for is what the binaries must have; bookworm's
# dpkg (1.21) does not enable -fcf-protection (trixie's does).
hc=
if ! grep -q -e '-fcf-protection' "$buildlog"; then
	hc=--nocfprotection
	skip=$((skip + 1))
	echo "ok - hardening-check: control-flow protection # SKIP dpkg-buildflags here does not enable -fcf-protection"
fi
for p in $pkgs; do
	find "$x/$p" -type f ! -name '*.a' | sort | while read -r f; do
		readelf -h "$f" > /dev/null 2>&1 && echo "$f"
	done > "$x/$p.elf"
	while read -r f; do
		name=$p:${f#"$x/$p"}
		# pidshim matrix's guest binary is static by design (the
		# busybox guest has no libc): PIE and immediate binding do not
		# apply, and a stripped static binary shows no symbols to
		# check; its compile and link lines are in blhc's check above.
		if ! readelf -d "$f" 2>/dev/null | grep -q 'Dynamic section'; then
			echo "ok - hardening-check $name # SKIP statically linked (pidshim matrix's guest side): PIE and bindnow do not apply"
			skip=$((skip + 1))
			continue
		fi
		if hardening-check $hc "$f" > "$x/hc.out" 2>&1; then
			ok "hardening-check $name: $(grep -c ': yes' "$x/hc.out") features found"
		else
			no "hardening-check $name"
			sed 's/^/    /' "$x/hc.out"
		fi
	done < "$x/$p.elf"
done

# ---- the symbols file is the version script ------------------------------------
step "symbols and contents"
# Each global name of each version node, and each node itself, as
# NAME@NODE: exactly the lines of the symbols file.
map=$(awk '
	/^[A-Za-z][A-Za-z0-9_.]* *\{/ { node = $1; sub(/\{.*/, "", node); glob = 1; print node "@" node; next }
	/^[ \t]*local:/ { glob = 0; next }
	/^[ \t]*global:/ { glob = 1; next }
	glob && /^[ \t]*[A-Za-z_][A-Za-z0-9_]*;/ { n = $1; sub(/;.*/, "", n); print n "@" node }
	' shim/lib/pidshim.map | sort)
sym=$(sed -n 's/^ \([^ *][^ ]*\) .*/\1/p' debian/libpidshim0.symbols | sort)
if [ -n "$map" ] && [ "$map" = "$sym" ]; then
	ok "debian/libpidshim0.symbols lists exactly the $(echo "$map" | wc -l) names and version nodes of pidshim.map"
else
	no "debian/libpidshim0.symbols differs from shim/lib/pidshim.map"
	printf '%s\n' "$map" > "$x/map"
	printf '%s\n' "$sym" > "$x/sym"
	diff -u "$x/map" "$x/sym" | sed 's/^/    /'
fi

# ---- what each package holds -----------------------------------------------------
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
holds() { # PACKAGE PATH...
	p=$1
	shift
	for f in "$@"; do
		[ -e "$x/$p/$f" ] || [ -L "$x/$p/$f" ] || { no "$p holds /$f"; return; }
	done
	ok "$p holds $*"
}
holds libpidshim0 "usr/lib/$ma/libpidshim.so.0"
holds libpidshim-dev usr/include/pidshim.h "usr/lib/$ma/libpidshim.so" "usr/lib/$ma/libpidshim.a" \
	"usr/lib/$ma/pkgconfig/pidshim.pc" "usr/lib/$ma/cmake/pidshim/pidshimConfig.cmake" \
	"usr/lib/$ma/cmake/pidshim/pidshimConfigVersion.cmake" \
	usr/share/man/man3/pidshim_wait.3.gz usr/share/man/man7/pidshim.7.gz
holds pidshim usr/bin/pidshim usr/share/man/man1/pidshim.1.gz
if echo "$pkgs" | grep -qx pidshim-tests; then
	t=usr/libexec/installed-tests/pidshim
	names=$(cat "$x/pidshim-tests/$t/LIST")
	# shellcheck disable=SC2046,SC2086 # one path per test name
	holds pidshim-tests "$t/run-tests" "$t/run-suite.sh" "$t/helper" "$t/LIST" \
		$(printf "$t/%s " $names) $(printf 'usr/share/installed-tests/pidshim/%s.test ' $names)
	bad=
	for n in $names; do
		d=$(readelf -d "$x/pidshim-tests/$t/$n")
		echo "$d" | grep -q -e RPATH -e RUNPATH && bad="$bad $n(rpath)"
		echo "$d" | grep -q 'NEEDED.*\[libpidshim\.so\.0\]' || bad="$bad $n(no libpidshim.so.0)"
	done
	if [ -z "$bad" ]; then
		ok "pidshim-tests: every test binary needs libpidshim.so.0, found without rpath"
	else
		no "pidshim-tests: test binaries with an rpath or without libpidshim.so.0:$bad"
	fi
	f=$(dpkg-deb -f "$deb/pidshim-tests_${version}_$arch.deb" Depends Built-Using)
	if echo "$f" | grep -q '^Depends:.*libpidshim0 (>= ' && echo "$f" | grep -q '^Built-Using: linux '; then
		ok "pidshim-tests: Depends on libpidshim0 (from the symbols file), Built-Using linux"
	else
		no "pidshim-tests: Depends on libpidshim0 and Built-Using linux ($f)"
	fi
fi

# ---- autopkgtest -----------------------------------------------------------------
step "autopkgtest"
if [ "$(id -u)" != 0 ]; then
	skip=$((skip + 1))
	echo "ok - autopkgtest # SKIP needs root for its throwaway overlay of /usr, /etc and /var"
	finish
fi
apt=$deb/autopkgtest
quick=--env=PIDSHIM_TEST_QUICK=1
[ "${PIDSHIM_DEB_QUICK:-1}" = 0 ] && quick=
pers=
[ -n "${PIDSHIM_DEB_PERSONALITIES:-}" ] &&
	pers="--env=PIDSHIM_TEST_PERSONALITIES=$PIDSHIM_DEB_PERSONALITIES"
# shellcheck disable=SC2086 # $quick is one word or none
"$here/check-deb-autopkgtest.sh" "$deb" "$apt" $quick ${pers:+"$pers"} > "$res/deb-autopkgtest.log" 2>&1
rc=$?
if [ "$rc" -eq 77 ]; then
	skip=$((skip + 1))
	echo "ok - autopkgtest # SKIP / is no mount point (a chroot): no throwaway overlay possible"
	finish
fi
echo "    autopkgtest exit $rc, log $apt/run/log"
ipass=0 ifail=0 iskip=0
while read -r name result detail; do
	case $name in installed-tests*) ;; *)
		case $result in
		PASS) ok "autopkgtest $name" ;;
		SKIP) skip=$((skip + 1)); echo "ok - autopkgtest $name # SKIP $detail" ;;
		*) no "autopkgtest $name: $result $detail"; sed 's/^/    /' "$apt/run/$name-stdout" 2> /dev/null | tail -20 ;;
		esac
		continue
	esac
	# The selftests these two ran: each binary's counts under artifacts/.
	p=0 f=0 s=0
	for c in "$apt/run/artifacts"/*/*.count; do
		[ -f "$c" ] || continue
		case $name:${c#"$apt/run/artifacts/"} in
		installed-tests:native/*) ;;
		installed-tests-personalities:native/*) continue ;;
		installed-tests-personalities:*) ;;
		*) continue ;;
		esac
		read -r a b e < "$c"
		p=$((p + a)) f=$((f + b)) s=$((s + e))
	done
	[ "$result" != PASS ] && [ "$f" -eq 0 ] && f=1
	echo "    autopkgtest $name: $result; its selftests: $p passed, $f failed, $s skipped"
	[ "$result" = PASS ] || grep '^not ok' "$apt/run/$name-stdout" 2> /dev/null | sed 's/^/    /' | tail -20
	ipass=$((ipass + p)) ifail=$((ifail + f)) iskip=$((iskip + s))
done < "$apt/summary"
[ -s "$apt/summary" ] || { no "autopkgtest ran (exit $rc)"; show "$res/deb-autopkgtest.log"; }
echo "$ipass $ifail $iskip" > "$res/deb-installed-tests.count"
echo "deb-installed-tests: $ipass passed, $ifail failed, $iskip skipped"
step "done"
echo "$pass $fail $skip" > "$res/deb.count"
echo "deb: pass $pass, fail $fail, skip $skip"
[ "$fail" -eq 0 ] && [ "$ifail" -eq 0 ]
