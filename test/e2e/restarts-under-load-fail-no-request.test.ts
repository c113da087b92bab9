import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { appReceived, load, startRig } from './chaos.ts';
import { eventually, h1Request, tempDir } from './harness.ts';

test('20 restarts through the supervisor under GET+POST load over h1 and h2: 0 failed requests, no POST twice', async (t) => {
  const rig = await startRig();
  t.after(() => rig.stop());
  const supervisor = rig.sidecar.supervisor;
  assert.ok(supervisor);
  const firstPid = supervisor.pid;
  let loadDone = false;
  const loading = load(rig.port, 1000, 8, 60_000).finally(() => {
    loadDone = true;
  });
  const pids = new Set<number | undefined>([firstPid]);
  let restarts = 0;
  while (!loadDone && restarts < 20) {
    await supervisor.restart();
    restarts++;
    pids.add(supervisor.pid);
    // Let some requests through between restarts.
    await new Promise((r) => setTimeout(r, 30));
  }
  const outcomes = await loading;
  const failed = outcomes.filter((o) => !o.ok);
  t.diagnostic(
    `requests ${outcomes.length}, failed ${failed.length}, restarts ${restarts}, app pids ${pids.size}`,
  );
  assert.equal(outcomes.length, 1000);
  assert.deepEqual(failed, []);
  assert.ok(restarts >= 5, `only ${restarts} restarts happened during the load`);
  assert.equal(pids.size, restarts + 1);
  assert.equal(supervisor.restarts, restarts);

  // Reconcile: every request reached the app exactly once.
  const seen = appReceived(rig.events);
  for (const o of outcomes) assert.equal(seen.get(o.id), 1, `${o.method} ${o.id}`);
  const logged = rig.lines.filter((l) => l.msg === 'restarting app');
  assert.equal(logged.length, restarts);
  assert.ok(logged.every((l) => l.reason === 'requested'));
  assert.equal(await rig.stop(), 0);
});

test('SIGTERM during a restart whose new instance never gets ready: Pillion stops without waiting out the restart window', async (t) => {
  const dir = tempDir();
  const broken = join(dir, 'broken');
  // A restart window far longer than the test timeout: waiting it out would fail the test.
  const rig = await startRig({ readiness: `exec:test ! -f ${broken}`, 'restart-window': '10m' });
  t.after(() => rig.stop());
  const supervisor = rig.sidecar.supervisor;
  assert.ok(supervisor);
  writeFileSync(broken, '');
  const restarting = supervisor.restart();
  await eventually(() => rig.lines.some((l) => l.msg === 'app restarted'), 15_000);
  assert.equal(rig.sidecar.isReady(), false);
  // The new instance may get SIGTERM before it has installed its handler: 128+15.
  assert.ok([0, 143].includes(await rig.stop()));
  await restarting;
});

test('a request held past the restart window gets 503 with Retry-After; the next one, once ready, 200', async (t) => {
  const dir = tempDir();
  const broken = join(dir, 'broken');
  const rig = await startRig({ readiness: `exec:test ! -f ${broken}`, 'restart-window': '300ms' });
  t.after(() => rig.stop());
  const supervisor = rig.sidecar.supervisor;
  assert.ok(supervisor);
  writeFileSync(broken, '');
  const restarting = supervisor.restart();
  await eventually(() => rig.lines.some((l) => l.msg === 'app restarted'), 15_000);
  const held = await h1Request(rig.port, '/');
  assert.equal(held.status, 503);
  assert.equal(held.headers['retry-after'], '5');
  rmSync(broken);
  await restarting;
  await eventually(() => rig.sidecar.isReady(), 15_000, 'ready again');
  assert.equal((await h1Request(rig.port, '/')).status, 200);
  await eventually(() => rig.lines.some((l) => l.source === 'access' && l.status === 503), 5000);
  const refused = rig.lines.filter((l) => l.source === 'access' && l.status === 503);
  assert.deepEqual(
    refused.map((l) => l.error),
    ['PILLION_APP_NOT_READY'],
  );
  assert.ok([0, 143].includes(await rig.stop()));
});
