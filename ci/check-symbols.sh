#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The dynamic symbols libpidshim.so exports must be exactly the global names
# of the version script, each under the version node that lists it: nothing
# leaks by accident (-fvisibility=hidden), nothing listed is missing, and a
# name added later never slips into an older node.
set -eu
so=$1 map=$2 results=${3:-}
exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' |
	grep -v '^PIDSHIM_' | sed 's/@.*//' | sort -u)
# "name node" for every global name of the map.
want=$(awk '/^[A-Z_0-9.]+ *\{/ {node = $1} /^[ \t]+[a-z_0-9]+;/ {gsub(/[ \t;]/, ""); print $0, node}' \
	"$map" | sort -u)
listed=$(echo "$want" | cut -d' ' -f1 | sort -u)
have=$(objdump -T "$so" | awk '$NF ~ /^pidshim_/ {print $NF, $(NF-1)}' | sort -u)
versioned=$(echo "$have" | grep -vxF "$want" || true)
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
	echo "check-symbols: under another version node than the map says: $versioned" >&2
	rc=1
fi
n=$(echo "$listed" | wc -l)
[ $rc = 0 ] && echo "check-symbols: $n symbols, each under its node of $map"
if [ -n "$results" ]; then
	mkdir -p "$results"
	if [ $rc = 0 ]; then echo "1 0 0"; else echo "0 1 0"; fi > "$results/symbols.count"
fi
exit $rc
