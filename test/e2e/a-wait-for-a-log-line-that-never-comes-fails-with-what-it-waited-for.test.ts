// The harness's waitForLog is bounded: a line that never comes fails the test with what it
// waited for and what Pillion said, instead of leaving the run hanging.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APP_CMD, startPillion } from './harness.ts';

test('waitForLog rejects, naming what it waited for, when the line never comes', async (t) => {
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', ...APP_CMD]);
  t.after(() => p.kill());
  await p.ready();
  await assert.rejects(
    p.waitForLog(() => false, 'a line no one writes', 300),
    (err: Error) => {
      assert.match(err.message, /^no a line no one writes within 300 ms; stderr: /);
      // What Pillion said is in the message, to tell why.
      assert.match(err.message, /"msg":"app ready"/);
      return true;
    },
  );
  // A line that is there still resolves, and the timer does not outlive it.
  assert.equal(
    (await p.waitForLog((l) => l.msg === 'app ready', 'app ready', 300)).msg,
    'app ready',
  );
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
