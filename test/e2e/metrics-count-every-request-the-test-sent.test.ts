// /metrics, scraped as Prometheus text and as OpenMetrics, counts exactly the traffic this test
// sent: 2xx over HTTP/1.1 and HTTP/2, 4xx refused at the edge, 502 (reset, unreachable), 504
// (app timeout) and 503 (app gone while held), with the same totals as the access log.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { type AdminAt, adminJson, scrape } from './admin-client.ts';
import { APP_CMD, eventually, h1Request, h2Request, startPillion, tempDir } from './harness.ts';

/** Sends raw bytes over TLS and resolves with the status line's code. */
function rawStatus(port: number, bytes: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({
      host: '127.0.0.1',
      port,
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    let got = '';
    s.on('secureConnect', () => s.write(bytes));
    s.on('data', (c) => {
      got += c;
    });
    s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0)));
    s.on('error', reject);
  });
}

test('metrics count the requests sent, by class and code, as the access log does', async (t) => {
  const dir = tempDir();
  const cfg = join(dir, 'pillion.yaml');
  writeFileSync(cfg, 'ingress:\n  limits:\n    upstream_timeout: 300ms\n');
  const p = startPillion([
    'run',
    '--config',
    cfg,
    '--listen',
    '127.0.0.1:0',
    // Once killed, the app stays down: a held request meets the restart window and gets a 503.
    '--backoff-base',
    '60s',
    '--restart-window',
    '300ms',
    '--',
    ...APP_CMD,
  ]);
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const admin: AdminAt = await p.admin();

  for (let i = 0; i < 5; i++) assert.equal((await h1Request(port, '/')).status, 200);
  const session = h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  for (let i = 0; i < 3; i++) assert.equal((await h2Request(session, '/')).status, 200);
  session.close();
  // Refused at the edge: a header line without a colon, and a target over max_uri_bytes.
  assert.equal(await rawStatus(port, 'GET / HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n'), 400);
  assert.equal((await h1Request(port, `/${'a'.repeat(10_000)}`)).status, 414);
  // From the proxy: the app resets the connection (twice), and does not answer in time.
  assert.equal((await h1Request(port, '/reset', { method: 'POST' })).status, 502);
  assert.equal((await h1Request(port, '/reset', { method: 'POST' })).status, 502);
  assert.equal((await h1Request(port, '/slow?ms=3000')).status, 504);
  // The app stops listening: the next request cannot connect.
  assert.equal((await h1Request(port, '/close-listener')).status, 200);
  assert.equal((await h1Request(port, '/')).status, 502);
  // The app is killed: a request is held for the restart window, then 503.
  const status = await adminJson<{ app: { pid: number } }>(admin, '/api/v1/status');
  process.kill(status.app.pid, 'SIGKILL');
  await p.waitForLog((l) => l.msg === 'app exited; restarting after back-off', 'the back-off');
  assert.equal((await h1Request(port, '/')).status, 503);

  const accessLines = () => p.lines.filter((l) => l.source === 'access');
  await eventually(() => accessLines().length === 16, 5000, '16 access lines');
  for (const om of [false, true]) {
    const m = await scrape(admin, om);
    const what = om ? 'OpenMetrics' : 'Prometheus text';
    assert.equal(m.sum('pillion_requests_total'), 16, what);
    assert.equal(m.sum('pillion_requests_total', { code: '2xx' }), 9, what);
    assert.equal(m.sum('pillion_requests_total', { code: '4xx' }), 2, what);
    assert.equal(m.sum('pillion_requests_total', { code: '5xx' }), 5, what);
    assert.equal(m.sum('pillion_requests_total', { protocol: 'HTTP/2' }), 3, what);
    assert.equal(
      m.value('pillion_requests_total', { protocol: 'HTTP/1.1', method: 'POST', code: '5xx' }),
      2,
    );
    assert.equal(m.value('pillion_edge_rejections_total', { code: 'PILLION_REQUEST_INVALID' }), 1);
    assert.equal(m.value('pillion_edge_rejections_total', { code: 'PILLION_URI_TOO_LONG' }), 1);
    assert.equal(m.value('pillion_proxy_errors_total', { code: 'PILLION_APP_RESET' }), 2);
    assert.equal(m.value('pillion_proxy_errors_total', { code: 'PILLION_APP_TIMEOUT' }), 1);
    assert.equal(m.value('pillion_proxy_errors_total', { code: 'PILLION_APP_UNREACHABLE' }), 1);
    assert.equal(m.value('pillion_proxy_errors_total', { code: 'PILLION_APP_NOT_READY' }), 1);
    assert.equal(m.value('pillion_app_connect_errors_total'), 1);
    assert.ok(m.value('pillion_requests_held_total') >= 1, 'the request held for the restart');
    // Every request in the latency histogram, under its protocol.
    assert.equal(m.sum('pillion_request_duration_seconds_count'), 16, what);
    assert.equal(
      m.value('pillion_request_duration_seconds_bucket', { protocol: 'HTTP/2', le: '+Inf' }),
      3,
    );
    assert.equal(m.value('pillion_app_last_exit_status', { reason: 'crashed' }), 137);
    assert.equal(m.value('pillion_app_ready'), 0);
    assert.ok(m.value('pillion_tls_handshakes_total') >= 12, 'one handshake per connection');
    assert.ok(m.value('pillion_received_bytes_total') > 10_000, 'the long target was received');
    assert.equal(m.types.get(om ? 'pillion_requests' : 'pillion_requests_total'), 'counter');
    assert.equal(m.types.get('pillion_request_duration_seconds'), 'histogram');
    // No label that could grow without bound: no path, no client address.
    for (const s of m.samples) {
      assert.deepEqual(
        Object.keys(s.labels).filter(
          (k) =>
            ![
              'protocol',
              'method',
              'code',
              'le',
              'reason',
              'stream',
              'sink',
              'result',
              'name',
            ].includes(k),
        ),
        [],
        `${s.name} labels`,
      );
      assert.ok(!Object.values(s.labels).some((v) => v.includes('aaaa') || v === '127.0.0.1'));
    }
  }
  // The access log agrees, class by class.
  const byClass = (c: number) =>
    accessLines().filter((l) => Math.floor(Number(l.status) / 100) === c).length;
  assert.deepEqual([byClass(2), byClass(4), byClass(5)], [9, 2, 5]);
  const stats = await adminJson<{
    requests: { total: number; by_status_class: Record<string, number> };
  }>(admin, '/api/v1/stats');
  assert.equal(stats.requests.total, 16);
  assert.deepEqual(stats.requests.by_status_class, {
    '1xx': 0,
    '2xx': 9,
    '3xx': 0,
    '4xx': 2,
    '5xx': 5,
  });
  p.proc.kill('SIGTERM');
  await p.exited;
});
