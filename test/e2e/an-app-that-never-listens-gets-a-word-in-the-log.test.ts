import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort } from './chaos.ts';
import { APP_CMD, h1Request, startPillion } from './harness.ts';

const notReady = (l: { msg: string; level: string }) =>
  l.level === 'warn' && l.msg.startsWith('app not ready: ');

test('an app listening on another port than --app-port: the log says what Pillion sees, and so does the 503', async (t) => {
  const given = await freePort();
  let other = await freePort();
  while (other === given) other = await freePort();
  const p = startPillion(
    [
      'run',
      '--listen',
      '127.0.0.1:0',
      '--app-port',
      String(given),
      '--ready-timeout',
      '200ms',
      '--',
      ...APP_CMD,
      String(other), // the fixture app listens on its argument when given one
    ],
    { bin: true },
  );
  t.after(() => p.kill());
  const port = await p.port();
  const line = await p.waitForLog(notReady, 'the not-ready warning');
  // The first word comes at 5 s; on a loaded machine the count it gives may be a second on.
  assert.match(
    line.msg,
    new RegExp(
      `^app not ready: nothing listens on port ${given} after [56] s; the app's tree listens on ${other}; PORT=${given} was set$`,
    ),
  );
  const r = await h1Request(port, '/');
  assert.equal(r.status, 503);
  assert.ok(r.body.includes(`the app's tree listens on ${other}`), r.body);
  p.proc.kill('SIGTERM');
  await p.exited;
});

test('an app that never listens: the log says no port is seen, and what PORT was', async (t) => {
  const p = startPillion(
    ['run', '--listen', '127.0.0.1:0', '--', process.execPath, '-e', 'setInterval(() => {}, 1000)'],
    { bin: true },
  );
  t.after(() => p.kill());
  const line = await p.waitForLog(notReady, 'the not-ready warning');
  assert.match(
    line.msg,
    /^app not ready: no listening port after [56] s; the app's tree listens on no TCP port; PORT=\d+ was set$/,
  );
  p.proc.kill('SIGTERM');
  await p.exited;
});
