// B7 with an independent client: Debian's python3-h2 (validation off) sends what RFC 9113 §8
// forbids; Pillion refuses each, and only the good request reaches the app.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Edge, startEdge } from './edge-harness.ts';

const PY = '/usr/bin/python3';
const PROBE = fileURLToPath(new URL('./h2_probe.py', import.meta.url));

let edge: Edge;
before(async () => {
  edge = await startEdge();
});
after(() => edge.stop());

test('python3-h2 sending malformed requests: each refused, only the good one reaches the app', async () => {
  assert.ok(existsSync(PY), 'python3 (with python3-h2) is installed by scripts/test-deps.sh');
  edge.spy.reset();
  const { stdout } = await promisify(execFile)(PY, [PROBE, String(edge.port)], {
    timeout: 60_000,
  });
  const results = stdout
    .trim()
    .split('\n')
    .map(
      (l) =>
        JSON.parse(l) as {
          case: string;
          status?: number;
          reset?: number;
          goaway?: number;
          closed?: boolean;
        },
    );
  assert.equal(results.length, 7);
  for (const r of results) {
    if (r.case === 'good') assert.equal(r.status, 200);
    else
      assert.ok(
        r.reset !== undefined ||
          r.goaway !== undefined ||
          r.closed === true ||
          (r.status !== undefined && r.status >= 400 && r.status < 500),
        JSON.stringify(r),
      );
  }
  await edge.spy.quiet();
  assert.deepEqual(
    edge.spy.requests.map((q) => [q.method, q.target, q.violations.length]),
    [['GET', '/py', 0]],
  );
});
