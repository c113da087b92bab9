import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APP_CMD, alive, type Pillion, startPillion } from './harness.ts';

/** The PID the app's shell printed as `left PID`. */
async function leftPid(p: Pillion): Promise<number> {
  const line = await p.waitForLog(
    (l) => l.source === 'app' && /^left \d+$/.test(l.msg),
    'the left-behind PID',
  );
  return Number(line.msg.slice(5));
}

test("an app that exits leaving a background process: Pillion stops what is left of the app's group and exits", async (t) => {
  const p = startPillion(
    ['run', '--listen', '127.0.0.1:0', '--', '/bin/sh', '-c', 'sleep 1000 & echo "left $!"'],
    { bin: true },
  );
  t.after(() => p.kill());
  const pid = await leftPid(p);
  assert.equal(await p.exited, 0);
  assert.equal(alive(pid), false, 'the sleep is gone once Pillion has exited');
  assert.ok(
    p.lines.some((l) => l.msg === 'the app left processes in its process group; stopping them'),
  );
});

test('on stop, a left-behind process that ignores the stop signal is killed after the stop timeout', async (t) => {
  // The app keeps running (it serves); beside it, a child that ignores SIGTERM.
  const script = `(trap '' TERM; exec sleep 1000) & echo "left $!"; exec "$@"`;
  const p = startPillion(
    [
      'run',
      '--listen',
      '127.0.0.1:0',
      '--stop-timeout',
      '1s',
      '--',
      '/bin/sh',
      '-c',
      script,
      'sh',
      ...APP_CMD,
    ],
    { bin: true },
  );
  t.after(() => p.kill());
  const pid = await leftPid(p);
  await p.ready();
  assert.equal(alive(pid), true);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
  assert.equal(alive(pid), false, 'the child that ignored SIGTERM was killed');
  const msgs = p.lines.map((l) => l.msg);
  assert.ok(msgs.includes('processes left by the app did not stop in time; sending SIGKILL'));
});

test('an app that crashes leaving a child: the child is stopped before the app is started again', async (t) => {
  const script = `sleep 1000 & echo "left $!"; exec "$@"`;
  const p = startPillion(
    ['run', '--listen', '127.0.0.1:0', '--', '/bin/sh', '-c', script, 'sh', ...APP_CMD],
    { bin: true },
  );
  t.after(() => p.kill());
  const first = await leftPid(p);
  const ready = await p.ready();
  process.kill(Number(ready.app_pid), 'SIGKILL');
  await p.waitForLog((l) => l.msg === 'app restarted', 'the restart');
  assert.equal(alive(first), false, "the first instance's child is gone");
  const msgs = p.lines.map((l) => l.msg);
  assert.ok(
    msgs.indexOf('the app left processes in its process group; stopping them') <
      msgs.indexOf('app restarted'),
  );
  p.proc.kill('SIGTERM');
  await p.exited;
});
