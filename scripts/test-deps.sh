#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real, when any is missing.
# Runs as root (CI, the dev machines); prints what it would need otherwise.
set -euo pipefail
# command → package
declare -A NEED=(
  [python3]=python3
  [curl]=curl
  [openssl]=openssl
  [tini]=tini
)
# Python modules the tests import with /usr/bin/python3: module → package.
declare -A PY_NEED=(
  [h2]=python3-h2
)
missing=()
for cmd in "${!NEED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEED[$cmd]}")
done
for mod in "${!PY_NEED[@]}"; do
  /usr/bin/python3 -c "import $mod" >/dev/null 2>&1 || missing+=("${PY_NEED[$mod]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "test-deps: missing ${missing[*]}; install them (apt-get install ${missing[*]}) and rerun" >&2
  exit 1
fi
echo "test-deps: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
