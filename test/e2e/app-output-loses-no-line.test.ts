import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from './harness.ts';
import { runSeq } from './seq-run.ts';

const CLEAN = { lost: 0, duplicated: 0, reordered: 0, corrupted: 0, partial: 0 };

function clean(rep: {
  lost: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
  partial: number;
}) {
  const { lost, duplicated, reordered, corrupted, partial } = rep;
  return { lost, duplicated, reordered, corrupted, partial };
}

test('100,000 mixed-size lines on stdout and stderr arrive whole, once, in order', async (t) => {
  // 50,000 per stream, 10 B to 8 KiB plus 1% at 100 KiB (split at 64 KiB): about 220 MB.
  const count = 50_000;
  const run = runSeq([], ['--count', String(count)], 'mixed');
  t.after(() => run.proc.kill('SIGKILL'));
  assert.equal(await run.exited, 0, run.stderr());
  assert.deepEqual(run.garbage, []);
  for (const stream of ['stdout', 'stderr'] as const) {
    const rep = run.verifier.report(stream, count);
    assert.deepEqual(clean(rep), CLEAN, `${stream}: ${rep.examples.join('\n')}`);
    assert.equal(rep.received, count);
  }
});

test('an app SIGKILLed right after line N: all N lines and the unterminated last one, every time', async (t) => {
  // Bounded trials through the whole CLI; the capture-level test repeats this 100 times.
  for (let trial = 0; trial < 8; trial++) {
    const count = 1 + ((trial * 7919) % 3000);
    const run = runSeq([], ['--count', String(count), '--kill-after'], 'small');
    t.after(() => run.proc.kill('SIGKILL'));
    // The app died of SIGKILL: Pillion exits 128+9.
    assert.equal(await run.exited, 137, run.stderr());
    for (const stream of ['stdout', 'stderr'] as const) {
      const rep = run.verifier.report(stream, count);
      assert.deepEqual(
        clean(rep),
        { ...CLEAN, partial: 1 },
        `trial ${trial}, ${stream}: ${rep.examples.join('\n')}`,
      );
      assert.equal(rep.received, count);
    }
  }
});

test('Pillion SIGTERMed while the app writes fast: every line written is drained and flushed', async (t) => {
  const dir = tempDir();
  const done = join(dir, 'done.json');
  const run = runSeq(
    ['--stop-timeout', '20s'],
    ['--until-term', '--count', '2000000', '--done', done],
    'small',
  );
  t.after(() => run.proc.kill('SIGKILL'));
  // Wait until the app is well under way (its SIGTERM handler is set before its first line),
  // then stop Pillion.
  const writing = (): boolean => run.verifier.received('stdout') > 1000;
  for (let i = 0; i < 1500 && !writing(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(writing(), 'the app is writing');
  run.proc.kill('SIGTERM');
  assert.equal(await run.exited, 0, run.stderr());
  const written = JSON.parse(readFileSync(done, 'utf8')) as Record<'stdout' | 'stderr', number>;
  assert.ok(written.stdout > 0, 'the app wrote lines before the stop');
  for (const stream of ['stdout', 'stderr'] as const) {
    const rep = run.verifier.report(stream, written[stream]);
    assert.deepEqual(clean(rep), CLEAN, `${stream}: ${rep.examples.join('\n')}`);
    assert.equal(rep.received, written[stream]);
  }
  assert.ok(run.others.some((l) => l.msg === 'app exited'));
});
