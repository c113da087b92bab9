// The admin API's actions through the real CLI: restart holds requests (none fails), reload
// applies the file as one transaction and answers its result (or the rejection), and drain
// turns /readyz false at once, then Pillion exits 0.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { adminAction, adminJson, adminRequest, scrape } from './admin-client.ts';
import { APP_CMD, h1Request, startPillion, tempDir } from './harness.ts';

test('restart over the API holds requests and fails none', async (t) => {
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', ...APP_CMD], { bin: true });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const admin = await p.admin();
  const before = await adminJson<{ app: { pid: number } }>(admin, '/api/v1/status');
  // Requests keep coming while the app is replaced: a bounded loop of 200 at most.
  let stop = false;
  const statuses: number[] = [];
  const load = (async () => {
    for (let i = 0; i < 200 && !stop; i++) statuses.push((await h1Request(port, '/')).status);
  })();
  const r = await adminAction(admin, 'restart');
  stop = true;
  await load;
  assert.equal(r.status, 200, r.body);
  const body = JSON.parse(r.body);
  assert.equal(body.ok, true);
  assert.equal(body.restarts, 1);
  assert.notEqual(body.pid, before.app.pid);
  assert.ok(statuses.length > 0);
  assert.deepEqual([...new Set(statuses)], [200], 'no request failed');
  const after = await adminJson<{ app: Record<string, unknown> }>(admin, '/api/v1/status');
  assert.equal(after.app.state, 'ready');
  assert.deepEqual(after.app.last_exit, { code: 0, signal: null, reason: 'restarted' });
  const m = await scrape(admin);
  assert.equal(m.value('pillion_app_restarts_total'), 1);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});

test('reload over the API answers what applied, and a rejection with its error', async (t) => {
  const dir = tempDir();
  const cfg = join(dir, 'pillion.yaml');
  writeFileSync(cfg, 'app:\n  config: { greeting: hello }\n');
  const p = startPillion(['run', '--config', cfg, '--listen', '127.0.0.1:0', '--', ...APP_CMD], {
    bin: true,
  });
  t.after(() => p.kill());
  await p.ready();
  const admin = await p.admin();
  writeFileSync(cfg, 'app:\n  config: { greeting: bonjour }\n');
  const ok = await adminAction(admin, 'reload');
  assert.equal(ok.status, 200, ok.body);
  const applied = JSON.parse(ok.body);
  assert.equal(applied.ok, true);
  assert.ok(applied.applied.includes('app.config'), ok.body);
  const shown = await adminJson<{ app: { config: unknown } }>(admin, '/api/v1/config');
  assert.deepEqual(shown.app.config, { greeting: 'bonjour' });

  writeFileSync(cfg, 'app:\n  config: { greeting: bonjour }\n  stop_timeout: soon\n');
  const bad = await adminAction(admin, 'reload');
  assert.equal(bad.status, 422, bad.body);
  const rejected = JSON.parse(bad.body);
  assert.equal(rejected.ok, false);
  assert.equal(rejected.error.code, 'PILLION_CONFIG_INVALID');
  assert.match(rejected.error.message.join('\n'), /pillion\.yaml:3:\d+: app\.stop_timeout/);
  const m = await scrape(admin);
  assert.ok(m.value('pillion_config_reloads_total', { result: 'applied' }) >= 1);
  assert.ok(m.value('pillion_config_reloads_total', { result: 'rejected' }) >= 1);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});

test('drain over the API turns /readyz false at once, then Pillion exits 0', async (t) => {
  const p = startPillion(
    ['run', '--listen', '127.0.0.1:0', '--drain-delay', '2s', '--', ...APP_CMD],
    { bin: true },
  );
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const admin = await p.admin();
  assert.equal((await adminRequest(admin, '/readyz', { auth: false })).status, 200);
  const r = await adminAction(admin, 'drain');
  assert.equal(r.status, 202);
  const ready = await adminRequest(admin, '/readyz', { auth: false });
  assert.equal(ready.status, 503);
  assert.deepEqual(JSON.parse(ready.body), { ready: false, reason: 'draining' });
  // The drain delay: still serving, while readiness already says no.
  assert.equal((await h1Request(port, '/')).status, 200);
  const status = await adminJson<{ draining: boolean; ready: boolean }>(admin, '/api/v1/status');
  assert.equal(status.draining, true);
  assert.equal(status.ready, false);
  assert.equal(await p.exited, 0);
});
