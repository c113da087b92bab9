import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APP_CMD, alive, eventually, startPillion } from './harness.ts';

test('Pillion SIGKILLed: the watchdog stops the app (stop signal), and is gone itself', async (t) => {
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', ...APP_CMD]);
  t.after(() => p.kill());
  const app = Number((await p.ready()).app_pid);
  const watchdog = Number(
    (await p.waitForLog((l) => l.msg === 'app watchdog started')).watchdog_pid,
  );
  assert.ok(alive(app) && alive(watchdog));
  p.proc.kill('SIGKILL');
  await p.exited;
  await eventually(() => !alive(app), 10_000, 'the app to exit');
  await eventually(() => !alive(watchdog), 10_000, 'the watchdog to exit');
});

test('Pillion SIGKILLed: an app group that ignores the stop signal gets SIGKILL after the stop timeout', async (t) => {
  const p = startPillion([
    'run',
    '--listen',
    '127.0.0.1:0',
    '--app-port',
    '1',
    '--stop-timeout',
    '300ms',
    '--',
    '/bin/sh',
    '-c',
    // The ignored TERM is inherited by sleep: only SIGKILL ends either.
    "trap '' TERM; sleep 60 & wait",
  ]);
  t.after(() => p.kill());
  const app = Number((await p.waitForLog((l) => l.msg === 'app started')).app_pid);
  p.proc.kill('SIGKILL');
  await p.exited;
  await eventually(() => !alive(app), 10_000, 'the app to be killed');
});

test('a normal stop leaves no watchdog behind', async (t) => {
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', ...APP_CMD]);
  t.after(() => p.kill());
  await p.ready();
  const watchdog = Number(
    (await p.waitForLog((l) => l.msg === 'app watchdog started')).watchdog_pid,
  );
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
  await eventually(() => !alive(watchdog), 10_000, 'the watchdog to exit');
});
