import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { APP_CMD, eventually, readEvents, startPillion, tempDir } from './harness.ts';

test('SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH, and SIGHUP with --forward-sighup, are forwarded to the app at once', async (t) => {
  const events = join(tempDir(), 'events');
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--forward-sighup', '--', ...APP_CMD], {
    env: { APP_EVENTS: events },
  });
  t.after(() => p.kill());
  await p.ready();
  const rounds = 5;
  const signals = ['SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;
  for (let round = 0; round < rounds; round++) {
    for (const sig of signals) {
      const before = readEvents(events).filter((e) => e === `signal ${sig}`).length;
      p.proc.kill(sig);
      await eventually(
        () => readEvents(events).filter((e) => e === `signal ${sig}`).length === before + 1,
        10_000,
        `${sig} to reach the app`,
      );
    }
  }
  for (const sig of signals) {
    assert.equal(readEvents(events).filter((e) => e === `signal ${sig}`).length, rounds, sig);
  }
  // Pillion itself is still serving.
  assert.equal(p.proc.exitCode, null);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  test(`${sig} drains, then reaches the app, and Pillion exits with the app's code`, async (t) => {
    const events = join(tempDir(), 'events');
    const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', ...APP_CMD], {
      env: { APP_EVENTS: events, APP_EXIT_ON_TERM: '7' },
    });
    t.after(() => p.kill());
    await p.ready();
    p.proc.kill(sig);
    assert.equal(await p.exited, 7);
    assert.ok(readEvents(events).includes(`signal ${sig}`));
    const order = p.lines.map((l) => l.msg);
    assert.ok(
      order.indexOf('ingress stopped') < order.indexOf('stopping app'),
      'the drain comes before the app is signalled',
    );
  });
}

test('SIGHUP reloads pillion.yaml and does not reach the app (as NGINX takes it)', async (t) => {
  const dir = tempDir();
  const events = join(dir, 'events');
  const file = join(dir, 'pillion.yaml');
  writeFileSync(file, 'app:\n  config: { n: 1 }\ningress:\n  listen: 127.0.0.1:0\n');
  const p = startPillion(['run', '--config', file, '--', ...APP_CMD], {
    env: { APP_EVENTS: events },
  });
  t.after(() => p.kill());
  await p.ready();
  p.proc.kill('SIGHUP');
  const reloaded = await p.waitForLog((l) => l.msg === 'config reloaded', 'the reload');
  assert.equal(reloaded.reloads, 1);
  // A signal sent after it, to know the app has had the time to record a SIGHUP.
  p.proc.kill('SIGUSR1');
  await eventually(() => readEvents(events).includes('signal SIGUSR1'), 10_000, 'SIGUSR1');
  assert.equal(readEvents(events).filter((e) => e === 'signal SIGHUP').length, 0);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
