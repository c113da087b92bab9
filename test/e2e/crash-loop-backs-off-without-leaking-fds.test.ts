import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { alive, eventually, startPillion, tempDir } from './harness.ts';

/** Open fds of a process, or -1 once it is gone. */
function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return Number(m?.[1] ?? 0);
}

/** The fewest fds seen over half a second. */
async function settledFds(pid: number): Promise<number> {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 25; i++) {
    min = Math.min(min, fdCount(pid));
    await new Promise((r) => setTimeout(r, 20));
  }
  return min;
}

test('an app that exits at once 200 times: back-off doubles to its cap, each restart is logged and counted, no fd leaks, then Pillion gives up with the app code', async (t) => {
  const max = 200;
  // While this file exists, the instance that starts next stays up for 5 s: the fds are then
  // sampled with one instance running and no restart in progress, however busy the machine.
  const hold = join(tempDir(), 'hold');
  const p = startPillion([
    'run',
    '--listen',
    '127.0.0.1:0',
    '--app-port',
    '1',
    '--restart',
    'on-failure',
    '--max-restarts',
    String(max),
    // It never becomes ready: without this, Pillion would give up after 5 exits.
    '--max-start-failures',
    '0',
    '--backoff-base',
    '2ms',
    '--backoff-max',
    '16ms',
    '--',
    '/bin/sh',
    '-c',
    `if [ -e ${hold} ]; then sleep 5; fi; exit 3`,
  ]);
  t.after(() => p.kill());
  const pid = p.proc.pid as number;
  const restarts = () => p.lines.filter((l) => l.msg === 'app restarted');
  /** fds and RSS while a held instance runs and no restart is in progress. */
  const sample = async (n: number): Promise<{ fds: number; rss: number }> => {
    await eventually(() => restarts().length >= n, 120_000, `${n} restarts`);
    writeFileSync(hold, '');
    try {
      for (let i = 0; i < 20; i++) {
        const before = restarts().length;
        await new Promise((r) => setTimeout(r, 300));
        const fds = await settledFds(pid);
        const running = alive(Number(restarts().at(-1)?.app_pid));
        if (restarts().length === before && running) return { fds, rss: rssKb(pid) };
      }
      throw new Error('no held instance to sample');
    } finally {
      rmSync(hold, { force: true });
    }
  };
  const { fds: early, rss: earlyRss } = await sample(20);
  const { fds: late, rss: lateRss } = await sample(120);
  assert.equal(await p.exited, 3, 'Pillion exits with the code of the app it gave up on');

  // 100 restarts between the samples, each taken with one held instance running: a leak of
  // even one fd per restart would show as 100.
  assert.ok(late <= early + 4, `fds: ${early} after 20 restarts, ${late} after 120`);
  t.diagnostic(`fds ${early} -> ${late}; rss ${earlyRss} kB -> ${lateRss} kB`);

  const planned = p.lines.filter((l) => l.msg === 'app exited; restarting after back-off');
  assert.equal(planned.length, max);
  assert.deepEqual(
    planned.slice(0, 6).map((l) => l.delay_ms),
    [2, 4, 8, 16, 16, 16],
  );
  assert.ok(planned.every((l) => l.reason === 'crashed' && l.status === 3));
  assert.deepEqual(
    planned.map((l) => l.restarts),
    Array.from({ length: max }, (_, i) => i + 1),
  );
  assert.equal(restarts().length, max);
  const gaveUp = p.lines.find((l) => l.msg === 'app exited and max restarts reached; giving up');
  assert.equal(gaveUp?.restarts, max);
  assert.equal(p.lines.filter((l) => l.msg === 'app started').length, max + 1);
});

test('back-off resets to its base after an instance ran for the healthy period', async (t) => {
  const p = startPillion([
    'run',
    '--listen',
    '127.0.0.1:0',
    '--app-port',
    '1',
    '--max-restarts',
    '4',
    '--backoff-base',
    '5ms',
    '--backoff-reset',
    '50ms',
    '--',
    '/bin/sh',
    '-c',
    'sleep 0.2; exit 1',
  ]);
  t.after(() => p.kill());
  assert.equal(await p.exited, 1);
  const planned = p.lines.filter((l) => l.msg === 'app exited; restarting after back-off');
  // Each instance ran 200 ms, past the 50 ms healthy period: never doubled.
  assert.deepEqual(
    planned.map((l) => l.delay_ms),
    [5, 5, 5, 5],
  );
});

test('restart policies: never and on-failure leave a clean exit alone; always restarts it', async (t) => {
  const run = async (policy: string, script: string) => {
    const p = startPillion([
      'run',
      '--listen',
      '127.0.0.1:0',
      '--app-port',
      '1',
      '--restart',
      policy,
      '--max-restarts',
      '2',
      '--backoff-base',
      '1ms',
      '--',
      '/bin/sh',
      '-c',
      script,
    ]);
    t.after(() => p.kill());
    const code = await p.exited;
    return { code, restarts: p.lines.filter((l) => l.msg === 'app restarted').length };
  };
  assert.deepEqual(await run('never', 'exit 7'), { code: 7, restarts: 0 });
  assert.deepEqual(await run('on-failure', 'exit 0'), { code: 0, restarts: 0 });
  assert.deepEqual(await run('on-failure', 'exit 9'), { code: 9, restarts: 2 });
  assert.deepEqual(await run('always', 'exit 0'), { code: 0, restarts: 2 });
});
