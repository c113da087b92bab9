#!/usr/bin/env bash
# Installs the Debian packages that provide what is missing, as root; otherwise says what to
# install. Usage: apt-need.sh LABEL CMD:PACKAGE... [py:MODULE:PACKAGE...]
# A CMD is looked up on PATH and in /usr/sbin; a py:MODULE is imported with /usr/bin/python3.
set -euo pipefail
label=$1
shift
missing=()
for need in "$@"; do
  IFS=: read -r a b c <<<"$need"
  if [ "$a" = py ]; then
    /usr/bin/python3 -c "import $b" >/dev/null 2>&1 || missing+=("$c")
  else
    command -v "$a" >/dev/null 2>&1 || [ -x "/usr/sbin/$a" ] || missing+=("$b")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "$label: missing ${missing[*]}; install them (apt-get install ${missing[*]}) and rerun" >&2
  exit 1
fi
echo "$label: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
