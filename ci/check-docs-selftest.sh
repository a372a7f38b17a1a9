#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Proves that the documentation checker (ci/check-docs.py) can fail: it is
# run on fixtures (ci/check-docs-fixture.md and .3) whose blocks each carry
# the verdict they must get on the line above them ("expect: pass|fail|
# skip"): good programs, fragments and shell sessions, and the mistakes
# the checker exists for (a missing #include as in the README of ef2b64f,
# an undeclared variable, a warning, a non-zero exit, a hang, a wrong exit
# status of a CLI command, unsafe commands).  One test per fixture block,
# plus the checker's exit status and count file.  Suite "docs-selftest".
#   usage: ci/check-docs-selftest.sh BUILD [CC...]
set -u
build=${1:?usage: ci/check-docs-selftest.sh BUILD [CC...]}
shift
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"
tap_init docs-selftest "$build"
ccs=
for cc in "$@"; do ccs="$ccs --cc $cc"; done
out=$tap_res/docs-selftest
mkdir -p "$out"

for fixture in ci/check-docs-fixture.md ci/check-docs-fixture.3; do
	# shellcheck disable=SC2086
	ci/check-docs.py --build "$build" $ccs --timeout 2 --results "$out" "$fixture" \
		> "$out/log" 2>&1
	rc=$?
	grep -E '^(not )?ok [0-9]+ - ' "$out/log" > "$out/tap"
	case $fixture in *.md)
		if grep -q "^# not checked.*$fixture:[0-9]* (json)" "$out/log"; then
			ok "$fixture: a json block is listed as not checked, not counted"
		else
			no "$fixture: a json block is listed as not checked, not counted"
		fi
	esac
	want=$(grep -c 'expect: [a-z]*' "$fixture")
	got=$(wc -l < "$out/tap")
	if [ "$got" -eq "$want" ]; then
		ok "$fixture: the checker finds all $want blocks"
	else
		no "$fixture: the checker finds all $want blocks (found $got)"
		show "$out/log"
	fi
	while IFS= read -r line; do
		at=$(printf '%s\n' "$line" | sed -n "s|^[a-z ]*[0-9]* - $fixture:\([0-9]*\):.*|\1|p")
		case $line in
		"not ok"*) verdict=fail ;;
		*"# SKIP"*) verdict=skip ;;
		*) verdict=pass ;;
		esac
		expect=$(sed -n "$((at - 1))s/.*expect: \([a-z]*\).*/\1/p" "$fixture")
		if [ "$verdict" = "$expect" ]; then
			ok "$fixture:$at: $expect"
		else
			no "$fixture:$at: expected $expect, got $verdict: $line"
			grep -A12 -F "$line" "$out/log" | sed -n '2,13p' | sed 's/^/    /'
		fi
	done < "$out/tap"
	# The count file says what the TAP lines say, and failures fail the run.
	s=$(grep -c '^ok .*# SKIP' "$out/tap")
	p=$(($(grep -c '^ok ' "$out/tap") - s))
	f=$(grep -c '^not ok' "$out/tap")
	read -r cp cf cs < "$out/docs.count"
	if [ "$cp $cf $cs" = "$p $f $s" ]; then
		ok "$fixture: docs.count says $p $f $s, as the TAP lines"
	else
		no "$fixture: docs.count says $cp $cf $cs, the TAP lines $p $f $s"
	fi
	if [ "$f" -gt 0 ] && [ "$rc" -ne 0 ]; then
		ok "$fixture: the checker exits non-zero on a failed block"
	else
		no "$fixture: the checker exits non-zero on a failed block (exit $rc, $f failed)"
	fi
done
finish
