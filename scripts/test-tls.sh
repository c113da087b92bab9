#!/usr/bin/env bash
# The TLS scan (`npm run test:tls`, minutes, so apart from `npm test`): Debian's testssl.sh and
# sslscan against a real `pillion run` with an RSA and with an ECDSA certificate. Fails on any
# finding docs/tls.md says the default policy must not have.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/apt-need.sh test-tls testssl:testssl.sh sslscan:sslscan openssl:openssl
exec node scripts/test-tls.ts "$@"
