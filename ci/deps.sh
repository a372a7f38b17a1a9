#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the Debian packages a step needs, only those that are missing.
#   ci/deps.sh build   what `make` needs (compiler, libseccomp for the CLI)
#   ci/deps.sh check   what `make check` needs (every list in ci/deps/)
# Each area keeps its own list in ci/deps/<area>.list (one package a line,
# '#' comments).  Without root, missing packages are reported, not installed.
set -eu
mode=${1:-check}
here=$(cd "$(dirname "$0")" && pwd)
case $mode in
build) lists="$here/deps/build.list" ;;
check | all) lists=$(ls "$here"/deps/*.list) ;;
*) echo "usage: $0 build|check" >&2; exit 2 ;;
esac
want=$(cat $lists | sed -e 's/#.*//' | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)
missing=
for p in $want; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case $s in *" installed") ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing Debian packages (run as root to install):$missing" >&2
	exit 0
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
