// With ingress.workers above 1 the requests are served in the worker processes: /metrics and
// /api/v1/stats sum every worker's counters, asked for at each scrape.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminJson, scrape } from './admin-client.ts';
import { APP_CMD, h1Request, startPillion } from './harness.ts';

test('metrics with two workers count the requests of both', async (t) => {
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--workers', '2', '--', ...APP_CMD]);
  t.after(() => p.kill());
  const listening = await p.waitForLog((l) => l.msg === 'workers listening', 'workers listening');
  const port = Number(listening.port);
  await p.ready();
  const admin = await p.admin();
  // Fresh connections: the kernel spreads them over both workers.
  for (let i = 0; i < 30; i++) assert.equal((await h1Request(port, '/')).status, 200);
  assert.equal((await h1Request(port, `/${'a'.repeat(10_000)}`)).status, 414);
  const m = await scrape(admin);
  assert.equal(m.sum('pillion_requests_total'), 31);
  assert.equal(m.sum('pillion_requests_total', { code: '2xx' }), 30);
  assert.equal(m.value('pillion_edge_rejections_total', { code: 'PILLION_URI_TOO_LONG' }), 1);
  assert.equal(m.sum('pillion_request_duration_seconds_count'), 31);
  assert.ok(m.value('pillion_tls_handshakes_total') >= 31);
  // Each worker has its own TLS terminator and the primary none: its counters are not exported.
  for (const name of [
    'pillion_tls_certificate_reloads_total',
    'pillion_tls_sni_errors_total',
    'pillion_tls_ticket_key_rotations_total',
  ])
    assert.ok(!m.samples.some((s) => s.name === name), name);
  const stats = await adminJson<{ requests: { total: number } }>(admin, '/api/v1/stats');
  assert.equal(stats.requests.total, 31);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
