import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { APP_CMD, h1Request, readEvents, startPillion, tempDir } from './harness.ts';

test('a request sent before the app listens waits and is served once it is ready', async (t) => {
  const events = join(tempDir(), 'events');
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', ...APP_CMD], {
    env: { APP_EVENTS: events, APP_LISTEN_DELAY_MS: '1500' },
  });
  t.after(() => p.kill());
  const port = await p.port();
  const reply = h1Request(port, '/');
  // The request reaches Pillion before the app is listening.
  assert.equal(
    p.lines.some((l) => l.msg === 'app ready'),
    false,
  );
  const r = await reply;
  assert.equal(r.status, 200);
  assert.match(r.body, /hello from/);
  const ev = readEvents(events);
  assert.ok(
    ev.findIndex((e) => e.startsWith('listening')) <
      ev.findIndex((e) => e.startsWith('request GET /')),
  );
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});

test('an app that never listens gives 503 with Retry-After after the ready timeout', async (t) => {
  const p = startPillion([
    'run',
    '--listen',
    '127.0.0.1:0',
    '--ready-timeout',
    '500ms',
    '--',
    process.execPath,
    '-e',
    'setInterval(() => {}, 1000)',
  ]);
  t.after(() => p.kill());
  const port = await p.port();
  const r = await h1Request(port, '/x');
  assert.equal(r.status, 503);
  assert.ok(Number(r.headers['retry-after']) > 0);
  assert.match(r.body, /not ready/);
  const line = await p.waitForLog((l) => l.source === 'access');
  assert.equal(line.status, 503);
  assert.equal(line.error, 'PILLION_APP_NOT_READY');
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 143);
});

test('an app that refuses or resets connections gives 502, logged', async (t) => {
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', ...APP_CMD]);
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const reset = await h1Request(port, '/reset');
  assert.equal(reset.status, 502);
  assert.match(reset.body, /closed the connection/);
  const closed = await h1Request(port, '/close-listener');
  assert.equal(closed.status, 200);
  const refused = await h1Request(port, '/after');
  assert.equal(refused.status, 502);
  assert.match(refused.body, /refused the connection/);
  const access = p.lines.filter((l) => l.source === 'access');
  const deadline = Date.now() + 5000;
  while (p.lines.filter((l) => l.source === 'access').length < 3 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(
    p.lines.filter((l) => l.source === 'access').map((l) => [l.path, l.status, l.error ?? null]),
    [
      ['/reset', 502, 'PILLION_APP_RESET: ECONNRESET'],
      ['/close-listener', 200, null],
      ['/after', 502, 'PILLION_APP_UNREACHABLE: ECONNREFUSED'],
    ],
  );
  assert.ok(access.length <= 3);
});
