// pillion_certificate_expiry_seconds, read from the real CLI's /metrics: one series per served
// certificate, its value the certificate's notAfter less the time of the scrape (bounds of
// correctness: the scrape happened between two clock readings, and the value is rounded).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { makeCert } from '../tls/tls-harness.ts';
import { scrape } from './admin-client.ts';
import { APP_CMD, configFile, startPillion, tempDir } from './harness.ts';

test('each served certificate has a gauge of the seconds to its notAfter', async (t) => {
  const dir = tempDir();
  const def = makeCert(dir, 'def', { dns: ['localhost'], days: 90 });
  const api = makeCert(dir, 'api', { dns: ['api.test'], days: 20 });
  const file = configFile([
    'ingress:',
    '  tls:',
    `    cert: ${def.cert}`,
    `    key: ${def.key}`,
    '    certificates:',
    `      - { cert: ${api.cert}, key: ${api.key} }`,
  ]);
  const p = startPillion(['run', '--config', file, '--listen', '127.0.0.1:0', '--', ...APP_CMD]);
  t.after(() => p.kill());
  await p.ready();
  const admin = await p.admin();

  const before = Date.now();
  const m = await scrape(admin);
  const after = Date.now();
  assert.equal(m.types.get('pillion_certificate_expiry_seconds'), 'gauge');
  const series = m.samples.filter((s) => s.name === 'pillion_certificate_expiry_seconds');
  assert.deepEqual(series.map((s) => s.labels.name).sort(), ['api.test', 'localhost']);
  for (const [name, made] of [
    ['localhost', def],
    ['api.test', api],
  ] as const) {
    const notAfter = Date.parse(new X509Certificate(readFileSync(made.cert)).validTo);
    const value = m.value('pillion_certificate_expiry_seconds', { name });
    // Rounded to the second: half a second either side of the window the scrape fell in.
    assert.ok(value >= (notAfter - after) / 1000 - 0.5, `${name}: ${value}`);
    assert.ok(value <= (notAfter - before) / 1000 + 0.5, `${name}: ${value}`);
  }
  // 20 days: also warned about in the log (30 days ahead), the 90-day one not (both are
  // looked at in the same pass).
  await p.waitForLog((l) => l.code === 'PILLION_TLS_CERT_EXPIRING', 'the expiry warning');
  const warned = p.lines.filter((l) => l.code === 'PILLION_TLS_CERT_EXPIRING');
  assert.deepEqual(
    warned.map((l) => l.file),
    [api.cert],
  );
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
