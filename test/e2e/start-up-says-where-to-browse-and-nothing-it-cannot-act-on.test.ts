// The first run: one line says where to point a browser, with the real ports; a plain
// "command not found" comes alone, without a warning about stopping what was started.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APP_CMD, startPillion } from './harness.ts';

test('one line says where to point a browser, with the real ports', async (t) => {
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', ...APP_CMD]);
  t.after(() => p.kill());
  const port = await p.port();
  const ready = await p.ready();
  const serving = await p.waitForLog((l) => l.msg.startsWith('serving '), 'the serving line');
  assert.equal(serving.msg, `serving https://127.0.0.1:${port} -> app 127.0.0.1:${ready.port}`);
  assert.equal(serving.url, `https://127.0.0.1:${port}`);
  assert.equal(p.lines.filter((l) => l.msg.startsWith('serving ')).length, 1);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});

test('a command that is not found is said once, with no warning before it', async () => {
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', 'no-such-command-pillion']);
  assert.equal(await p.exited, 127);
  assert.deepEqual(
    p.lines.filter((l) => /failed to start|stopping what was started/.test(l.msg)),
    [],
    'no "supervisor failed to start; stopping what was started" before it',
  );
  assert.equal(
    p.stderr(),
    'pillion: cannot start the app: command not found: no-such-command-pillion; check the name or give a full path\n',
  );
});
