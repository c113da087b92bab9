import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryRelief } from './memory-relief.ts';

test('a burst of abuse gives memory back once, after it has been quiet', async () => {
  const runs: [number, number][] = [];
  const r = new MemoryRelief({ quietMs: 50, minGapMs: 60_000, done: (b, a) => runs.push([b, a]) });
  for (let i = 0; i < 5; i++) r.note();
  assert.equal(runs.length, 0, 'nothing while the burst goes on');
  for (let i = 0; i < 100 && runs.length === 0; i++) await sleep(20);
  assert.equal(runs.length, 1);
  const [before, after] = runs[0] as [number, number];
  assert.ok(before > 0 && after > 0);
  // The next burst waits for the minimum gap: nothing within the quiet time.
  r.note();
  await sleep(200);
  assert.equal(runs.length, 1);
  r.stop();
});
