import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { APP_CMD, alive, h1Request, startPillion } from './harness.ts';

test('with --app-port and no command, Pillion serves an app it did not start and exits 0 on SIGTERM', async (t) => {
  const [cmd, ...args] = APP_CMD;
  const app = spawn(cmd, [...args, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => app.kill('SIGKILL'));
  const appPort = await new Promise<number>((resolve) => {
    createInterface({ input: app.stdout }).once('line', (l) => resolve(Number(l.split(' ').pop())));
  });
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--app-port', String(appPort)]);
  t.after(() => p.kill());
  const port = await p.port();
  const ready = await p.ready();
  assert.equal(ready.port, appPort);
  const r = await h1Request(port, '/');
  assert.equal(r.status, 200);
  assert.equal(r.body, `hello from ${app.pid}\n`);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
  // The app was not Pillion's to stop.
  assert.equal(alive(app.pid as number), true);
});
