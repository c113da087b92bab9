import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appReceived, load, startRig } from './chaos.ts';

test('workers: 2, 10 app restarts through the supervisor under GET+POST load: every worker holds its requests, 0 fail, no POST twice', async (t) => {
  const rig = await startRig({}, { workers: 2 });
  t.after(() => rig.stop());
  const supervisor = rig.sidecar.supervisor;
  assert.ok(supervisor);
  let loadDone = false;
  const loading = load(rig.port, 600, 8, 60_000).finally(() => {
    loadDone = true;
  });
  let restarts = 0;
  while (!loadDone && restarts < 10) {
    await supervisor.restart();
    restarts++;
    await new Promise((r) => setTimeout(r, 30));
  }
  const outcomes = await loading;
  const failed = outcomes.filter((o) => !o.ok);
  const access = rig.lines.filter((l) => l.source === 'access');
  const workers = new Set(access.map((l) => l.worker));
  t.diagnostic(
    `requests ${outcomes.length}, failed ${failed.length}, restarts ${restarts}, workers seen ${[...workers].join(',')}`,
  );
  assert.equal(outcomes.length, 600);
  assert.deepEqual(failed, []);
  assert.ok(restarts >= 3, `only ${restarts} restarts happened during the load`);
  assert.deepEqual([...workers].sort(), [1, 2], 'both workers served requests');
  const seen = appReceived(rig.events);
  for (const o of outcomes) assert.equal(seen.get(o.id), 1, `${o.method} ${o.id}`);
  assert.equal(await rig.stop(), 0);
});
