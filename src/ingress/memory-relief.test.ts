import assert from 'node:assert/strict';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryRelief, trimCHeap, wakeMemoryReducer } from './memory-relief.ts';

/** glibc, whose malloc_trim the relief calls (musl and other systems have none). */
const glibc =
  process.platform === 'linux' &&
  Boolean(
    (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header
      ?.glibcVersionRuntime,
  );

test('a burst of abuse gives memory back once, after it has been quiet', async () => {
  const runs: [number, number, boolean][] = [];
  const r = new MemoryRelief({
    quietMs: 50,
    minGapMs: 60_000,
    done: (b, a, t) => runs.push([b, a, t]),
  });
  for (let i = 0; i < 5; i++) r.note();
  assert.equal(runs.length, 0, 'nothing while the burst goes on');
  for (let i = 0; i < 150 && runs.length === 0; i++) await sleep(20);
  assert.equal(runs.length, 1);
  const [before, after, trimmed] = runs[0] as [number, number, boolean];
  assert.ok(before > 0 && after > 0);
  assert.equal(trimmed, glibc, 'malloc_trim is called where there is one');
  // The next burst waits for the minimum gap: nothing within the quiet time.
  r.note();
  await sleep(200);
  assert.equal(runs.length, 1);
  r.stop();
});

test('where malloc_trim exists, it can be called (again and again)', () => {
  assert.equal(trimCHeap(), glibc);
  assert.equal(trimCHeap(), glibc);
});

test('freed C-heap memory in holes below blocks still in use is given back', {
  skip: !glibc,
}, async () => {
  // 40 MiB of 8 KiB blocks (calloc'd, in the main arena), one 4 KiB block kept after every
  // 50: once the 8 KiB ones are freed, the heap is holes free() cannot hand back.
  const kept: Buffer[] = [];
  let blocks: Buffer[] = [];
  for (let i = 0; i < 5000; i++) {
    blocks.push(Buffer.alloc(8192, 1));
    if (i % 50 === 0) kept.push(Buffer.alloc(4096, 1));
  }
  blocks = [];
  const runs: [number, number, boolean][] = [];
  const r = new MemoryRelief({
    quietMs: 10,
    minGapMs: 60_000,
    done: (b, a, t) => runs.push([b, a, t]),
  });
  r.note();
  for (let i = 0; i < 150 && runs.length === 0; i++) await sleep(20);
  r.stop();
  const [before, after, trimmed] = runs[0] ?? [0, 0, false];
  assert.equal(trimmed, true);
  // The GC frees the 40 MiB; without malloc_trim the RSS would stay where it was.
  assert.ok(before - after > 20 * 2 ** 20, `RSS ${before} -> ${after}`);
  assert.equal(kept.length, 100);
  assert.equal(blocks.length, 0);
});

test('waking the memory reducer runs a major GC', async () => {
  let majors = 0;
  const seen = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as { detail?: { kind?: number } }[])
      if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++;
  });
  seen.observe({ entryTypes: ['gc'] });
  wakeMemoryReducer();
  for (let i = 0; i < 250 && majors === 0; i++) await sleep(20);
  seen.disconnect();
  assert.ok(majors >= 1, 'the major GC ran');
});
