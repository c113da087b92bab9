// S5 through the published CLI: the admin listener answers /healthz, /readyz and /metrics to
// anyone on loopback, and everything else only to `Authorization: Bearer TOKEN` exactly; a
// foreign Host (DNS rebinding) is refused even with the token; no CORS; no change over GET.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { test } from 'node:test';
import { adminRequest } from './admin-client.ts';
import { APP_CMD, startPillion } from './harness.ts';

test('the admin API refuses every request without the exact token, and foreign Hosts', async (t) => {
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', ...APP_CMD], { bin: true });
  t.after(() => p.kill());
  await p.ready();
  const admin = await p.admin();
  const serving = await p.waitForLog((l) => l.msg.startsWith('serving '), 'the serving line');
  assert.equal(serving.admin, `${admin.host}:${admin.port}`);
  assert.equal(statSync(String(serving.admin_token_file)).mode & 0o777, 0o600);

  for (const path of ['/healthz', '/readyz', '/metrics']) {
    assert.equal((await adminRequest(admin, path, { auth: false })).status, 200, path);
  }
  const t0 = admin.token;
  const probes: [string, string, Record<string, string>][] = [
    ['no token', '/api/v1/status', {}],
    [
      'a wrong token',
      '/api/v1/status',
      { authorization: `Bearer ${t0.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))}` },
    ],
    ['the token in the query', `/api/v1/status?token=${t0}&access_token=${t0}`, {}],
    [
      'the token with a space and more after it',
      '/api/v1/status',
      { authorization: `Bearer ${t0} x` },
    ],
    ['the token as a cookie', '/api/v1/config', { cookie: `token=${t0}` }],
    ['the token without its scheme', '/api/v1/logs', { authorization: t0 }],
  ];
  for (const [what, path, headers] of probes) {
    const r = await adminRequest(admin, path, { auth: false, headers });
    assert.equal(r.status, 401, what);
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="pillion"');
    assert.equal(JSON.parse(r.body).error.code, 'PILLION_ADMIN_UNAUTHORIZED');
  }
  for (const host of [
    'attacker.example',
    `attacker.example:${admin.port}`,
    `127.0.0.1:${admin.port + 1}`,
  ]) {
    const r = await adminRequest(admin, '/api/v1/status', { headers: { host } });
    assert.equal(r.status, 421, host);
    assert.equal(JSON.parse(r.body).error.code, 'PILLION_ADMIN_HOST_REFUSED');
  }
  // The right token, the right Host: served, with no CORS header even when an Origin asks.
  const ok = await adminRequest(admin, '/api/v1/status', {
    headers: { origin: 'https://attacker.example' },
  });
  assert.equal(ok.status, 200);
  assert.deepEqual(
    Object.keys(ok.headers).filter((h) => h.startsWith('access-control-')),
    [],
  );
  // No state change over GET, and none over POST without the CSRF header.
  for (const action of ['restart', 'drain', 'reload']) {
    assert.equal((await adminRequest(admin, `/api/v1/${action}`)).status, 405, `GET ${action}`);
    const post = await adminRequest(admin, `/api/v1/${action}`, { method: 'POST' });
    assert.equal(post.status, 403, `POST ${action} without CSRF`);
  }
  const status = JSON.parse(ok.body);
  assert.equal(status.app.restarts, 0, 'no refused request restarted the app');
  assert.equal(status.draining, false, 'no refused request began a drain');
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
