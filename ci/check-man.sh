#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Lints the man pages: each man/man*/*.[137] page is rendered with
# `man --warnings=all -l` (groff with every warning on) and fails if groff
# or man prints anything on stderr -- unknown macros, bad escapes, tables
# too wide, a .so link to a missing page.  Also checks that every function
# pidshim.h declares has its section 3 page, and that the page's ERRORS
# section names exactly the error codes the header comment of that
# function lists (the header is the authority; "the errors of
# pidshim_wait()" counts as that function's list).
# Writes $BUILD/results/man.count; exits 1 if anything failed.
#   usage: ci/check-man.sh BUILD
set -u
build=${1:?usage: ci/check-man.sh BUILD}
top=$(pwd)
res=$top/$build
case $build in /*) res=$build ;; esac
res=$res/results
mkdir -p "$res"
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
no() { echo "not ok - $1"; fail=$((fail + 1)); }

if ! command -v man >/dev/null || ! command -v groff >/dev/null; then
	no "man and groff are installed (ci/deps.sh check installs man-db and groff)"
	echo "$pass $fail 0" > "$res/man.count"
	exit 1
fi

# From man/ so that ".so man3/x.3" links resolve as they do once installed.
cd man || exit 1
for page in man[137]/*.[137]; do
	[ -e "$page" ] || continue
	err=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=all -l "$page" 2>&1 >/dev/null)
	if [ -z "$err" ]; then
		ok "$page renders without warnings"
	else
		no "$page renders without warnings"
		printf '%s\n' "$err" | head -10 | sed 's/^/    /'
	fi
done
cd "$top" || exit 1

for fn in $(sed -n 's/^PIDSHIM_API[^(]*[ *]\(pidshim_[a-z_]*\)(.*/\1/p' shim/include/pidshim.h); do
	if [ -f "man/man3/$fn.3" ]; then
		ok "$fn has man/man3/$fn.3"
	else
		no "$fn has man/man3/$fn.3"
	fi
done
if [ -f man/man7/pidshim.7 ]; then ok "pidshim(7) exists"; else no "pidshim(7) exists"; fi

# "name|referenced function|E1 E2 ..." for each PIDSHIM_API function, from
# the comment block right above its declaration.
header_errors() {
	awk '
	/\/\*/ { inc = 1; blk = "" }
	inc { blk = blk " " $0 }
	/\*\// { inc = 0; last = blk }
	/^PIDSHIM_API/ {
		name = $0
		sub(/\(.*/, "", name)
		sub(/.*[ *]/, "", name)
		t = last
		gsub(/never returns -E[A-Z0-9]+/, "", t)
		ref = ""
		if (match(t, /errors of[ *]*pidshim_[a-z_]+/)) {
			ref = substr(t, RSTART, RLENGTH)
			sub(/.*[ *]/, "", ref)
		}
		errs = ""
		while (match(t, /-E[A-Z0-9]+/)) {
			errs = errs " " substr(t, RSTART + 1, RLENGTH - 1)
			t = substr(t, RSTART + RLENGTH)
		}
		print name "|" ref "|" errs
		last = ""
	}' shim/include/pidshim.h
}
header_errors > "$res/man-errors.txt"
sorted() { tr ' ' '\n' | sed '/^$/d' | LC_ALL=C sort -u | tr '\n' ' '; }
while IFS='|' read -r fn ref errs; do
	page=man/man3/$fn.3
	[ -f "$page" ] || continue
	# A ".so" page documents its function on the page it points to.
	if head -1 "$page" | grep -q '^\.so '; then
		continue
	fi
	if [ -n "$ref" ]; then
		errs="$errs $(sed -n "s/^$ref|[^|]*|//p" "$res/man-errors.txt")"
	fi
	want=$(printf '%s' "$errs" | sorted)
	got=$(sed -n '/^\.SH ERRORS/,/^\.SH /p' "$page" | grep -o '\\-E[A-Z0-9]*' | sed 's/^\\-//' | sorted)
	if [ "$want" = "$got" ]; then
		ok "$fn(3) ERRORS match pidshim.h: ${want:-none}"
	else
		no "$fn(3) ERRORS match pidshim.h: header '${want}', page '${got}'"
	fi
done < "$res/man-errors.txt"
rm -f "$res/man-errors.txt"

echo "$pass $fail 0" > "$res/man.count"
echo "man: pass $pass, fail $fail"
[ "$fail" -eq 0 ]
