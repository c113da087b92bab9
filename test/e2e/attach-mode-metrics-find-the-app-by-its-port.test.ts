// In attach mode the app's process is found from its listening port (/proc/net/tcp inode →
// /proc/PID/fd), and its figures are reported as for an app Pillion started.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { adminAction, adminJson, scrape } from './admin-client.ts';
import { APP_CMD, startPillion } from './harness.ts';

test('attach mode reports the figures of the process holding the app port', async (t) => {
  const [cmd, ...args] = APP_CMD;
  const app = spawn(cmd, [...args, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => app.kill('SIGKILL'));
  const appPort = await new Promise<number>((resolve) => {
    createInterface({ input: app.stdout }).once('line', (l) => resolve(Number(l.split(' ').pop())));
  });
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--app-port', String(appPort)], {
    bin: true,
  });
  t.after(() => p.kill());
  await p.ready();
  const admin = await p.admin();
  const status = await adminJson<{ app: { pid: number; state: string } }>(admin, '/api/v1/status');
  assert.equal(status.app.pid, app.pid);
  assert.equal(status.app.state, 'ready');
  const stats = await adminJson<{ process: Record<string, Record<string, number>> }>(
    admin,
    '/api/v1/stats',
  );
  assert.equal(stats.process.app.processes, 1);
  assert.ok(stats.process.app.rss_bytes > 10 * 1024 * 1024, 'a Node process has its heap resident');
  assert.ok(stats.process.app.threads >= 2);
  assert.ok(stats.process.pillion.processes >= 1);
  const m = await scrape(admin);
  assert.equal(m.value('pillion_app_processes'), 1);
  assert.ok(m.value('pillion_process_resident_memory_bytes') > 0);
  // An app Pillion did not start is not Pillion's to restart.
  const r = await adminAction(admin, 'restart');
  assert.equal(r.status, 409);
  assert.equal(JSON.parse(r.body).error.code, 'PILLION_ADMIN_ACTION_REFUSED');
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
