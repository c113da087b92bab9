// R3 through the real CLI (bin/pillion.js): the app is SIGKILLed 10 times under GET+POST load
// over HTTP/1.1 and HTTP/2 (each time once its new instance has answered some requests and the
// requests caught by the last kill are over), and every outcome is reconciled exactly with the
// app's log of the ids each instance received and answered (reconcile.ts): no GET fails (each is retried); a failed POST is one the killed
// instance had received and not answered, or one no instance received that was in flight at a
// kill; no POST reaches the app twice; every answered request reached it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { load } from './chaos.ts';
import { eventually, startAppBehindPillion } from './harness.ts';
import { reconcileKills } from './reconcile.ts';

const KILLS = 10;

test('10 SIGKILLs under load: failed requests are exactly POSTs in flight at a kill, none sent twice', async (t) => {
  const { p, port, events } = await startAppBehindPillion([
    '--backoff-base',
    '10ms',
    '--backoff-max',
    '20ms',
  ]);
  t.after(() => p.kill());
  const readyCount = (): number => p.lines.filter((l) => l.msg === 'app ready').length;
  const appPid = (): number =>
    Number(p.lines.filter((l) => l.msg === 'app started').at(-1)?.app_pid);
  let loadDone = false;
  let completed = 0;
  const inflight = new Set<number>();
  const loading = load(
    port,
    800,
    8,
    60_000,
    () => {
      completed++;
    },
    inflight,
  ).finally(() => {
    loadDone = true;
  });
  const killedAt: number[] = [];
  let caught = new Set<number>();
  while (!loadDone && killedAt.length < KILLS) {
    const ready = readyCount();
    // A crash comes once this instance has served some requests, and every request caught by
    // the last crash is over: a GET is retried after a crash, not through any number of them.
    const served = completed;
    await eventually(
      () => (completed >= served + 16 && [...caught].every((i) => !inflight.has(i))) || loadDone,
      15_000,
      'requests served',
    );
    if (loadDone) break;
    killedAt.push(performance.timeOrigin + performance.now());
    caught = new Set(inflight);
    process.kill(appPid(), 'SIGKILL');
    await eventually(() => readyCount() > ready || loadDone, 15_000, 'the app ready again');
  }
  const outcomes = await loading;
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);

  const exits = p.lines
    .filter((l) => l.msg === 'app exited' && l.signal === 'SIGKILL')
    .map((l) => Date.parse(String(l.time)));
  const r = reconcileKills({ outcomes, events, kills: killedAt, exits });
  t.diagnostic(
    `requests ${r.requests}, kills ${r.kills}, in flight at the kills ${r.inFlightAtKills}; failed ${r.failed} POSTs: ${r.failedInFlightAtApp} received and not answered by the killed instance, ${r.failedNeverReceived} never received; ${r.answeredAtKill} answered as the kill came, ${r.retriedGets} GETs sent again`,
  );
  assert.equal(outcomes.length, 800, 'no request hung past the load bound');
  assert.ok(killedAt.length >= 3, `only ${killedAt.length} kills during the load`);
  assert.deepEqual(r.problems, []);
  assert.equal(r.failedIdempotent, 0, 'idempotent requests are retried');
  assert.equal(r.postsReceivedTwice, 0);
  assert.equal(r.failed, r.failedInFlightAtApp + r.failedNeverReceived);
  const restarted = p.lines.filter((l) => l.msg === 'app restarted');
  assert.equal(restarted.length, killedAt.length);
  assert.ok(restarted.every((l) => l.reason === 'crashed'));
});
