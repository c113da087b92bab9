#!/usr/bin/env bash
# npm run test:image: builds Pillion's image and runs it as a sidecar in a podman pod
# (test/image/). Minutes, not seconds: it is kept out of `npm test`, and .ci/run runs it after.
# It never skips: whatever it cannot do (no root to install podman, no Debian mirror) fails
# with the reason. Cold (no base image): the base takes ~3 min; after that it is cached by name.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
fail() { echo "test:image: FAILED: $*" >&2; exit 1; }

# What runs the containers here (CONTAINERS.md): podman with runc (crun refuses this machine's
# hybrid cgroups), catatonit for the pod's infra container, debootstrap for a base image.
need=()
for tool in podman:podman runc:runc catatonit:/usr/libexec/podman/catatonit debootstrap:debootstrap; do
  pkg=${tool%%:*} bin=${tool#*:}
  command -v "$bin" >/dev/null 2>&1 || [ -x "$bin" ] || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || fail "needs ${need[*]} installed (apt-get install -y ${need[*]}), and is not root"
  echo "== apt-get install ${need[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"; } >/dev/null ||
    fail "apt-get install ${need[*]} failed"
fi
[ "$(id -u)" = 0 ] || fail "runs podman as root (rootless podman needs subuids this machine does not give)"

# Raising rlimits is not permitted here, so every container gets explicit lower ones; runc.
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
cat >"$conf" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF=$conf

BASE=${BASE:-localhost/debian-min:bookworm}
if ! podman image exists "$BASE"; then
  echo "== building the base image $BASE with debootstrap (about 3 minutes, once)"
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
  rootfs=$(mktemp -d)
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null ||
    { rm -rf "$rootfs"; fail "debootstrap bookworm from $mirror failed"; }
  tar -C "$rootfs" -c . | podman import - "$BASE" >/dev/null || { rm -rf "$rootfs"; fail "podman import failed"; }
  rm -rf "$rootfs"
fi
echo "== base ready after $(($(date +%s) - start)) s"

IMAGE=${IMAGE:-localhost/pillion:test}
echo "== building $IMAGE"
log=$(mktemp)
BASE=$BASE IMAGE=$IMAGE bash scripts/image-build.sh >"$log" 2>&1 ||
  { tail -40 "$log" >&2; rm -f "$log"; fail "the image did not build"; }
tail -1 "$log"
rm -f "$log"
echo "== image built after $(($(date +%s) - start)) s"

shopt -s nullglob
tests=(test/image/*.image.ts)
[ ${#tests[@]} -gt 0 ] || fail "no test/image/*.image.ts to run"
IMAGE=$IMAGE node --test --test-concurrency=1 --test-timeout=600000 "${tests[@]}"
echo "== test:image passed in $(($(date +%s) - start)) s"
