// The reconciliation itself: a run that keeps every rule gives no problem, and each broken rule
// is named (a reconciliation that cannot fail would prove nothing).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from './harness.ts';
import {
  appInstances,
  type ClientOutcome,
  reconcileKills,
  reconcileRestarts,
} from './reconcile.ts';

// Two instances: the first killed at t=100 (Pillion saw it exit at t=102), the second stopped.
const EVENTS = [
  'listening 9000',
  'request GET / g1',
  'answered GET / g1',
  'request POST /echo p1',
  'answered POST /echo p1',
  'request POST /echo p2', // in flight at the kill
  'request GET / g2', // in flight at the kill: sent again
  'listening 9000',
  'request GET / g2',
  'answered GET / g2',
  'request POST /echo p4',
  'answered POST /echo p4',
  'signal SIGTERM',
];

const o = (
  id: string,
  method: string,
  ok: boolean,
  start = 10,
  end = 20,
  status = ok ? 200 : 502,
) => ({ id, method, ok, status, start, end }) as ClientOutcome;

function file(lines: string[]): string {
  const f = join(tempDir(), 'events');
  writeFileSync(f, `${lines.join('\n')}\n`);
  return f;
}

const clean = [
  o('g1', 'GET', true),
  o('p1', 'POST', true),
  o('p2', 'POST', false, 90, 101),
  o('g2', 'GET', true, 90, 150),
  o('p3', 'POST', false, 101, 103), // sent on a connection the killed app never read
  o('p4', 'POST', true, 150, 160),
];

test('instances are split at each listening line, with what each received and answered', () => {
  const inst = appInstances(file(EVENTS));
  assert.equal(inst.length, 2);
  assert.deepEqual([...inst[0].received.keys()], ['g1', 'p1', 'p2', 'g2']);
  assert.deepEqual([...inst[0].answered], ['g1', 'p1']);
  assert.deepEqual([...inst[1].received.keys()], ['g2', 'p4']);
});

test('a run that keeps every rule reconciles with no problem', () => {
  const r = reconcileKills({ outcomes: clean, events: file(EVENTS), kills: [100], exits: [102] });
  assert.deepEqual(r.problems, []);
  assert.equal(r.failed, 2);
  assert.equal(r.failedInFlightAtApp, 1);
  assert.equal(r.failedNeverReceived, 1);
  assert.equal(r.retriedGets, 1);
  assert.equal(r.inFlightAtKills, 3);
});

test('each broken rule is named', () => {
  const cases: [string, ClientOutcome[], string[], RegExp][] = [
    ['a failed GET', [...clean, o('g3', 'GET', false)], EVENTS, /GET g3 failed/],
    [
      'a failed POST answered',
      [...clean.slice(0, 1), o('p1', 'POST', false)],
      EVENTS,
      /p1 failed but instance 0 answered/,
    ],
    [
      'a failed POST of an instance never killed',
      [o('p4', 'POST', false, 150, 160)],
      EVENTS,
      /never killed, received it/,
    ],
    [
      'a failed POST out of every kill',
      [o('p5', 'POST', false, 200, 210)],
      EVENTS,
      /not in flight at a kill/,
    ],
    [
      'a POST received twice',
      [o('p4', 'POST', true)],
      [...EVENTS, 'request POST /echo p4'],
      /p4 reached the app 2 times/,
    ],
    ['an answer never received', [o('g9', 'GET', true)], EVENTS, /g9 answered but never received/],
    ['a 503', [o('p5', 'POST', false, 90, 101, 503)], EVENTS, /failed with 503/],
  ];
  for (const [what, outcomes, events, problem] of cases) {
    const r = reconcileKills({ outcomes, events: file(events), kills: [100], exits: [102] });
    assert.ok(
      r.problems.some((p) => problem.test(p)),
      `${what}: ${JSON.stringify(r.problems)}`,
    );
  }
  const r = reconcileKills({
    outcomes: clean,
    events: file(EVENTS),
    kills: [100, 200],
    exits: [102],
  });
  assert.ok(r.problems.some((p) => /2 kills but 1 exits seen/.test(p)));
  assert.ok(r.problems.some((p) => /only 2 app instances/.test(p)));
});

test('restarts: a failure and an id received twice are counted', () => {
  const events = file([
    'listening 1',
    'request GET / a',
    'request POST /echo b',
    'request POST /echo b',
  ]);
  const r = reconcileRestarts(
    [o('a', 'GET', true), o('b', 'POST', true), o('c', 'GET', false)],
    events,
  );
  assert.equal(r.failed, 1);
  assert.equal(r.postsReceivedTwice, 1);
  assert.equal(r.notReceivedOnce, 2);
});
