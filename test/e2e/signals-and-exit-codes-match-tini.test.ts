// Differential: the same app under Pillion and under Debian's tini (the reference init) must
// receive the same signals and give the same exit codes.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { APP_CMD, eventually, readEvents, startPillion, tempDir } from './harness.ts';

const FORWARDED = ['SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;

interface Runner {
  proc: ChildProcess;
  exited: Promise<number>;
  kill(): void;
}

function underPillion(flags: string[], cmd: string[], env: NodeJS.ProcessEnv): Runner {
  // SIGHUP reaches the app only with --forward-sighup (by default it reloads pillion.yaml).
  const p = startPillion(
    ['run', '--listen', '127.0.0.1:0', '--forward-sighup', ...flags, '--', ...cmd],
    { env },
  );
  return { proc: p.proc, exited: p.exited, kill: p.kill };
}

function underTini(flags: string[], cmd: string[], env: NodeJS.ProcessEnv): Runner {
  // -s: a subreaper, since tini is not PID 1 here.
  const proc = spawn('tini', ['-s', ...flags, '--', ...cmd], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  const exited = new Promise<number>((resolve) => {
    proc.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 0)));
  });
  return { proc, exited, kill: () => proc.kill('SIGKILL') };
}

const received = (file: string, sig: string): number =>
  readEvents(file).filter((e) => e === `signal ${sig}`).length;

/**
 * Sends every forwardable signal `rounds` times; before each round, waits until every app
 * has recorded the last one (a pending signal of one kind is not queued twice).
 */
async function rounds(runner: Runner, files: string[], n: number): Promise<void> {
  for (let r = 1; r <= n; r++) {
    for (const sig of FORWARDED) process.kill(runner.proc.pid as number, sig);
    await eventually(
      () => files.every((f) => FORWARDED.every((sig) => received(f, sig) >= r)),
      10_000,
      `round ${r}`,
    );
  }
}

async function listening(files: string[]): Promise<void> {
  await eventually(
    () => files.every((f) => readEvents(f).some((e) => e.startsWith('listening'))),
    15_000,
    'app listening',
  );
}

test('50 rounds of HUP, QUIT, USR1, USR2, WINCH then INT: every one reaches the app, as under tini', async (t) => {
  const results: Record<string, Record<string, number>> = {};
  await Promise.all(
    (['pillion', 'tini'] as const).map(async (who) => {
      const file = join(tempDir(), 'events');
      const env = { APP_EVENTS: file, PORT: '0' };
      const r = who === 'pillion' ? underPillion([], APP_CMD, env) : underTini([], APP_CMD, env);
      t.after(() => r.kill());
      await listening([file]);
      await rounds(r, [file], 50);
      process.kill(r.proc.pid as number, 'SIGINT');
      assert.equal(await r.exited, 0, who);
      results[who] = Object.fromEntries(
        [...FORWARDED, 'SIGINT'].map((sig) => [sig, received(file, sig)]),
      );
    }),
  );
  assert.deepEqual(results.pillion, {
    ...Object.fromEntries(FORWARDED.map((s) => [s, 50])),
    SIGINT: 1,
  });
  assert.deepEqual(results.pillion, results.tini);
});

test('--signal-group delivers to every process in the app group, as tini -g does', async (t) => {
  const results: Record<string, number[]> = {};
  await Promise.all(
    (['pillion', 'tini'] as const).map(async (who) => {
      const dir = tempDir();
      const [f1, f2] = [join(dir, 'bg'), join(dir, 'leader')];
      const [node, app] = APP_CMD;
      // A background app and the group leader: only a group signal reaches both.
      const script = `APP_EVENTS=${f1} "${node}" "${app}" 0 & APP_EVENTS=${f2} exec "${node}" "${app}" 0`;
      const cmd = ['/bin/sh', '-c', script];
      const r =
        who === 'pillion'
          ? underPillion(['--signal-group', '--app-port', '1'], cmd, {})
          : underTini(['-g'], cmd, {});
      t.after(() => r.kill());
      await listening([f1, f2]);
      await rounds(r, [f1, f2], 10);
      process.kill(r.proc.pid as number, 'SIGTERM');
      await r.exited;
      await eventually(() => received(f1, 'SIGTERM') === 1, 10_000, 'background app stopped');
      results[who] = [f1, f2].flatMap((f) => [...FORWARDED, 'SIGTERM'].map((s) => received(f, s)));
    }),
  );
  assert.deepEqual(results.pillion, [10, 10, 10, 10, 10, 1, 10, 10, 10, 10, 10, 1]);
  assert.deepEqual(results.pillion, results.tini);
});

test('exit codes pass through (128+N for a signal), and --remap-exit turns chosen codes into others, as tini -e does', async (t) => {
  const table: [script: string, remap: string[], want: number][] = [
    ['exit 0', [], 0],
    ['exit 1', [], 1],
    ['exit 2', [], 2],
    ['exit 42', [], 42],
    ['exit 255', [], 255],
    ['kill -TERM $$', [], 143],
    ['kill -KILL $$', [], 137],
    ['kill -SEGV $$', [], 139],
    ['exit 143', ['143'], 0],
    ['kill -TERM $$', ['143'], 0],
    ['exit 3', ['143'], 3],
  ];
  for (const [script, remap, want] of table) {
    const cmd = ['/bin/sh', '-c', script];
    const p = underPillion(
      ['--restart', 'never', '--app-port', '1', ...remap.flatMap((c) => ['--remap-exit', c])],
      cmd,
      {},
    );
    const tini = underTini(
      remap.flatMap((c) => ['-e', c]),
      cmd,
      {},
    );
    t.after(() => {
      p.kill();
      tini.kill();
    });
    const [got, ref] = await Promise.all([p.exited, tini.exited]);
    assert.equal(got, want, `${script} ${remap}`);
    assert.equal(got, ref, `${script} ${remap}: tini gave ${ref}`);
  }
});
