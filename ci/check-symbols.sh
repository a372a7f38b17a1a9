#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The dynamic symbols libpidshim.so exports must be exactly the global names
# of the version script, all under its version node: nothing leaks by
# accident (-fvisibility=hidden) and nothing listed is missing.
set -eu
so=$1 map=$2 results=${3:-}
exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' |
	grep -v '^PIDSHIM_' | sed 's/@.*//' | sort -u)
listed=$(sed -n '/global:/,/local:/p' "$map" | grep -E '^\s+[a-z_0-9]+;' |
	tr -d ' \t;' | sort -u)
versioned=$(objdump -T "$so" | awk '$NF ~ /^pidshim_/ && $(NF-1) != "PIDSHIM_0.1" {print $NF}')
rc=0
if [ "$exported" != "$listed" ]; then
	echo "check-symbols: exported set differs from $map:" >&2
	diff -u /dev/fd/3 /dev/fd/4 3<<E1 4<<E2 >&2 || true
$listed
E1
$exported
E2
	rc=1
fi
if [ -n "$versioned" ]; then
	echo "check-symbols: not under PIDSHIM_0.1: $versioned" >&2
	rc=1
fi
n=$(echo "$listed" | wc -l)
[ $rc = 0 ] && echo "check-symbols: $n symbols, all versioned PIDSHIM_0.1"
if [ -n "$results" ]; then
	mkdir -p "$results"
	if [ $rc = 0 ]; then echo "1 0 0"; else echo "0 1 0"; fi > "$results/symbols.count"
fi
exit $rc
