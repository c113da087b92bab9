import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { seqLine } from '../fixtures/seq-lines.ts';
import { alive, eventually, tempDir } from './harness.ts';
import { runSeq } from './seq-run.ts';

/** What may be lost when Pillion is SIGKILLed: its queue bound plus one read of each pipe. */
const LOSS_BOUND_BYTES = 16 * 1024 * 1024 + 2 * 64 * 1024;

test('Pillion SIGKILLed: the app is not left blocked, and the loss stays within the bound', async (t) => {
  const done = join(tempDir(), 'done.json');
  const run = runSeq([], ['--until-term', '--count', '5000000', '--done', done], 'small');
  let appPid = 0;
  t.after(() => {
    run.proc.kill('SIGKILL');
    if (appPid && alive(appPid)) process.kill(appPid, 'SIGKILL');
  });
  await eventually(() => run.others.some((l) => l.msg === 'app started'), 10_000, 'app started');
  appPid = Number(run.others.find((l) => l.msg === 'app started')?.app_pid);
  await eventually(() => run.verifier.report('stdout', 0).received > 1000, 10_000, 'lines flowing');
  run.proc.kill('SIGKILL');
  await run.exited;
  // Its pipes lost their reader: the app's next write fails (EPIPE) instead of blocking.
  await eventually(() => !alive(appPid), 10_000, 'the app to stop writing into a dead pipe');
  assert.ok(existsSync(done), 'the app saw EPIPE and recorded how far it got');
  const written = JSON.parse(readFileSync(done, 'utf8')) as Record<'stdout' | 'stderr', number>;
  for (const stream of ['stdout', 'stderr'] as const) {
    const rep = run.verifier.report(stream, written[stream]);
    // What arrived is whole, in order and a prefix of what was written.
    assert.equal(
      rep.duplicated + rep.reordered + rep.corrupted + rep.partial,
      0,
      rep.examples.join('\n'),
    );
    let lostBytes = 0;
    for (let i = rep.received; i < written[stream]; i++)
      lostBytes += Buffer.byteLength(seqLine(stream, i, 'small')) + 1;
    assert.equal(rep.lost, written[stream] - rep.received);
    assert.ok(lostBytes <= LOSS_BOUND_BYTES, `${stream}: ${lostBytes} bytes lost`);
  }
});
