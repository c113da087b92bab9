// ingress.tls is live: a config reload that adds a pair serves it; one whose pair does not
// match is refused whole and the running certificates stay. A certificate within 30 days of
// expiry is warned about at start and at each reload.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { handshake, makeCert } from '../tls/tls-harness.ts';
import { APP_CMD, startPillion, tempDir } from './harness.ts';

test('a config reload serves a new pair, refuses a bad one whole, and warns of near expiry', async (t) => {
  const dir = tempDir();
  const def = makeCert(dir, 'default', { dns: ['localhost'], days: 10 });
  const extra = makeCert(dir, 'extra', { dns: ['extra.test'] });
  const other = makeCert(dir, 'other', { dns: ['other.test'] });
  const fp = (f: string) => new X509Certificate(readFileSync(f)).fingerprint256;
  const file = join(dir, 'pillion.yaml');
  const config = (pairs: string) =>
    [
      'app:',
      `  command: ${JSON.stringify(APP_CMD)}`,
      'ingress:',
      '  listen: 127.0.0.1:0',
      '  tls:',
      `    cert: ${def.cert}`,
      `    key: ${def.key}`,
      `    certificates: ${pairs}`,
      '',
    ].join('\n');
  writeFileSync(file, config('[]'));
  const p = startPillion(['run', '--config', file]);
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const warned = await p.waitForLog((l) => l.msg === 'certificate expires soon');
  assert.equal(warned.code, 'PILLION_TLS_CERT_EXPIRING');
  assert.equal(warned.file, def.cert);
  assert.ok(Number(warned.days_to_expiry) >= 9 && Number(warned.days_to_expiry) <= 10);
  const served = async (servername: string) => {
    const r = await handshake(port, { servername });
    const got = r.socket?.getPeerX509Certificate()?.fingerprint256;
    r.socket?.destroy();
    return got;
  };
  assert.equal(await served('extra.test'), fp(def.cert));

  writeFileSync(file, config(`[{ cert: ${extra.cert}, key: ${extra.key} }]`));
  await p.waitForLog((l) => l.msg === 'config reloaded', 'the reload');
  assert.equal(await served('extra.test'), fp(extra.cert));
  assert.equal(await served('localhost'), fp(def.cert));
  // The reload warned again about the default pair.
  assert.equal(p.lines.filter((l) => l.msg === 'certificate expires soon').length, 2);

  writeFileSync(file, config(`[{ cert: ${other.cert}, key: ${extra.key} }]`));
  const rejected = await p.waitForLog(
    (l) => l.msg === 'config rejected; the last good config stays in force',
  );
  assert.equal(rejected.code, 'PILLION_TLS_KEY_MISMATCH');
  assert.match(
    String(rejected.errors),
    /certificates\[0\]\.key: .*extra\.key is not the private key of .*other\.crt/,
  );
  assert.equal(await served('extra.test'), fp(extra.cert));
  assert.equal(await served('other.test'), fp(def.cert));

  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
