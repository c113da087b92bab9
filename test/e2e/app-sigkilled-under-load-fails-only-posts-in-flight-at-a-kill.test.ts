// R3 through the real CLI (bin/pillion.js): the app is SIGKILLed 10 times under GET+POST load
// over HTTP/1.1 and HTTP/2 (each time once its new instance has answered some requests), and
// every outcome is reconciled exactly with the app's log of the ids it received and with each
// kill: no GET fails (each is retried); a POST fails only if it was in flight at a kill (sent
// before Pillion saw that instance exit, its outcome after the kill); no POST reaches the app
// twice; every answered request reached it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { appReceived, freePort, load } from './chaos.ts';
import { APP, eventually, startPillion, tempDir } from './harness.ts';

const KILLS = 10;

test('10 SIGKILLs under load: failed requests are exactly POSTs in flight at a kill, none sent twice', async (t) => {
  const dir = tempDir();
  const events = join(dir, 'events');
  const appPort = await freePort();
  const p = startPillion(
    [
      'run',
      '--listen',
      '127.0.0.1:0',
      '--app-port',
      String(appPort),
      '--backoff-base',
      '10ms',
      '--backoff-max',
      '20ms',
      '--',
      process.execPath,
      APP,
      String(appPort),
    ],
    { env: { APP_EVENTS: events }, bin: true },
  );
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const readyCount = (): number => p.lines.filter((l) => l.msg === 'app ready').length;
  const appPid = (): number =>
    Number(p.lines.filter((l) => l.msg === 'app started').at(-1)?.app_pid);
  let loadDone = false;
  let completed = 0;
  const loading = load(port, 800, 8, 60_000, () => {
    completed++;
  }).finally(() => {
    loadDone = true;
  });
  const killedAt: number[] = [];
  while (!loadDone && killedAt.length < KILLS) {
    const ready = readyCount();
    // A crash comes once this instance has served some requests, retried ones included.
    const served = completed;
    await eventually(() => completed >= served + 16 || loadDone, 15_000, 'requests served');
    if (loadDone) break;
    killedAt.push(Date.now());
    process.kill(appPid(), 'SIGKILL');
    await eventually(() => readyCount() > ready || loadDone, 15_000, 'the app ready again');
  }
  const outcomes = await loading;
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);

  const failed = outcomes.filter((o) => !o.ok);
  const seen = appReceived(events);
  t.diagnostic(
    `requests ${outcomes.length}, kills ${killedAt.length}, failed ${failed.length} POSTs, of which the app received ${failed.filter((f) => seen.has(f.id)).length}`,
  );
  assert.equal(outcomes.length, 800, 'no request hung past the load bound');
  assert.ok(killedAt.length >= 3, `only ${killedAt.length} kills during the load`);
  assert.deepEqual(
    failed.filter((o) => o.method === 'GET'),
    [],
    'idempotent requests are retried',
  );
  // Each kill lasts from the signal to the moment Pillion saw that instance exit: a request
  // sent to it in between was on its way to an app already dying.
  const exits = p.lines
    .filter((l) => l.msg === 'app exited' && l.signal === 'SIGKILL')
    .map((l) => Date.parse(String(l.time)));
  const windows = killedAt.map((k) => [k, exits.find((e) => e >= k - 1) ?? k] as const);
  assert.equal(exits.length, killedAt.length, 'one exit seen per kill');
  for (const f of failed) {
    assert.ok(f.status === 502 || f.error !== undefined, JSON.stringify(f));
    assert.ok(
      windows.some(([k, seenExit]) => f.start <= seenExit + 1 && f.end >= k),
      `POST ${f.id} failed but was not in flight at any kill`,
    );
  }
  for (const o of outcomes) {
    const n = seen.get(o.id) ?? 0;
    if (o.method === 'POST') assert.ok(n <= 1, `POST ${o.id} reached the app ${n} times`);
    if (o.ok) assert.ok(n >= 1, `${o.method} ${o.id} answered but never received`);
    if (o.ok && o.method === 'POST') assert.equal(n, 1);
  }
  const restarted = p.lines.filter((l) => l.msg === 'app restarted');
  assert.equal(restarted.length, killedAt.length);
  assert.ok(restarted.every((l) => l.reason === 'crashed'));
});
