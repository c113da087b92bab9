// mTLS with `ingress.workers: 2`: each worker process judges client certificates with the
// policy and CA bundle the primary read, and passes the identity on.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Pki } from '../fixtures/client-pki.ts';
import { APP, eventually, type LogLine, startPillion, tempDir } from './harness.ts';
import { h1 } from './tls-client.ts';

test('with two workers, every connection is judged by its worker and gets its identity', async (t) => {
  const dir = tempDir();
  const pki = new Pki(dir);
  pki.root('ca', '/O=Good/CN=Root');
  pki.root('other', '/O=Evil/CN=Other');
  pki.issue('ok', { subj: '/O=Good/CN=ok', issuer: 'ca', san: 'URI:spiffe://good.test/ok' });
  pki.issue('unlisted', { subj: '/O=Good/CN=no', issuer: 'ca', san: 'URI:spiffe://good.test/no' });
  pki.issue('stranger', {
    subj: '/O=Good/CN=ok',
    issuer: 'other',
    san: 'URI:spiffe://good.test/ok',
  });
  const cfg = join(dir, 'pillion.yaml');
  writeFileSync(
    cfg,
    JSON.stringify({
      app: { command: [process.execPath, APP] },
      ingress: {
        listen: '127.0.0.1:0',
        workers: 2,
        tls: { client: { ca: pki.get('ca').certFile, allow: { uri: ['spiffe://good.test/ok'] } } },
      },
    }),
  );
  const p = startPillion(['run', '--config', cfg], { bin: true });
  t.after(() => p.kill());
  const port = Number((await p.waitForLog((l) => l.msg === 'workers listening')).port);
  await p.ready();
  // Each on its own connection: the kernel spreads them over the workers.
  const n = 16;
  for (let i = 0; i < n; i++) {
    const ok = await h1(port, pki.get('ok'));
    assert.match(ok.headers?.['x-forwarded-client-cert'] ?? '', /;URI=spiffe:\/\/good\.test\/ok$/);
    for (const who of ['unlisted', 'stranger'] as const) {
      const no = await h1(port, pki.get(who));
      assert.equal(no.bytes, 0, `${who}: no HTTP byte`);
    }
    assert.equal((await h1(port, undefined)).bytes, 0, 'no certificate: no HTTP byte');
  }
  const accepted = () => p.lines.filter((l: LogLine) => l.path === '/headers' && l.status === 200);
  // Workers write their access lines in batches: wait for them, bounded.
  await eventually(() => accepted().length >= n, 10_000, 'the access lines');
  const served = accepted();
  const workers = new Set(served.map((l) => l.worker));
  t.diagnostic(`accepted connections by worker: ${JSON.stringify([...workers])}`);
  assert.equal(served.length, n);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
