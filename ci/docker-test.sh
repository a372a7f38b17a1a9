#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `make docker-test`: proves the distro-QA Dockerfile on this machine
# without any container registry.  The base image debian:bookworm is made
# locally with `debootstrap --variant=minbase` (ci/minbase.sh, tarball
# cached) and `podman import`ed as localhost/debian:bookworm, which is
# what the Dockerfile's short FROM name resolves to first, then the
# image is built with `podman build --isolation=chroot --pull=never` (which
# runs `make check` inside) and its default command (`pidshim probe --tap`
# plus the selftests under every personality on this kernel) is run with
# `podman run`.  Where `podman run` cannot start a container (no usable
# OCI runtime or cgroups in a sandbox), the default command is run as a
# build step of a derived image instead, and the output says so.
#
# Environment: BUILD (default build), PIDSHIM_DOCKER_QUICK (1, default:
# build with PIDSHIM_TEST_QUICK=1 and without valgrind), PIDSHIM_CHECK_TARGETS
# (only these check targets in the build, see ci/docker-check.sh),
# PIDSHIM_QA_PERSONALITIES (the default command with only these
# personalities), PIDSHIM_DEBIAN_MIRROR (see ci/debian-mirror.sh).
# Writes $BUILD/results/docker.count (the default command's counts) and
# $BUILD/docker/*.log.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BUILD=${BUILD:-build}
mkdir -p "$BUILD/results" "$BUILD/docker"
res=$(cd "$BUILD/results" && pwd)
logs=$(cd "$BUILD/docker" && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/pidshim/docker
base=localhost/debian:bookworm
image=localhost/pidshim-qa:latest
quick=${PIDSHIM_DOCKER_QUICK:-1}
t0=$(date +%s)
rm -f "$res/docker.count"

fail() {
	echo "docker-test: $*" >&2
	echo "0 1 0" > "$res/docker.count"
	exit 1
}

# --- the base image ---------------------------------------------------------
if podman image exists "$base"; then
	echo "docker-test: using the existing $base"
else
	tarball=$("$here/minbase.sh" "$logs") || fail "no minimal Debian base (ci/minbase.sh)"
	echo "docker-test: podman import $tarball as $base"
	podman import --change 'CMD ["/bin/bash"]' "$tarball" "$base" > "$logs/import.log" 2>&1 ||
		fail "podman import failed"
fi

# --- the README's quick start is what the image runs -------------------------
# The Dockerfile builds on a minimal Debian 12 with the README's commands,
# in its order: .ci/run relies on that instead of a second chroot
# (make readme-minimal).  Each step of each ```sh line of the Quick start
# section ("a && b": a, then b) must start a RUN of the Dockerfile, in the
# README's order; make check runs as ci/docker-check.sh.
awk '
/^## / { inqs = ($0 ~ /^## Quick start/) }
inqs && /^```sh$/ { inblock = 1; next }
inblock && /^```$/ { inblock = 0; next }
inblock { print }' "$top/README.md" | sed 's/ && /\n/g' > "$logs/readme-commands"
[ -s "$logs/readme-commands" ] || fail "no commands in the README's Quick start"
last=0
while IFS= read -r cmd; do
	[ "$cmd" = "make check" ] && cmd=ci/docker-check.sh
	# The first line at or after the previous step that runs this one.
	n=$(awk -v c="$cmd" -v from="$last" '
		NR >= from && /^RUN / { run = 1 }
		NR >= from && run && index($0, c) { print NR; exit }
		!/\\$/ { run = 0 }' "$top/Dockerfile")
	[ -n "$n" ] || fail "the Dockerfile does not run the README's \"$cmd\" (after line $last)"
	last=$n
done < "$logs/readme-commands"
echo "docker-test: the Dockerfile runs the README's quick start: $(tr '\n' ';' < "$logs/readme-commands")"

# --- the image (runs make check) --------------------------------------------
if [ "$quick" = 1 ]; then
	args="--build-arg PIDSHIM_TEST_QUICK=1 --build-arg PIDSHIM_VALGRIND=0"
else
	args="--build-arg PIDSHIM_TEST_QUICK=0 --build-arg PIDSHIM_VALGRIND=1"
fi
set --
[ -n "${PIDSHIM_CHECK_TARGETS:-}" ] &&
	set -- --build-arg "PIDSHIM_CHECK_TARGETS=$PIDSHIM_CHECK_TARGETS"
qa_args=${PIDSHIM_QA_PERSONALITIES:-}
echo "docker-test: podman build --isolation=chroot --pull=never (make check inside)"
tb=$(date +%s)
# The .debs the image installs are kept in the cache between builds: a
# changed package list re-runs the install layer, not the downloads.
mkdir -p "$cache/apt-archives/partial"
# shellcheck disable=SC2086
if ! podman build --isolation=chroot --pull=never $args "$@" -t "$image" -f "$top/Dockerfile" \
	--volume "$cache/apt-archives:/var/cache/apt/archives" \
	"$top" > "$logs/build.log" 2>&1; then
	tail -n 40 "$logs/build.log" >&2
	# make check failing inside the build is the usual cause: keep its
	# real counts rather than one anonymous failure.
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logs/build.log" | tail -n 1 || true)
	if [ -n "$line" ]; then
		echo "docker-test: make check in the build: $line" >&2
		echo "$line" | sed 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped.*/\1 \2 \3/' \
			> "$res/docker.count"
		exit 1
	fi
	fail "podman build failed, see $logs/build.log"
fi
echo "docker-test: image built in $(($(date +%s) - tb))s"
# The build's own make check line, for the record.
grep -E '^[0-9]+ passed, [0-9]+ failed' "$logs/build.log" | tail -n 1 |
	sed 's/^/docker-test: make check in the build: /'

# --- the default command (distro QA on this kernel) -------------------------
tr0=$(date +%s)
how="podman run"
qa_quick=0
[ "$quick" = 1 ] && qa_quick=1
# shellcheck disable=SC2086 # personality names have no blanks
if ! podman run --rm --security-opt seccomp=unconfined -e PIDSHIM_TEST_QUICK=$qa_quick \
	--name pidshim-qa-$$ "$image" ci/kernel-qa.sh $qa_args > "$logs/run.log" 2>&1; then
	# A QA run that ran and counted failures is a real result; one that
	# never started is a sandbox limit, not a pidshim failure.
	if ! grep -qE '^[0-9]+ passed, [0-9]+ failed' "$logs/run.log"; then
		echo "docker-test: podman run could not start a container here:" >&2
		tail -n 5 "$logs/run.log" >&2
		echo "docker-test: running the image's default command as a build step instead" >&2
		how="a build step (podman run does not work here)"
		ctx=$(mktemp -d)
		printf 'FROM %s\nRUN ["/bin/sh", "-c", "PIDSHIM_TEST_QUICK=%s ci/kernel-qa.sh %s; echo qa-exit=$?"]\n' \
			"$image" "$qa_quick" "$qa_args" > "$ctx/Containerfile"
		podman build --isolation=chroot --pull=never --no-cache -t localhost/pidshim-qa-run \
			"$ctx" > "$logs/run.log" 2>&1 || true
		rm -rf "$ctx"
		podman rmi localhost/pidshim-qa-run > /dev/null 2>&1 || true
	fi
fi
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logs/run.log" | tail -n 1 || true)
[ -n "$line" ] || { tail -n 30 "$logs/run.log" >&2; fail "the default command printed no summary, see $logs/run.log"; }
sed -n '/^release /,/^$/p' "$logs/run.log"
p=$(echo "$line" | sed 's/^\([0-9]*\) passed.*/\1/')
f=$(echo "$line" | sed 's/.* \([0-9]*\) failed.*/\1/')
s=$(echo "$line" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
echo "$p $f ${s:-0}" > "$res/docker.count"
echo "docker-test: default command via $how in $(($(date +%s) - tr0))s: $line"
echo "docker-test: total $(($(date +%s) - t0))s"
[ "$f" -eq 0 ]
