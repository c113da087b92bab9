// R2 through the real CLI (bin/pillion.js): graceful restarts (liveness failing, so the
// supervisor's own restart: hold, quiesce, stop, start) under GET+POST load over HTTP/1.1
// and HTTP/2. No request fails, each id reaches the app exactly once, and the time each
// request was held for a restart is in its access line (`held_ms`, within `duration_ms`).
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { appReceived, load } from './chaos.ts';
import { eventually, startAppBehindPillion, tempDir } from './harness.ts';

const RESTARTS = 5;

test('5 liveness restarts under load: 0 failed requests, each received once, each hold logged', async (t) => {
  const sick = join(tempDir(), 'sick');
  const { p, port, events } = await startAppBehindPillion(
    [
      '--liveness',
      'http:/live',
      '--liveness-interval',
      '100ms',
      '--liveness-failures',
      '1',
      '--startup-grace',
      '0s',
      '--access-log-fields',
      'source,msg,status,duration_ms,held_ms,request_id',
    ],
    { APP_SICK: sick },
  );
  t.after(() => p.kill());
  const restarting = (): number => p.lines.filter((l) => l.msg === 'restarting app').length;
  const readyCount = (): number => p.lines.filter((l) => l.msg === 'app ready').length;
  let loadDone = false;
  let completed = 0;
  const loading = load(port, 600, 8, 60_000, () => {
    completed++;
  }).finally(() => {
    loadDone = true;
  });
  let restarts = 0;
  while (!loadDone && restarts < RESTARTS) {
    const served = completed;
    await eventually(() => completed >= served + 16 || loadDone, 15_000, 'requests served');
    if (loadDone) break;
    const before = restarting();
    const ready = readyCount();
    writeFileSync(sick, '');
    await eventually(() => restarting() > before, 15_000, 'a liveness restart');
    rmSync(sick, { force: true });
    restarts++;
    await eventually(() => readyCount() > ready, 15_000, 'the new instance ready');
  }
  const outcomes = await loading;
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);

  const failed = outcomes.filter((o) => !o.ok);
  assert.equal(outcomes.length, 600, 'no request hung past the load bound');
  assert.deepEqual(failed, []);
  assert.ok(restarts >= 2, `only ${restarts} restarts during the load`);
  const logged = p.lines.filter((l) => l.msg === 'restarting app');
  assert.equal(logged.length, restarts);
  assert.ok(logged.every((l) => l.reason === 'liveness'));
  const seen = appReceived(events);
  for (const o of outcomes) assert.equal(seen.get(o.id), 1, `${o.method} ${o.id}`);
  // Every request has its access line; those held for a restart say for how long.
  const access = new Map(
    p.lines.filter((l) => l.source === 'access').map((l) => [String(l.request_id), l]),
  );
  const held: number[] = [];
  for (const o of outcomes) {
    const line = access.get(o.id);
    assert.ok(line, `access line of ${o.id}`);
    if (line.held_ms === undefined) continue;
    assert.equal(typeof line.held_ms, 'number');
    assert.ok(Number(line.held_ms) <= Number(line.duration_ms), JSON.stringify(line));
    held.push(Number(line.held_ms));
  }
  assert.ok(held.length > 0, 'requests held for a restart have held_ms');
  held.sort((a, b) => a - b);
  t.diagnostic(
    `restarts ${restarts}, requests ${outcomes.length}, held ${held.length}, held_ms p50 ${held[Math.floor(held.length / 2)]} max ${held.at(-1)}`,
  );
});
