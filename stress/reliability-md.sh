#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Formats the figures of the last stress run (RESULTS/reliability.txt and,
# if `make fuzz` ran, RESULTS/reliability-fuzz.txt) as the Markdown of the
# README's "Reliability" section, so the numbers there are always copied
# from a real run.  usage: reliability-md.sh RESULTS_DIR
set -u
res=${1:?usage: reliability-md.sh RESULTS_DIR}
f=$res/reliability.txt
[ -s "$f" ] || { echo "reliability-md.sh: no $f (run make stress)" >&2; exit 1; }
get() { # sum of key=value over the lines that have it
	sed -n "s/.*[ ^]$1=\([-0-9]*\).*/\1/p; s/^$1=\([-0-9]*\).*/\1/p" "$f" |
		awk '{ s += $1 } END { print s + 0 }'
}
mode=$(sed -n 's/^mode=\([a-z]*\).*/\1/p' "$f")
pers=$(sed -n 's/.*personality=\([^ ]*\).*/\1/p' "$f")
secs=$(sed -n 's/^mode=.* seconds=\([0-9]*\).*/\1/p' "$f")
reused=$(sed -n 's/.*: \([0-9]*\) PIDs reused.*/\1/p' "$f" | awk '{ s += $1 } END { print s + 0 }')
faults=$(( $(get enomem_injected) + $(get emfile_attempts) + $(get eintr_signals) ))
echo "## Reliability"
echo
echo "Figures of the last \`make stress\` run ($mode, personality $pers, ${secs} s on"
echo "$(nproc) cores, kernel $(uname -r)); see stress/ and \`make stress\`, \`make fuzz\`."
echo
echo "| what | figure |"
echo "|---|---|"
sed -n 's/^backend=\([^ ]*\) cycles=\([0-9]*\).*seconds=\([0-9.]*\).*/| spawn\/wait cycles, \1 backend | \2 (\3 s, 4 threads) |/p' "$f"
echo "| statuses checked | $(get statuses) |"
echo "| status errors | $(get errors) |"
echo "| zombies left | $(get zombies) |"
echo "| children lost or left | $(get children_left) |"
echo "| fd growth | $(get fd_growth) |"
echo "| RSS growth (KiB, max of backends) | $(sed -n 's/.*rss_growth_kib=\([-0-9]*\).*/\1/p' "$f" | sort -n | tail -1) |"
echo "| signals sent through handles | $(get signals_sent) + $(get racer_calls) racing |"
misdir=$(sed -n 's/.* \([0-9]*\) signals misdirected.*/\1/p' "$f" | awk '{ s += $1 } END { print s + 0 }')
echo "| misdirected signals, stress (sentinels hit) | $(get misdirected) of $(get sentinels) sentinels |"
echo "| PIDs forced into reuse (ns_last_pid) | $reused |"
echo "| misdirected signals, PID-reuse torture | $misdir |"
sed -n 's/^pidreuse: not ok [0-9]* - \([^:]*\): \(.*\): [0-9]* PIDs reused.*/| torture failure, \1 backend | \2 |/p' "$f"
echo "| faults injected (ENOMEM + EMFILE + EINTR) | $faults ($(get enomem_injected) + $(get emfile_attempts) + $(get eintr_signals)) |"
if [ -s "$res/reliability-fuzz.txt" ]; then
	sed -n 's/^fuzz-\([a-z-]*\) executions=\([0-9]*\) seconds=\([0-9]*\)/| fuzz executions, \1 | \2 in \3 s |/p' \
		"$res/reliability-fuzz.txt" | grep -v '^| fuzz executions, total'
	echo "| fuzz executions, total | $(sed -n 's/^fuzz-total executions=//p' "$res/reliability-fuzz.txt") |"
fi
