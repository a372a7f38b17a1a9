#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The `make check` step of the Dockerfile.  PIDSHIM_VALGRIND=0 leaves the
# valgrind suite out (the slowest one; `make docker-test` uses it to stay
# fast), keeping every other target of CHECK_TARGETS as the Makefile lists
# them, so a suite added later is run in the image too.
#
# PIDSHIM_CHECK_TARGETS="check-a check-b" runs only those targets (still
# through `make check`, so its dependencies are installed first): .ci/run
# uses it where the full suite already ran on the host in the same run.
#
#   ci/docker-check.sh          (from the top of the tree; make args follow)
set -eu
if [ -n "${PIDSHIM_CHECK_TARGETS:-}" ]; then
	echo "docker-check: only $PIDSHIM_CHECK_TARGETS"
	exec make check CHECK_TARGETS="$PIDSHIM_CHECK_TARGETS" "$@"
fi
if [ "${PIDSHIM_VALGRIND:-1}" = 0 ]; then
	# Ask make for the list instead of copying it here.
	# shellcheck disable=SC2016 # $(CHECK_TARGETS) is for make, not the shell
	all=$(printf 'docker-check-print:\n\t@echo $(CHECK_TARGETS)\n' |
		make -s --no-print-directory -f Makefile -f - docker-check-print)
	targets=
	for t in $all; do
		case $t in check-valgrind) ;; *) targets="$targets $t" ;; esac
	done
	echo "docker-check: without valgrind:$targets"
	exec make check CHECK_TARGETS="$targets" "$@"
fi
exec make check "$@"
