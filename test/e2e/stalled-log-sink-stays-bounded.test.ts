import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAIN, tempDir } from './harness.ts';
import { runSeq } from './seq-run.ts';

const MiB = 1024 * 1024;
const BOUND = 2 * MiB;

/** Peak resident memory of a process so far (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('block: a stalled stdout back-pressures the app, memory stays bounded, nothing is lost', async (t) => {
  const done = join(tempDir(), 'done.json');
  const count = 20_000; // per stream, ~88 MB in all
  const run = runSeq(
    ['--log-buffer', String(BOUND), '--log-when-full', 'block'],
    ['--count', String(count), '--done', done],
    'mixed',
    { paused: true },
  );
  t.after(() => run.proc.kill('SIGKILL'));
  // Nobody reads Pillion's stdout for a while (a bounded wait, not a measurement).
  await sleep(2000);
  assert.equal(existsSync(done), false, 'the app is blocked while the sink is stalled');
  const rss = peakRss(run.proc.pid as number);
  run.resume();
  assert.equal(await run.exited, 0, run.stderr());
  for (const stream of ['stdout', 'stderr'] as const) {
    const rep = run.verifier.report(stream, count);
    assert.equal(rep.received, count, rep.examples.join('\n'));
    assert.equal(rep.lost + rep.duplicated + rep.reordered + rep.corrupted, 0);
  }
  const closing = run.others.find((l) => l.msg === 'logs closing');
  assert.ok(closing);
  assert.deepEqual(closing.pillion_log_lines_dropped_total, { stdout: 0 });
  assert.deepEqual(closing.app_lines_dropped, { stdout: 0 });
  // The queue went past the bound by at most one read of each pipe.
  assert.ok(Number(closing.peak_queued_bytes) <= BOUND + MiB, `peak ${closing.peak_queued_bytes}`);
  // Resident memory (about 120 MiB here, 370 MiB with an unbounded queue) stayed bounded.
  assert.ok(rss < 200 * MiB, `peak RSS ${rss}`);
});

test('drop: a stalled stdout drops lines, counted exactly, and memory stays bounded', async (t) => {
  const done = join(tempDir(), 'done.json');
  // Per stream, ~130 MB in all. No line over the 64 KiB limit: a split line's pieces are
  // written apart and may be dropped apart, which would blur the exact count checked here.
  const count = 50_000;
  const run = runSeq(
    ['--log-buffer', String(BOUND), '--log-when-full', 'drop'],
    ['--count', String(count), '--done', done],
    'medium',
    { paused: true },
  );
  t.after(() => run.proc.kill('SIGKILL'));
  // The app is never blocked: it finishes while nobody reads Pillion's stdout.
  for (let i = 0; i < 1500 && !existsSync(done); i++) await sleep(20);
  assert.ok(existsSync(done), 'the app finished writing while the sink was stalled');
  const rss = peakRss(run.proc.pid as number);
  run.resume();
  assert.equal(await run.exited, 0, run.stderr());
  let lost = 0;
  for (const stream of ['stdout', 'stderr'] as const) {
    const rep = run.verifier.report(stream, count);
    assert.equal(
      rep.duplicated + rep.reordered + rep.corrupted + rep.partial,
      0,
      rep.examples.join('\n'),
    );
    lost += rep.lost;
  }
  assert.ok(lost > 0, 'lines were dropped');
  const closing = run.others.find((l) => l.msg === 'logs closing');
  assert.ok(closing);
  const dropped = closing.pillion_log_lines_dropped_total as Record<string, number>;
  const appDropped = closing.app_lines_dropped as Record<string, number>;
  // Every app line missing is counted, exactly; Pillion's own dropped lines on top.
  assert.equal(appDropped.stdout, lost);
  assert.ok(dropped.stdout >= lost);
  // The sink said so in its own stream once it had room again, with the same total.
  const reports = run.others.filter((l) => l.msg === 'log lines dropped: this sink was full');
  assert.ok(reports.length >= 1);
  assert.equal(
    reports.reduce((n, l) => n + Number(l.dropped), 0),
    dropped.stdout,
  );
  assert.ok(Number(closing.peak_queued_bytes) <= BOUND + MiB, `peak ${closing.peak_queued_bytes}`);
  assert.ok(rss < 200 * MiB, `peak RSS ${rss}`);
});

test('a stdout reader that never reads does not keep Pillion from exiting with the app code', async (t) => {
  // 50,000 log lines (about 5 MB as JSON) fill the pipe and stay queued; then the app exits 3.
  const proc = spawn(
    process.execPath,
    [
      MAIN,
      'run',
      '--admin',
      '127.0.0.1:0',
      '--restart',
      'never',
      '--listen',
      '127.0.0.1:0',
      '--',
      'sh',
      '-c',
      'seq 50000; exit 3',
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  t.after(() => proc.kill('SIGKILL'));
  proc.stdout.pause(); // never read
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  assert.equal(code, 3);
});
