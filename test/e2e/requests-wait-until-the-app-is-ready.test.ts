import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { APP_CMD, eventually, h1Request, readEvents, startPillion, tempDir } from './harness.ts';

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

test('an app that refuses or resets connections gives 502, logged; a POST is never sent twice', async (t) => {
  const events = join(tempDir(), 'events');
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', ...APP_CMD], {
    env: { APP_EVENTS: events },
  });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const count = (what: string) => readEvents(events).filter((e) => e.startsWith(what)).length;
  // A POST the app may have acted on is answered 502 at once, never resent.
  const post = await h1Request(port, '/reset', { method: 'POST', body: 'once' });
  assert.equal(post.status, 502);
  assert.match(post.body, /closed the connection/);
  assert.equal(count('request POST /reset'), 1);
  // A GET without a body is idempotent: retried a bounded number of times, then 502.
  const get = await h1Request(port, '/reset');
  assert.equal(get.status, 502);
  assert.match(get.body, /closed the connection/);
  assert.ok(count('request GET /reset') > 1 && count('request GET /reset') <= 6);
  const closed = await h1Request(port, '/close-listener');
  assert.equal(closed.status, 200);
  const refused = await h1Request(port, '/after');
  assert.equal(refused.status, 502);
  assert.match(refused.body, /refused the connection/);
  assert.equal(count('request GET /after'), 0);
  const access = () => p.lines.filter((l) => l.source === 'access');
  await eventually(() => access().length === 4, 5000, 'four access lines');
  const got = access().map((l) => [l.method, l.path, l.status, String(l.error ?? '')] as const);
  assert.deepEqual(
    got.map(([m, path, status]) => [m, path, status]),
    [
      ['POST', '/reset', 502],
      ['GET', '/reset', 502],
      ['GET', '/close-listener', 200],
      ['GET', '/after', 502],
    ],
  );
  assert.equal(got[0][3], 'PILLION_APP_RESET: ECONNRESET');
  assert.match(got[1][3], /^PILLION_APP_RESET: ECONNRESET \(after \d attempts\)$/);
  assert.equal(got[2][3], '');
  assert.match(got[3][3], /^PILLION_APP_UNREACHABLE: ECONNREFUSED/);
});
