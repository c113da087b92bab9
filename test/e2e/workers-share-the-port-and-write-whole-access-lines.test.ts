import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  APP_CMD,
  alive,
  eventually,
  h1Request,
  type LogLine,
  readEvents,
  startPillion,
  tempDir,
} from './harness.ts';

const access = (lines: LogLine[]): LogLine[] => lines.filter((l) => l.source === 'access');

test('workers: 2 holds requests until the app is ready, spreads connections over both workers, writes one whole line per request, and SIGTERM drains both and exits with the app code', async (t) => {
  const events = join(tempDir(), 'events');
  const p = startPillion(
    [
      'run',
      '--listen',
      '127.0.0.1:0',
      '--workers',
      '2',
      '--ready-timeout',
      '30s',
      '--',
      ...APP_CMD,
    ],
    { env: { APP_LISTEN_DELAY_MS: '1500', APP_EXIT_ON_TERM: '7', APP_EVENTS: events } },
  );
  t.after(() => p.kill());
  const started = await p.waitForLog((l) => l.msg === 'workers listening', 'workers listening');
  const port = Number(started.port);
  const pids = started.pids as number[];
  assert.equal(pids.length, 2);

  // Sent before the app listens: every worker holds them, none answers 503.
  const early = await Promise.all(
    Array.from({ length: 20 }, (_, i) => h1Request(port, `/early/${i}`)),
  );
  assert.deepEqual(
    early.map((r) => r.status),
    Array(20).fill(200),
  );
  const readyAt = p.lines.findIndex((l) => l.msg === 'app ready');
  assert.ok(readyAt >= 0);

  // 400 requests, each on its own connection, 20 at a time: bounded in count.
  const total = 400;
  let next = 0;
  const statuses: number[] = [];
  const one = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      statuses.push((await h1Request(port, `/load/${i}`)).status);
    }
  };
  await Promise.all(Array.from({ length: 20 }, one));
  assert.equal(statuses.length, total);
  assert.ok(statuses.every((s) => s === 200));

  await eventually(() => access(p.lines).length >= total + 20, 10_000, 'every access line');
  const lines = access(p.lines);
  assert.equal(lines.length, total + 20, 'one access line per request');
  // Whole lines only: a line cut or mixed with another would not parse as JSON.
  assert.deepEqual(
    p.lines.filter((l) => l.source === 'non-json'),
    [],
  );
  for (const l of lines) {
    assert.equal(typeof l.path, 'string');
    assert.equal(l.status, 200);
    assert.ok(l.worker === 1 || l.worker === 2, `worker field in ${JSON.stringify(l)}`);
    assert.ok(pids.includes(l.pid as number));
  }
  const byWorker = (w: number): number => lines.filter((l) => l.worker === w).length;
  t.diagnostic(`worker 1: ${byWorker(1)} requests, worker 2: ${byWorker(2)}`);
  assert.ok(byWorker(1) > 0 && byWorker(2) > 0, 'both workers served connections');
  // No worker served before the app was ready: every access line comes after `app ready`.
  const firstAccess = p.lines.findIndex((l) => l.source === 'access');
  assert.ok(firstAccess > readyAt);
  const paths = new Set(lines.map((l) => l.path));
  for (let i = 0; i < total; i++) assert.ok(paths.has(`/load/${i}`), `/load/${i} logged`);

  // Slow requests in flight on both workers when SIGTERM comes: the drain lets them finish.
  const slow = Array.from({ length: 12 }, (_, i) => h1Request(port, `/slow?ms=1500&i=${i}`));
  await eventually(
    () => readEvents(events).filter((e) => e.startsWith('request GET /slow')).length === 12,
    10_000,
    'slow requests at the app',
  );
  p.proc.kill('SIGTERM');
  assert.deepEqual(
    (await Promise.all(slow)).map((r) => r.status),
    Array(12).fill(200),
  );
  assert.equal(await p.exited, 7, 'the app code');
  // Every line is in once Pillion has exited.
  const slowWorkers = new Set(
    access(p.lines)
      .filter((l) => String(l.path).startsWith('/slow'))
      .map((l) => l.worker),
  );
  assert.equal(slowWorkers.size, 2, 'slow requests were in flight on both workers');
  assert.equal(p.lines.filter((l) => l.msg === 'ingress stopped').length, 2);
  const stoppedAt = p.lines.findIndex((l) => l.msg === 'workers stopped');
  const appStopAt = p.lines.findIndex((l) => l.msg === 'stopping app');
  assert.ok(stoppedAt >= 0 && stoppedAt < appStopAt, 'workers drained before the app is stopped');
  for (const pid of pids) await eventually(() => !alive(pid), 5000, `worker ${pid} gone`);
});
