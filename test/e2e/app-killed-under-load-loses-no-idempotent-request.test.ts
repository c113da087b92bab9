import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appReceived, load, startRig } from './chaos.ts';
import { eventually } from './harness.ts';

test('the app SIGKILLed 10 times under GET+POST load: no GET fails, failed POSTs are bounded and reconciled, none is sent twice', async (t) => {
  const rig = await startRig({ 'backoff-base': '10ms', 'backoff-max': '20ms' });
  t.after(() => rig.stop());
  const supervisor = rig.sidecar.supervisor;
  assert.ok(supervisor);
  const concurrency = 8;
  let loadDone = false;
  const loading = load(rig.port, 800, concurrency, 60_000).finally(() => {
    loadDone = true;
  });
  let kills = 0;
  while (!loadDone && kills < 10) {
    await eventually(() => rig.sidecar.isReady() || loadDone, 15_000, 'app ready again');
    if (loadDone) break;
    await new Promise((r) => setTimeout(r, 50)); // let requests reach the new instance
    const pid = supervisor.pid as number;
    process.kill(pid, 'SIGKILL');
    kills++;
    await eventually(() => supervisor.pid !== pid || loadDone, 15_000, 'app restarted');
  }
  const outcomes = await loading;
  const failed = outcomes.filter((o) => !o.ok);
  t.diagnostic(
    `requests ${outcomes.length}, kills ${kills}, failed ${failed.length} (${failed.map((f) => `${f.method} ${f.status}`).join(', ')})`,
  );
  assert.equal(outcomes.length, 800, 'no request hung past the load bound');
  assert.ok(kills >= 3, `only ${kills} kills happened during the load`);
  assert.deepEqual(
    failed.filter((o) => o.method === 'GET'),
    [],
    'idempotent requests are retried',
  );
  // At most the requests in flight at each kill can fail: a 502 from Pillion, or a response
  // the app had begun that was cut off (aborted) when it died.
  assert.ok(failed.length <= kills * concurrency);
  for (const f of failed) assert.ok(f.status === 502 || f.error !== undefined, JSON.stringify(f));

  // Reconcile against the app's log: an answered request was received once; a failed POST
  // was received at most once (it was in flight when the app died); no id was received twice.
  const seen = appReceived(rig.events);
  for (const o of outcomes) {
    if (o.method === 'POST') assert.ok((seen.get(o.id) ?? 0) <= 1, `POST ${o.id} sent twice`);
    if (o.ok) assert.ok((seen.get(o.id) ?? 0) >= 1, `${o.method} ${o.id} answered but not seen`);
  }
  t.diagnostic(
    `failed POSTs the app had received: ${failed.filter((f) => seen.has(f.id)).length} of ${failed.length}`,
  );
  for (const [id, n] of seen) {
    const o = outcomes.find((x) => x.id === id);
    if (o?.method === 'POST') assert.equal(n, 1, id);
  }
  const restarted = rig.lines.filter((l) => l.msg === 'app restarted');
  assert.equal(restarted.length, kills);
  assert.ok(restarted.every((l) => l.reason === 'crashed'));
  assert.equal(await rig.stop(), 0);
});
