// Lifecycle timings apply live: a stop timeout of 10 minutes, reloaded to 200 ms, is the one
// the running app gets. The app ignores its stop signal (SIGUSR1 here), so Pillion's stop ends
// with SIGKILL after the reloaded timeout; with the old one it would wait ten minutes.
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { APP_CMD, readEvents, startPillion, tempDir } from './harness.ts';

test('a stop timeout changed by a reload is the one the running app gets', async (t) => {
  const dir = tempDir();
  const events = join(dir, 'events');
  const file = join(dir, 'pillion.yaml');
  const config = (timeout: string) =>
    `app:\n  stop_signal: SIGUSR1\n  stop_timeout: ${timeout}\ningress:\n  listen: 127.0.0.1:0\n`;
  writeFileSync(file, config('10m'));
  const p = startPillion(['run', '--config', file, '--', ...APP_CMD], {
    env: { APP_EVENTS: events },
  });
  t.after(() => p.kill());
  await p.ready();
  writeFileSync(`${file}.tmp`, config('200ms'));
  renameSync(`${file}.tmp`, file);
  const applied = await p.waitForLog((l) => l.msg === 'config applied', 'the reload');
  assert.deepEqual(applied.fields, ['app.stop_timeout']);
  p.proc.kill('SIGTERM');
  // SIGKILL after the stop signal went unheeded: 128 + 9.
  assert.equal(await p.exited, 137);
  assert.ok(readEvents(events).includes('signal SIGUSR1'), 'the app got its stop signal first');
});
