import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startPillion, tempDir } from './harness.ts';

test('the generated certificate is kept in the state directory and reused on restart', async () => {
  const stateDir = tempDir();
  const fingerprints: unknown[] = [];
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
    p.proc.kill('SIGTERM');
    await p.exited;
  }
  assert.equal(fingerprints[0], fingerprints[1]);
  // Both files are whole PEM files ending in a newline, so `cat crt key` makes a valid bundle.
  for (const f of ['self-signed.crt', 'self-signed.key']) {
    assert.ok(readFileSync(join(stateDir, 'tls', f), 'utf8').endsWith('-----\n'), f);
  }
  // The private key is readable by its owner only.
  assert.equal(statSync(join(stateDir, 'tls', 'self-signed.key')).mode & 0o777, 0o600);
});
