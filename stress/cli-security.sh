#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The CLI may watch anyone's process but signals only what it started.
# `pidshim wait` run as nobody on a root-owned sentinel (a process that
# counts every signal it receives) must time out with 124 and leave it
# alone, then report its exit with 0 once it ends; `pidshim run` must kill
# only its own child on timeout.  Every sentinel must end with 0 signals.
# usage: cli-security.sh PIDSHIM STRESS_CHILD
set -u
cli=${1:?usage: cli-security.sh PIDSHIM STRESS_CHILD}
child=${2:?usage: cli-security.sh PIDSHIM STRESS_CHILD}
export STRESS_CHILD_NO_FD_CHECK=1
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { if [ "$1" = "$2" ]; then ok "$3 ($1)"; else nok "$3 (got $1, want $2)"; fi; }
now_ms() { date +%s%3N; }

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root to run the CLI as another user"
	exit 0
fi
if ! "$cli" probe 2>/dev/null | grep -q 'backend.*pidfd'; then
	echo "1..0 # SKIP pidshim wait needs a pidfd backend (pidfd_open)"
	exit 0
fi
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'exec 3>&- 4>&-; rm -rf "$tmp"' EXIT
mkfifo "$tmp/s1" "$tmp/s2"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

# Two root-owned sentinels; each exits when its fifo closes, with the
# number of signals it received as its status.
"$child" S < "$tmp/s1" > /dev/null &
s1=$!
exec 3> "$tmp/s1"
"$child" S < "$tmp/s2" > /dev/null 3>&- &
s2=$!
exec 4> "$tmp/s2"
sleep 0.3

t0=$(now_ms)
as_nobody "$cli" wait --timeout 1s "$s1" > /dev/null 2>&1 3>&- 4>&-
rc=$?
t1=$(now_ms)
check $rc 124 "pidshim wait as nobody on a root process times out"
[ $((t1 - t0)) -ge 900 ] && ok "it waited the full second ($((t1 - t0)) ms)" ||
	nok "it returned after $((t1 - t0)) ms, before its timeout"
kill -0 "$s1" 2>/dev/null && ok "the watched process is still alive" ||
	nok "the watched process died"

# A backgrounded function runs in a subshell that keeps the fifo open
# unless that subshell closes it itself.
(
	exec 3>&- 4>&-
	as_nobody "$cli" wait --timeout 20s "$s1" > "$tmp/wait.out" 2>&1
) &
w=$!
sleep 0.3
t0=$(now_ms)
exec 3>&-
wait "$s1"
check $? 0 "the watched sentinel received no signal"
wait "$w"
rc=$?
t1=$(now_ms)
check $rc 0 "pidshim wait reports the exit of another user's process"
sed "s/^/# wait: /" "$tmp/wait.out"
[ $((t1 - t0)) -lt 2000 ] && ok "within $((t1 - t0)) ms of the exit" ||
	nok "only $((t1 - t0)) ms after the exit"

"$cli" run -- "$child" e 7 > /dev/null 2>&1 3>&- 4>&-
check $? 7 "pidshim run passes on the child's exit code"
"$cli" run --timeout 0.3s -- "$child" w > /dev/null 2>&1 3>&- 4>&-
check $? 124 "pidshim run --timeout kills its child (TERM)"
"$cli" run --timeout 0.3s --signal KILL -- "$child" w > /dev/null 2>&1 3>&- 4>&-
check $? 137 "pidshim run --timeout --signal KILL"
"$cli" wait --timeout 1s 4194304 > /dev/null 2>&1 3>&- 4>&-
check $? 1 "pidshim wait on a PID that does not exist"

kill -0 "$s2" 2>/dev/null && ok "the bystander sentinel survived" || nok "the bystander died"
exec 4>&-
wait "$s2"
check $? 0 "the bystander sentinel received no signal"
echo "1..$n"
[ $failed -eq 0 ]
