#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Prints the URI of the Debian archive this machine's apt already uses, for
# the scripts that fetch from other suites through a private sources list
# (ci/kernel-fetch.sh, `pidshim matrix`) or debootstrap a base system
# (ci/minbase.sh).  The repository names no archive host on purpose: a
# machine behind a local mirror or proxy must fetch from the same place as
# its apt, and one without a Debian archive configured must say which one
# to use rather than silently reach out to some default.
#
# Order: $PIDSHIM_DEBIAN_MIRROR if set; else the first enabled `deb` entry
# of /etc/apt/sources.list.d/*.sources (deb822), /etc/apt/sources.list and
# /etc/apt/sources.list.d/*.list (one-line format) that serves a Debian
# suite (the codename of /etc/os-release, or any Debian codename or alias,
# with -updates or -backports) with the main component; security archives
# are skipped (they carry no kernels and no full suites).  Nothing found:
# a message asking for PIDSHIM_DEBIAN_MIRROR on stderr, exit 1.
#
#   ci/debian-mirror.sh                 prints e.g. http://mirror.example/debian
# Environment: PIDSHIM_DEBIAN_MIRROR, PIDSHIM_SYSCONFDIR (default /etc; the
# tests point it at a fake tree).
set -u

if [ -n "${PIDSHIM_DEBIAN_MIRROR:-}" ]; then
	printf '%s\n' "${PIDSHIM_DEBIAN_MIRROR%/}"
	exit 0
fi
etc=${PIDSHIM_SYSCONFDIR:-/etc}
codename=$(sed -n 's/^VERSION_CODENAME=["]\{0,1\}\([a-z]*\).*/\1/p' "$etc/os-release" 2>/dev/null)
suites="$codename buster bullseye bookworm trixie forky duke sid experimental
	oldoldstable oldstable stable testing unstable"

# One candidate per line: "URI SUITE..." from both formats; comments and
# disabled entries dropped, only binary (deb) entries with component main.
candidates() {
	for f in "$etc"/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk '
		function flush() {
			n = split(uris, u, " ")
			if (types ~ /(^| )deb( |$)/ && enabled !~ /^(no|false)$/ &&
			    comps ~ /(^| )main( |$)/)
				for (i = 1; i <= n; i++) print u[i], suites
			types = uris = suites = comps = enabled = key = ""
		}
		/^#/ { next }
		/^[ \t]*$/ { flush(); next }
		/^[ \t]/ {
			# Continuation of the previous field.
			v = $0; gsub(/^[ \t]+|[ \t]+$/, "", v)
			if (key == "types") types = types " " v
			else if (key == "uris") uris = uris " " v
			else if (key == "suites") suites = suites " " v
			else if (key == "components") comps = comps " " v
			next
		}
		{
			key = tolower($0); sub(/:.*/, "", key)
			v = $0; sub(/^[^:]*:[ \t]*/, "", v); gsub(/[ \t]+$/, "", v)
			if (key == "types") types = v
			else if (key == "uris") uris = v
			else if (key == "suites") suites = v
			else if (key == "components") comps = v
			else if (key == "enabled") enabled = tolower(v)
		}
		END { flush() }' "$f"
	done
	for f in "$etc/apt/sources.list" "$etc"/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		# deb [options] URI SUITE COMPONENT...
		sed -e 's/#.*//' "$f" | awk '
		$1 != "deb" { next }
		{
			line = $0; sub(/^[ \t]*deb[ \t]+/, "", line)
			if (line ~ /^\[/) sub(/^\[[^]]*\][ \t]*/, "", line)
			n = split(line, w, /[ \t]+/)
			main = 0
			for (i = 3; i <= n; i++) if (w[i] == "main") main = 1
			if (n >= 3 && main) print w[1], w[2]
		}'
	done
}

candidates | while read -r uri list; do
	case $uri in
	http://* | https://* | ftp://* | file:/*) ;;
	*) continue ;;
	esac
	for s in $list; do
		case $s in *-security | */*) continue ;; esac
		base=${s%-updates}
		base=${base%-proposed-updates}
		base=${base%-backports-sloppy}
		base=${base%-backports}
		for d in $suites; do
			if [ "$base" = "$d" ]; then
				printf '%s\n' "${uri%/}"
				exit 0
			fi
		done
	done
done | head -n 1 | grep . && exit 0

cat >&2 <<EOF
no Debian archive found in the apt sources of this machine
($etc/apt/sources.list, $etc/apt/sources.list.d/*.list and *.sources).
Set PIDSHIM_DEBIAN_MIRROR to the URI of a Debian archive mirror, e.g.
PIDSHIM_DEBIAN_MIRROR=http://<your mirror>/debian
EOF
exit 1
