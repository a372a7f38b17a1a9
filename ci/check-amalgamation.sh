#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Checks the drop-in distribution the way a downstream project uses it:
# pidshim.c and pidshim.h copied alone into an empty directory, compiled
# with one plain `cc -c` (gcc and clang), then examples/api-tour.c (every
# call, each result checked) and examples/epoll.c (100 children through
# an epoll loop) linked against that object only and run on every backend
# and, when the CLI is built, under the 4.19 kernel personality.
# Writes $BUILD/results/amalgamation.count; exits 1 if anything failed.
# It must also build under -Wall -Wextra -Werror and define no global
# symbol outside pidshim_ (a vendoring project must not clash with us).
#   usage: ci/check-amalgamation.sh BUILD
set -u
build=${1:?usage: ci/check-amalgamation.sh BUILD}
amalg=$build/amalgamation
mkdir -p "$build/results"
res=$(cd "$build/results" && pwd) # absolute: the checks run in a scratch dir
pass=0 fail=0 skip=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
no() { echo "not ok - $1"; fail=$((fail + 1)); }
finish() {
	echo "$pass $fail $skip" > "$res/amalgamation.count"
	echo "amalgamation: pass $pass, fail $fail, skip $skip"
	[ "$fail" -eq 0 ]
	exit
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -f "$amalg/pidshim.c" ] && [ -f "$amalg/pidshim.h" ]; then
	ok "make amalgamation wrote pidshim.c and pidshim.h"
else
	no "make amalgamation wrote pidshim.c and pidshim.h"
	finish
fi
cp "$amalg/pidshim.c" "$amalg/pidshim.h" "$work/"
cp examples/api-tour.c examples/epoll.c examples/children.h "$work/"
cd "$work" || exit 1

if grep -q '^#[ \t]*include[ \t]*"' pidshim.c && [ "$(grep -c '^#[ \t]*include[ \t]*"' pidshim.c)" -ne 1 ]; then
	no "pidshim.c includes nothing of the tree but pidshim.h"
	grep -n '^#[ \t]*include[ \t]*"' pidshim.c | sed 's/^/    /'
else
	ok "pidshim.c includes nothing of the tree but pidshim.h"
fi

for c in gcc clang; do
	if ! command -v $c >/dev/null; then
		no "$c -c pidshim.c ($c not installed: ci/deps.sh check installs it)"
		continue
	fi
	if $c -O2 -c -o "pidshim-$c.o" pidshim.c; then
		ok "$c -O2 -c pidshim.c"
	else
		no "$c -O2 -c pidshim.c"
	fi
	if $c -O2 -Wall -Wextra -Werror -c -o /dev/null pidshim.c 2> strict.log; then
		ok "$c -Wall -Wextra -Werror -c pidshim.c"
	else
		no "$c -Wall -Wextra -Werror -c pidshim.c"
		grep -E 'error|warning' strict.log | head -5 | sed 's/^/    /'
	fi
done
[ -f pidshim-gcc.o ] || finish

extra=$(nm pidshim-gcc.o | awk '$2 ~ /^[TDBRCV]$/ && $3 !~ /^pidshim_/ { print $3 }' | tr '\n' ' ')
if [ -z "$extra" ]; then
	ok "the amalgamation defines no global symbol outside pidshim_"
else
	no "global symbols outside the pidshim_ namespace (a vendoring program defining one of these fails to link): $extra"
fi

# Consumers built from the amalgamation alone (-I. finds pidshim.h).
for p in api-tour epoll; do
	if cc -O2 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -I. -o "$p" "$p.c" pidshim-gcc.o -pthread; then
		ok "build $p from the amalgamation"
	else
		no "build $p from the amalgamation"
	fi
done

run() { # name expected-backend command...
	name=$1 want=$2
	shift 2
	out=$(timeout 120 "$@" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && ! printf '%s\n' "$out" | grep -q ": backend $want\$"; then
		no "$name (the personality should select backend $want)"
		printf '%s\n' "$out" | grep backend | sed 's/^/    /'
	elif [ "$rc" -eq 0 ]; then
		ok "$name"
	elif [ "$rc" -eq 77 ]; then
		echo "ok - $name # SKIP $(printf '%s\n' "$out" | sed -n 's/.*SKIP: //p' | head -1)"
		skip=$((skip + 1))
	else
		no "$name (rc $rc)"
		printf '%s\n' "$out" | grep -v '^ok' | tail -15 | sed 's/^/    /'
	fi
}

cli=$OLDPWD/$build/pidshim
case $build in /*) cli=$build/pidshim ;; esac
for p in api-tour epoll; do
	[ -x "$p" ] || continue
	for b in pidfd pidfd-poll signalfd; do
		run "$p from the amalgamation, backend $b" $b env PIDSHIM_BACKEND=$b "./$p"
	done
	if [ -x "$cli" ]; then
		run "$p from the amalgamation, emulate 4.19" signalfd env -u PIDSHIM_BACKEND "$cli" emulate 4.19 -- "./$p"
	else
		echo "ok - $p from the amalgamation, emulate 4.19 # SKIP $cli not built (the CLI provides 'pidshim emulate')"
		skip=$((skip + 1))
	fi
done
finish
