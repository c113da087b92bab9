import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { APP_CMD, eventually, h1Request, readEvents, startPillion, tempDir } from './harness.ts';

test('an exec readiness check holds requests until it passes, though the port already listens', async (t) => {
  const dir = tempDir();
  const events = join(dir, 'events');
  const flag = join(dir, 'ready');
  const p = startPillion(
    ['run', '--listen', '127.0.0.1:0', '--readiness', `exec:test -f ${flag}`, '--', ...APP_CMD],
    { env: { APP_EVENTS: events } },
  );
  t.after(() => p.kill());
  const port = await p.port();
  await eventually(() => readEvents(events).some((e) => e.startsWith('listening')), 10_000);
  const held = h1Request(port, '/held');
  // The app listens but the check fails: no ready line, and the request has not reached it.
  assert.equal(
    p.lines.find((l) => l.msg === 'app ready'),
    undefined,
  );
  writeFileSync(flag, '');
  const reply = await held;
  assert.equal(reply.status, 200);
  const ready = await p.ready();
  assert.equal(ready.probe, 'exec');
  const order = readEvents(events);
  assert.ok(order.findIndex((e) => e.startsWith('request GET /held')) > 0);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});

test('an http readiness check with an expected status gates readiness', async (t) => {
  const p = startPillion([
    'run',
    '--listen',
    '127.0.0.1:0',
    '--readiness',
    'http:/live=200',
    '--',
    ...APP_CMD,
  ]);
  t.after(() => p.kill());
  const port = await p.port();
  assert.equal((await p.ready()).probe, 'http');
  assert.equal((await h1Request(port, '/')).status, 200);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});

test('a liveness check that fails its threshold restarts the app, and logs why', async (t) => {
  const dir = tempDir();
  const sick = join(dir, 'sick');
  const p = startPillion(
    [
      'run',
      '--listen',
      '127.0.0.1:0',
      '--liveness',
      'http:/live',
      '--liveness-interval',
      '50ms',
      '--liveness-failures',
      '3',
      '--',
      ...APP_CMD,
    ],
    { env: { APP_SICK: sick } },
  );
  t.after(() => p.kill());
  const port = await p.port();
  const first = Number((await p.ready()).app_pid);
  writeFileSync(sick, '');
  const restarting = await p.waitForLog((l) => l.msg === 'restarting app', 'restarting app');
  assert.equal(restarting.reason, 'liveness');
  assert.equal(restarting.app_pid, first);
  const failures = p.lines.filter((l) => l.msg === 'liveness check failed');
  assert.deepEqual(
    failures.slice(0, 3).map((l) => l.failures),
    [1, 2, 3],
  );
  rmSync(sick);
  const second = await p.waitForLog(
    (l) => l.msg === 'app ready' && l.app_pid !== first,
    'the new instance ready',
  );
  const reply = await h1Request(port, '/');
  assert.equal(reply.body, `hello from ${second.app_pid}\n`);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});

test('--stop-signal and --stop-timeout: the app gets the configured signal, then SIGKILL', async (t) => {
  const dir = tempDir();
  const events = join(dir, 'events');
  const p = startPillion(
    [
      'run',
      '--listen',
      '127.0.0.1:0',
      '--stop-signal',
      'SIGUSR1',
      '--stop-timeout',
      '200ms',
      '--',
      ...APP_CMD,
    ],
    { env: { APP_EVENTS: events } },
  );
  t.after(() => p.kill());
  await p.ready();
  p.proc.kill('SIGTERM');
  // The fixture only records SIGUSR1, so the stop timeout runs out and SIGKILL ends it: 128+9.
  assert.equal(await p.exited, 137);
  const got = readEvents(events).filter((e) => e.startsWith('signal'));
  assert.deepEqual(got, ['signal SIGUSR1']);
  assert.ok(p.lines.some((l) => l.msg === 'app did not stop in time; sending SIGKILL'));
});

test('--readiness-interval: a failing readiness check takes the app out of service until it passes again', async (t) => {
  const dir = tempDir();
  const sick = join(dir, 'sick');
  const p = startPillion(
    [
      'run',
      '--listen',
      '127.0.0.1:0',
      '--readiness',
      'http:/live',
      '--readiness-interval',
      '50ms',
      '--',
      ...APP_CMD,
    ],
    { env: { APP_SICK: sick } },
  );
  t.after(() => p.kill());
  const port = await p.port();
  const ready = await p.ready();
  writeFileSync(sick, '');
  await p.waitForLog((l) => l.msg === 'app no longer ready', 'app no longer ready');
  const held = h1Request(port, '/while-unready');
  rmSync(sick);
  const again = await p.waitForLog((l) => l.msg === 'app ready again', 'app ready again');
  assert.equal(again.app_pid, ready.app_pid, 'the same instance, not restarted');
  assert.equal((await held).status, 200);
  const access = await p.waitForLog((l) => l.source === 'access' && l.path === '/while-unready');
  assert.ok(
    p.lines.indexOf(again) < p.lines.indexOf(access),
    'the held request was answered only after the app was ready again',
  );
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
