import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { buildMatrix, type Issued, MATRIX_ALLOW } from '../../../test/fixtures/client-pki.ts';
import { type Admission, ClientAuth, loadClientAuth, readClientCa } from './client-auth.ts';

/** One handshake with `creds`; resolves with the server's verdict on it. */
function verdictOf(
  port: number,
  creds: Issued | undefined,
  verdicts: Admission[],
): Promise<Admission> {
  return new Promise((resolve, reject) => {
    const n = verdicts.length;
    const s = connect({
      host: '127.0.0.1',
      port,
      rejectUnauthorized: false,
      ...(creds ? { cert: creds.cert, key: creds.key } : {}),
    });
    s.on('error', () => {});
    s.on('close', () => {
      const v = verdicts[n];
      if (v) resolve(v);
      else reject(new Error('no verdict'));
    });
    s.on('secureConnect', () => s.end());
  });
}

test('each certificate of the matrix gets its verdict, for its reason', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-mtls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { pki, cases } = buildMatrix(dir);
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, pki.get('rootA').cert);
  const auth = await loadClientAuth({
    ca: caFile,
    mode: 'require',
    allow: MATRIX_ALLOW,
    header: 'x-forwarded-client-cert',
  });
  const verdicts: Admission[] = [];
  const server = createServer(
    {
      cert: pki.get('dns').cert, // any certificate serves for the server side
      key: pki.get('dns').key,
      ...auth.contextOptions,
      ...ClientAuth.serverOptions,
    },
    (socket: TLSSocket) => {
      verdicts.push(auth.admit(socket));
      socket.destroy();
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  for (const c of cases) {
    const v = await verdictOf(port, c.creds, verdicts);
    if (c.want === 'accept') {
      assert.ok(v.ok, `${c.label}: ${JSON.stringify(v)}`);
      continue;
    }
    assert.ok(!v.ok, `${c.label} must be denied`);
    assert.equal(v.reason, c.reason, c.label);
    if (c.error) assert.equal(v.fields.error, c.error, c.label);
  }
});

test('a CA bundle without a CA certificate is refused, naming the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-mtls-ca-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { pki } = buildMatrix(dir);
  const leaf = join(dir, 'leaf-as-ca.pem');
  writeFileSync(leaf, pki.get('dns').cert);
  await assert.rejects(readClientCa(leaf), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'PILLION_TLS_CLIENT_CA_INVALID');
    assert.match(e.message, /leaf-as-ca\.pem.*not a CA/);
    return true;
  });
  writeFileSync(join(dir, 'empty.pem'), 'nothing here\n');
  await assert.rejects(readClientCa(join(dir, 'empty.pem')), /holds no PEM certificate/);
  await assert.rejects(readClientCa(join(dir, 'absent.pem')), /cannot read .*ENOENT/);
});
