#!/usr/bin/env bash
# The whole test suite: test tools, type check, lint, then every test (unit and end-to-end).
# Run through `npm test`, so `node` here is the pinned Node 24 from node_modules/.bin.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-deps.sh
echo "== tsc --noEmit"
tsc --noEmit -p .
tsc --noEmit -p src/dashboard/client
echo "== biome check"
biome check .
echo "== node --test"
node --test --test-concurrency=4 --test-timeout=120000 'src/**/*.test.ts' 'test/**/*.test.ts'
