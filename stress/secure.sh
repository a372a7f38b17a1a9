#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# PIDSHIM_BACKEND must be ignored in setuid and setgid programs (the
# library reads it with secure_getenv).  Makes a plain, a setuid-nobody
# and a setgid-root copy of secure-probe (static) and runs them with
# PIDSHIM_BACKEND naming a backend other than the natural one: the plain
# run must obey it (so the variable is really read), the privileged runs
# must report AT_SECURE=1 and the natural backend.  Needs root (chown,
# setpriv).  usage: secure.sh SECURE_PROBE
set -u
probe=${1:?usage: secure.sh SECURE_PROBE}
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root to make setuid/setgid copies"
	exit 0
fi
natural=$(env -u PIDSHIM_BACKEND "$probe" | sed -n 's/.*backend=//p')
case $natural in
signalfd) force=pidfd ;; # cannot be served: the forced run would say error
*) force=signalfd ;;
esac
# A directory on a filesystem that honours set-id bits, reachable by nobody.
dir=
for base in "${TMPDIR:-/tmp}" /var/tmp "$(dirname "$probe")"; do
	d=$(mktemp -d "$base/pidshim-secure.XXXXXX" 2>/dev/null) || continue
	chmod 755 "$d"
	cp "$probe" "$d/p" && chmod 4755 "$d/p" && chown nobody "$d/p" && chmod 4755 "$d/p"
	if "$d/p" | grep -q '^secure=1'; then
		dir=$d
		break
	fi
	rm -rf "$d"
done
if [ -z "$dir" ]; then
	echo "1..0 # SKIP no filesystem here honours setuid bits (all mounted nosuid)"
	exit 0
fi
trap 'rm -rf "$dir"' EXIT
cp "$probe" "$dir/plain" && chmod 755 "$dir/plain"
cp "$probe" "$dir/sgid" && chown root:root "$dir/sgid" && chmod 2755 "$dir/sgid"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

out=$(as_nobody env PIDSHIM_BACKEND=$force "$dir/plain")
[ "$out" = "secure=0 backend=$force" ] &&
	ok "plain program obeys PIDSHIM_BACKEND=$force ($out)" ||
	nok "plain program obeys PIDSHIM_BACKEND=$force (got: $out)"
out=$(env PIDSHIM_BACKEND=$force "$dir/p")
[ "$out" = "secure=1 backend=$natural" ] &&
	ok "setuid program ignores PIDSHIM_BACKEND=$force ($out)" ||
	nok "setuid program ignores PIDSHIM_BACKEND=$force (got: $out, want secure=1 backend=$natural)"
out=$(as_nobody env PIDSHIM_BACKEND=$force "$dir/sgid")
[ "$out" = "secure=1 backend=$natural" ] &&
	ok "setgid program run by nobody ignores PIDSHIM_BACKEND=$force ($out)" ||
	nok "setgid program run by nobody ignores PIDSHIM_BACKEND=$force (got: $out, want secure=1 backend=$natural)"
out=$(as_nobody env PIDSHIM_BACKEND=bogus "$dir/sgid")
[ "$out" = "secure=1 backend=$natural" ] &&
	ok "setgid program ignores an invalid PIDSHIM_BACKEND ($out)" ||
	nok "setgid program ignores an invalid PIDSHIM_BACKEND (got: $out)"
echo "1..$n"
[ $failed -eq 0 ]
