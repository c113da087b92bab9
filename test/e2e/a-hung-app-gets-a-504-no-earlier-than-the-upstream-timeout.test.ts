// R5 through the real CLI: an app that stops answering gets its requests a 504, never before
// `upstream_timeout` (here 1 s). How close to it the 504 comes is a timing figure, measured in
// bench/upstream-timeout.ts, not asserted here.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { APP_CMD, h1Request, startPillion, tempDir } from './harness.ts';

test('a request the app never answers gets a 504 no earlier than upstream_timeout', async (t) => {
  const dir = tempDir();
  const cfg = join(dir, 'pillion.yaml');
  writeFileSync(
    cfg,
    [
      'app:',
      `  command: ${JSON.stringify(APP_CMD)}`,
      'ingress:',
      '  listen: 127.0.0.1:0',
      '  limits:',
      '    upstream_timeout: 1s',
      '',
    ].join('\n'),
  );
  const p = startPillion(['run', '--config', cfg], { bin: true });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const r = await h1Request(port, `/slow?ms=30000&i=${i}`);
    const elapsed = performance.now() - t0;
    assert.equal(r.status, 504, r.body);
    assert.ok(elapsed >= 1000, `the 504 came after ${elapsed} ms, before the 1 s timeout`);
  }
  // The app is still served after the timeouts.
  assert.equal((await h1Request(port, '/')).status, 200);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
  const lines = p.lines.filter((l) => l.source === 'access' && l.status === 504);
  assert.equal(lines.length, 3);
  for (const l of lines) assert.ok(Number(l.duration_ms) >= 1000, JSON.stringify(l));
});
