// /metrics counts the TLS terminator's work as the log tells it: a rotated certificate pair is
// one `pillion_tls_certificate_reloads_total{result="ok"}`, a mismatched pair one
// `{result="failed"}`, and plain HTTP sent to the TLS port shows by reason among the
// connection events (`pillion_connections_rejected_total{reason="PLAIN_HTTP"}`).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { test } from 'node:test';
import { handshake, makeCert, secretVolume } from '../tls/tls-harness.ts';
import { scrape } from './admin-client.ts';
import { APP_CMD, startPillion, tempDir } from './harness.ts';

const PLAIN_HTTP = 3;

/** Sends plain HTTP to the TLS port and waits for Pillion to close the connection (bounded). */
function plainHttp(port: number): Promise<void> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => s.destroy(), 10_000);
    s.on('error', () => {});
    s.on('data', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    s.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  });
}

test('certificate reloads, failed reloads and plain HTTP to the TLS port show in /metrics', async (t) => {
  const dir = tempDir();
  const certs = [0, 1].map((i) => makeCert(dir, `gen${i}`, { dns: ['localhost'] }));
  const pem = certs.map((c) => ({
    cert: readFileSync(c.cert, 'utf8'),
    key: readFileSync(c.key, 'utf8'),
  }));
  // A Secret volume's layout: ..data points at one generation, swapped to the next at once.
  const { cert, key, swap } = secretVolume(dir, pem[0]);

  const p = startPillion([
    'run',
    '--listen',
    '127.0.0.1:0',
    '--cert',
    cert,
    '--key',
    key,
    '--',
    ...APP_CMD,
  ]);
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const admin = await p.admin();

  const before = await scrape(admin);
  assert.equal(before.types.get('pillion_tls_certificate_reloads_total'), 'counter');
  assert.equal(before.value('pillion_tls_certificate_reloads_total', { result: 'ok' }), 0);
  assert.equal(before.value('pillion_tls_certificate_reloads_total', { result: 'failed' }), 0);
  assert.equal(before.value('pillion_tls_sni_errors_total'), 0);
  assert.equal(before.types.get('pillion_tls_ticket_key_rotations_total'), 'counter');
  assert.ok(before.samples.some((s) => s.name === 'pillion_tls_ticket_key_rotations_total'));
  assert.equal(before.value('pillion_connections_rejected_total', { reason: 'PLAIN_HTTP' }), 0);

  // The next pair: served once reloaded, and counted once.
  swap(pem[1].cert, pem[1].key);
  const ok = await p.waitForLog((l) => l.msg === 'TLS certificates reloaded', 'the reload');
  assert.equal(ok.reloads, 1);
  const h = await handshake(port, { servername: 'localhost' });
  assert.ok(h.socket, String(h.error));
  assert.equal(
    h.socket.getPeerX509Certificate()?.fingerprint256,
    new X509Certificate(pem[1].cert).fingerprint256,
  );
  h.socket.destroy();

  // A cert with the other pair's key cannot be served: the last good pair stays, one failure.
  swap(pem[0].cert, pem[1].key);
  await p.waitForLog(
    (l) => l.msg === 'TLS certificate files not reloaded; the last good ones stay',
    'the failed reload',
  );

  for (let i = 0; i < PLAIN_HTTP; i++) await plainHttp(port);

  for (const om of [false, true]) {
    const m = await scrape(admin, om);
    const what = om ? 'OpenMetrics' : 'Prometheus text';
    assert.equal(m.value('pillion_tls_certificate_reloads_total', { result: 'ok' }), 1, what);
    assert.equal(m.value('pillion_tls_certificate_reloads_total', { result: 'failed' }), 1, what);
    assert.equal(m.value('pillion_tls_sni_errors_total'), 0, what);
    assert.equal(
      m.value('pillion_connections_rejected_total', { reason: 'PLAIN_HTTP' }),
      PLAIN_HTTP,
      what,
    );
  }
});
