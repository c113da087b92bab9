#!/usr/bin/env bash
# Installs the load tools and the peer proxies `npm run bench` measures against, when missing.
set -euo pipefail
declare -A NEED=([wrk]=wrk [h2load]=nghttp2-client [nginx]=nginx-light [haproxy]=haproxy)
missing=()
for cmd in "${!NEED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${NEED[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "bench-deps: missing ${missing[*]}; install them (apt-get install ${missing[*]}) and rerun" >&2
  exit 1
fi
echo "bench-deps: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
