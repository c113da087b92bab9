import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APP_CMD, startPillion } from './harness.ts';

test('workers share a port only among themselves: a second Pillion on the same port is refused with PILLION_LISTEN_FAILED', async (t) => {
  const first = startPillion([
    'run',
    '--listen',
    '127.0.0.1:0',
    '--workers',
    '2',
    '--',
    ...APP_CMD,
  ]);
  t.after(() => first.kill());
  const started = await first.waitForLog((l) => l.msg === 'workers listening', 'workers listening');
  const port = Number(started.port);
  const second = startPillion([
    'run',
    '--listen',
    `127.0.0.1:${port}`,
    '--workers',
    '2',
    '--',
    ...APP_CMD,
  ]);
  t.after(() => second.kill());
  assert.equal(await second.exited, 1);
  const err = second.lines.find((l) => l.level === 'error');
  assert.equal(err?.code, 'PILLION_LISTEN_FAILED');
  assert.match(err?.msg ?? '', new RegExp(`127\\.0\\.0\\.1:${port}: address already in use`));
  assert.ok(
    !second.lines.some((l) => l.msg === 'ingress listening'),
    'no worker of the second joined',
  );
  // Ready first: an app signalled before it has set up its own SIGTERM handler dies of the
  // signal, and Pillion passes that on as 143.
  await first.ready();
  first.proc.kill('SIGTERM');
  assert.equal(await first.exited, 0);
});
