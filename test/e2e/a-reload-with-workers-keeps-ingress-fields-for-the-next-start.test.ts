// With ingress.workers above 1 each worker's Ingress is built at start: a reload applies the
// other live fields and names the ingress ones as waiting for the next start (docs/edge.md).
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { APP_CMD, h1Request, startPillion, tempDir } from './harness.ts';

test('workers: 2, a reload changing ingress.limits and app.config: the limits wait for the next start, the rest applies, requests still served', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'pillion.yaml');
  const config = (n: number): string =>
    [
      'app:',
      `  command: ${JSON.stringify(APP_CMD)}`,
      `  config: { generation: ${n} }`,
      'ingress:',
      '  listen: 127.0.0.1:0',
      '  workers: 2',
      `  limits: { max_body_bytes: ${1 + n}MiB }`,
      '',
    ].join('\n');
  writeFileSync(file, config(0));
  const p = startPillion(['run', '--config', file]);
  t.after(() => p.kill());
  const started = await p.waitForLog((l) => l.msg === 'workers listening', 'workers listening');
  await p.ready();
  writeFileSync(`${file}.tmp`, config(1));
  renameSync(`${file}.tmp`, file);
  const waiting = await p.waitForLog(
    (l) => /apply only at the next start/.test(String(l.msg)),
    'the ingress fields named as waiting',
  );
  assert.deepEqual(waiting.fields, ['ingress.limits.max_body_bytes']);
  const applied = p.lines.find((l) => l.msg === 'config applied');
  assert.deepEqual(applied?.fields, ['app.config']);
  const r = await h1Request(Number(started.port), '/');
  assert.equal(r.status, 200);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
