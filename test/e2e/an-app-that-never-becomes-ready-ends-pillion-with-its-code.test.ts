import assert from 'node:assert/strict';
import { test } from 'node:test';
import { h1Request, startPillion } from './harness.ts';

const crash = (code: number) => [process.execPath, '-e', `process.exit(${code})`];
const starts = (lines: { msg: string }[]) => lines.filter((l) => l.msg === 'app started').length;

test('an app that crashes at start 5 times in a row (the default) ends Pillion with its exit code', async (t) => {
  const p = startPillion(
    ['run', '--listen', '127.0.0.1:0', '--backoff-base', '10ms', '--', ...crash(3)],
    { bin: true },
  );
  t.after(() => p.kill());
  assert.equal(await p.exited, 3);
  assert.equal(starts(p.lines), 5);
  const gaveUp = p.lines.find((l) => l.msg === 'app exited without ever becoming ready; giving up');
  assert.ok(gaveUp);
  assert.equal(gaveUp.failures, 5);
  assert.equal(gaveUp.status, 3);
});

test('--max-start-failures sets N; while the app is in back-off, the 503 says why', async (t) => {
  const p = startPillion(
    [
      'run',
      '--listen',
      '127.0.0.1:0',
      '--backoff-base',
      '3s',
      '--ready-timeout',
      '200ms',
      '--max-start-failures',
      '2',
      '--',
      ...crash(4),
    ],
    { bin: true },
  );
  t.after(() => p.kill());
  const port = await p.port();
  await p.waitForLog((l) => l.msg === 'app exited; restarting after back-off');
  const r = await h1Request(port, '/');
  assert.equal(r.status, 503);
  assert.match(r.body, /the app exited with status 4; next start in \d+\.\d s/);
  assert.equal(await p.exited, 4);
  assert.equal(starts(p.lines), 2);
});

test('with --max-start-failures 0 the policy restarts the app until --max-restarts', async (t) => {
  const p = startPillion(
    [
      'run',
      '--listen',
      '127.0.0.1:0',
      '--backoff-base',
      '5ms',
      '--max-start-failures',
      '0',
      '--max-restarts',
      '7',
      '--',
      ...crash(5),
    ],
    { bin: true },
  );
  t.after(() => p.kill());
  assert.equal(await p.exited, 5);
  assert.equal(starts(p.lines), 8);
});
