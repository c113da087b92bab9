import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from './chaos.ts';
import { APP_CMD, eventually, h1Request, readEvents, startPillion, tempDir } from './harness.ts';

test('attach mode: Pillion finds the PID of the app that holds the port, and a readiness check gates it', async (t) => {
  const dir = tempDir();
  const events = join(dir, 'events');
  const flag = join(dir, 'ready');
  const appPort = await freePort();
  const app = spawn(APP_CMD[0], [APP_CMD[1], String(appPort)], {
    env: { ...process.env, APP_EVENTS: events },
    stdio: 'ignore',
  });
  t.after(() => app.kill('SIGKILL'));
  await eventually(() => readEvents(events).some((e) => e.startsWith('listening')), 10_000);

  const p = startPillion([
    'run',
    '--listen',
    '127.0.0.1:0',
    '--app-port',
    String(appPort),
    '--readiness',
    `exec:test -f ${flag}`,
  ]);
  t.after(() => p.kill());
  const port = await p.port();
  const held = h1Request(port, '/');
  writeFileSync(flag, '');
  const ready = await p.ready();
  assert.equal(ready.app_pid, app.pid);
  assert.equal((await held).body, `hello from ${app.pid}\n`);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0, p.stderr() + p.lines.map((l) => JSON.stringify(l)).join('\n'));
  assert.equal(app.exitCode, null, 'an attached app is not stopped by Pillion');
});
