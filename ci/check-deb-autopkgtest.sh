#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs the autopkgtests of debian/tests with autopkgtest's null runner
# against the packages `make deb` built, installed into a throwaway
# overlay instead of the machine: in a private mount namespace
# (unshare --mount), /usr, /etc and /var become overlayfs mounts whose
# upper layers live on a tmpfs, so apt and dpkg install the packages (and
# any test dependency the machine lacks) there only.  When autopkgtest
# exits, the namespace and its tmpfs go away with everything installed:
# the machine's package state never changes, nothing can come to depend
# on the test packages, and no other process on the machine (other builds
# on a shared host, later suites of `make check`) ever sees a libpidshim
# in /usr.  The output directory is bind-mounted back over the overlay, so
# results land on the real disk wherever it is.
#
#   ci/check-deb-autopkgtest.sh DEBDIR OUTDIR [AUTOPKGTEST OPTIONS...]
# DEBDIR holds the .dsc and the .debs; OUTDIR gets autopkgtest's output
# (log, summary, artifacts).  Needs root (mount namespaces, overlayfs).
# Exit status: autopkgtest's (0 all passed, 2 some skipped, 4 failed, ...);
# 77 when / is no mount point (a chroot): no private mount namespace can
# be made there, and mounts made without one would reach the host.
set -eu
debdir=${1:?usage: check-deb-autopkgtest.sh DEBDIR OUTDIR [OPTIONS...]}
out=${2:?usage: check-deb-autopkgtest.sh DEBDIR OUTDIR [OPTIONS...]}
shift 2

if [ -z "${PIDSHIM_OVERLAY:-}" ]; then
	if ! mountpoint -q /; then
		echo "check-deb-autopkgtest: / is no mount point (a chroot?): no private mount namespace" >&2
		exit 77
	fi
	debdir=$(cd "$debdir" && pwd)
	rm -rf "$out"
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	mnt=$(mktemp -d "${TMPDIR:-/tmp}/pidshim-overlay.XXXXXX")
	rc=0
	PIDSHIM_OVERLAY=$mnt unshare --mount --propagation private "$0" "$debdir" "$out" "$@" || rc=$?
	rmdir "$mnt"
	exit "$rc"
fi

# In the private namespace: the overlays, then autopkgtest.
mnt=$PIDSHIM_OVERLAY
mount -t tmpfs -o mode=0700 pidshim-overlay "$mnt"
mkdir "$mnt/out"
mount --bind "$out" "$mnt/out"
for d in usr etc var; do
	mkdir "$mnt/$d.upper" "$mnt/$d.work"
	mount -t overlay overlay -o "lowerdir=/$d,upperdir=$mnt/$d.upper,workdir=$mnt/$d.work" "/$d"
done
mount --bind "$mnt/out" "$out"
# Inside the overlay only: man-db's trigger rebuilds its whole index after
# every install of a package with man pages, seconds each time for nothing.
rm -f /var/lib/man-db/auto-update

set -- "$@" --output-dir "$out/run" --summary-file "$out/summary"
for deb in "$debdir"/*.deb; do
	case $deb in *-dbgsym_*) ;; *) set -- "$@" "$deb" ;; esac
done
exec autopkgtest "$@" "$debdir"/*.dsc -- null
