// mTLS in front of an `app.protocol: h2c` app: the verified identity goes to the app in the
// HTTP/2 request it gets, whichever protocol the client used; a forged one never does.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Pki } from '../fixtures/client-pki.ts';
import { startPillion, tempDir } from './harness.ts';
import { h1, h2 } from './tls-client.ts';

const H2C_APP = fileURLToPath(new URL('../fixtures/h2c-app.ts', import.meta.url));

test('the verified client identity reaches an h2c app over HTTP/1.1 and HTTP/2', async (t) => {
  const dir = tempDir();
  const pki = new Pki(dir);
  pki.root('ca', '/O=Good/CN=Root');
  const leaf = pki.issue('web', { subj: '/O=Good/CN=web', issuer: 'ca', san: 'DNS:web.good.test' });
  const cfg = join(dir, 'pillion.yaml');
  writeFileSync(
    cfg,
    JSON.stringify({
      app: { command: [process.execPath, H2C_APP], protocol: 'h2c' },
      ingress: { listen: '127.0.0.1:0', tls: { client: { ca: pki.get('ca').certFile } } },
    }),
  );
  const p = startPillion(['run', '--config', cfg], { bin: true });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const hash = new X509Certificate(leaf.cert).fingerprint256.replace(/:/g, '').toLowerCase();
  const want = `Hash=${hash};Subject="CN=web,O=Good";DNS=web.good.test`;
  for (const o of [await h1(port, leaf, { path: '/seen' }), await h2(port, leaf, '/seen')]) {
    const seen = o.headers as unknown as { httpVersion: string; headers: Record<string, string> };
    assert.equal(seen.httpVersion, '2.0', 'the app was reached over h2c');
    assert.equal(seen.headers['x-forwarded-client-cert'], want);
  }
  assert.equal(
    (await h2(port, undefined, '/seen')).headers,
    undefined,
    'no certificate, no request',
  );
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
