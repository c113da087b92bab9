import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startPillion, tempDir } from './harness.ts';

test('the generated certificate and its local CA are kept in the state directory and reused on restart', async () => {
  const stateDir = tempDir();
  const fingerprints: unknown[] = [];
  let ca = '';
  for (const round of [0, 1]) {
    const p = startPillion(
      [
        'run',
        '--listen',
        '127.0.0.1:0',
        '--',
        process.execPath,
        '-e',
        'setInterval(() => {}, 1000)',
      ],
      { stateDir },
    );
    const listening = await p.waitForLog((l) => l.msg === 'ingress listening');
    assert.equal(listening.generated_cert, round === 0);
    fingerprints.push(listening.cert_sha256);
    const caNow = readFileSync(join(stateDir, 'tls', 'ca', 'ca.crt'), 'utf8');
    if (round === 1) assert.equal(caNow, ca, 'the CA is kept');
    ca = caNow;
    p.proc.kill('SIGTERM');
    await p.exited;
  }
  assert.equal(fingerprints[0], fingerprints[1]);
  // Whole PEM files ending in a newline; the leaf file holds the certificate then its key.
  const leaf = readFileSync(join(stateDir, 'tls', 'leaf.pem'), 'utf8');
  assert.match(
    leaf,
    /^-----BEGIN CERTIFICATE-----[\s\S]+-----BEGIN PRIVATE KEY-----[\s\S]+-----\n$/,
  );
  assert.ok(ca.endsWith('-----END CERTIFICATE-----\n'));
  // The private keys are readable by their owner only.
  for (const f of [join('ca', 'ca.key'), 'leaf.pem']) {
    assert.equal(statSync(join(stateDir, 'tls', f)).mode & 0o777, 0o600, f);
  }
});
