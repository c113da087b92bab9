#!/usr/bin/env bash
# B9: every fuzz target in test/fuzz for a while each (default 600 s; `npm run fuzz -- 60`),
# from a fresh seed, one after another. Prints each target's figures (runs, crashes) as JSON
# lines, also kept in fuzz-report.jsonl, for docs/fuzzing.md. Run through `npm run fuzz`, so
# `node` here is the pinned Node 24 from node_modules/.bin.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
report="${PILLION_FUZZ_REPORT:-$PWD/fuzz-report.jsonl}"
: >"$report"
status=0
for f in test/fuzz/*.test.ts; do
  echo "== $f (${seconds} s per property)"
  PILLION_FUZZ_SECONDS="$seconds" PILLION_FUZZ_REPORT="$report" node --test "$f" || status=1
done
cat "$report"
exit "$status"
