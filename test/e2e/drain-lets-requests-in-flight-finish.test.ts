import assert from 'node:assert/strict';
import { connect as h2Connect } from 'node:http2';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  APP_CMD,
  eventually,
  h1Request,
  h2Request,
  readEvents,
  startPillion,
  tempDir,
} from './harness.ts';

test('on SIGTERM, slow HTTP/1.1 and HTTP/2 requests in flight finish before the app is signalled', async (t) => {
  const events = join(tempDir(), 'events');
  const p = startPillion(
    ['run', '--listen', '127.0.0.1:0', '--drain-timeout', '20s', '--', ...APP_CMD],
    {
      env: { APP_EVENTS: events },
    },
  );
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();

  const session = h2Connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  const goaway = new Promise<number>((resolve) =>
    session.once('goaway', (_code, lastStreamId) => resolve(lastStreamId)),
  );
  const slowH1 = h1Request(port, '/slow?ms=1500');
  const slowH2 = h2Request(session, '/slow?ms=1500');
  await eventually(
    () => readEvents(events).filter((e) => e.startsWith('request GET /slow')).length === 2,
    10_000,
    'both requests at the app',
  );

  p.proc.kill('SIGTERM');
  await p.waitForLog((l) => l.msg === 'stop signal received; draining');
  // The listener is closed at once: a new request gets no answer from Pillion.
  const late = await h1Request(port, '/late').then(
    (r) => `answered ${r.status}`,
    (err: NodeJS.ErrnoException) => err.code ?? 'error',
  );
  assert.notEqual(late.slice(0, 8), 'answered', late);

  const [r1, r2] = await Promise.all([slowH1, slowH2]);
  assert.equal(r1.status, 200);
  assert.equal(r1.body, 'slept 1500\n');
  assert.equal(r1.headers.connection, 'close');
  assert.equal(r2.status, 200);
  assert.equal(r2.body, 'slept 1500\n');
  // GOAWAY names the last stream Pillion accepted: the slow one (stream 1).
  assert.equal(await goaway, 1);
  session.close();

  assert.equal(await p.exited, 0);
  const ev = readEvents(events);
  assert.equal(
    ev.some((e) => e.startsWith('request GET /late')),
    false,
  );
  const term = ev.indexOf('signal SIGTERM');
  assert.ok(term > 0, 'the app got SIGTERM');
  const finished = ev.map((e, i) => (e === 'finished /slow' ? i : -1)).filter((i) => i >= 0);
  assert.equal(finished.length, 2);
  for (const i of finished) assert.ok(i < term, 'requests finished before the app was signalled');
  const access = p.lines.filter((l) => l.source === 'access' && l.path === '/slow?ms=1500');
  assert.deepEqual(
    access.map((l) => l.status),
    [200, 200],
  );
});

test('a request still running at the drain timeout is cut by Pillion with a 503, and the app still stops', async (t) => {
  const events = join(tempDir(), 'events');
  const p = startPillion(
    ['run', '--listen', '127.0.0.1:0', '--drain-timeout', '300ms', '--', ...APP_CMD],
    {
      env: { APP_EVENTS: events },
    },
  );
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const slow = h1Request(port, '/slow?ms=30000').then(
    (r) => `status ${r.status}`,
    (err: NodeJS.ErrnoException) => err.code ?? 'error',
  );
  await eventually(
    () => readEvents(events).some((e) => e.startsWith('request GET /slow')),
    10_000,
    'request at the app',
  );
  p.proc.kill('SIGTERM');
  // Cut by Pillion, not by the client: a 503 while no response has begun, logged as such.
  assert.equal(await slow, 'status 503');
  assert.equal(await p.exited, 0);
  assert.ok(p.lines.some((l) => l.msg === 'drain timeout: closing connections still open'));
  const cut = p.lines.find((l) => l.source === 'access' && l.path === '/slow?ms=30000');
  assert.equal(cut?.status, 503);
  assert.equal(cut?.error, 'PILLION_DRAIN_TIMEOUT');
  // Pillion's own doing on a stop, not the app's fault: a warning.
  assert.equal(cut?.level, 'warn');
  assert.ok(readEvents(events).includes('signal SIGTERM'));
});
