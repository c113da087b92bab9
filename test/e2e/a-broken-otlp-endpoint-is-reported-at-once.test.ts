import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort } from './chaos.ts';
import { APP_CMD, startPillion } from './harness.ts';

test('a broken OTLP endpoint is said while Pillion runs, counted, and its credentials are not logged', async (t) => {
  const closed = await freePort(); // nothing listens there
  const p = startPillion(
    [
      'run',
      '--listen',
      '127.0.0.1:0',
      '--log-otlp-endpoint',
      `http://collector:S3CRET-PW@127.0.0.1:${closed}/v1/logs?key=S3CRET-Q`,
      '--',
      ...APP_CMD,
    ],
    { bin: true },
  );
  t.after(() => p.kill());
  await p.ready();
  const warn = await p.waitForLog(
    (l) => l.msg.startsWith('OTLP export failing'),
    'the OTLP failure line',
  );
  assert.equal(warn.level, 'warn');
  assert.equal(warn.reason, 'ECONNREFUSED');
  assert.equal(warn.endpoint, `http://127.0.0.1:${closed}/v1/logs`);
  assert.ok(Number(warn.export_failures) >= 1);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
  // Still counted at the end: the closing summary has the OTLP drops.
  const closing = p.lines.find((l) => l.msg === 'logs closing');
  const dropped = (closing?.pillion_log_lines_dropped_total as Record<string, number> | undefined)
    ?.otlp;
  assert.ok((dropped ?? 0) > 0, JSON.stringify(closing));
  const all = p.lines.map((l) => JSON.stringify(l)).join('\n') + p.stderr();
  assert.ok(!all.includes('S3CRET'));
});
