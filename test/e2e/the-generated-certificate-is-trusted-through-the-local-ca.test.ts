// The zero-config certificate is issued by the state directory's local CA: curl and Node trust
// it with that CA alone and check the host name; `pillion cert` shows what is served; a leaf
// close to its end is renewed at start by the same CA. `pillion cert make-ca` / `make-leaf`
// make a dev setup that curl trusts, with a client certificate for mTLS.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from 'node:tls';
import { APP, BIN, startPillion, tempDir } from './harness.ts';

function curl(
  port: number,
  host: string,
  args: string[],
): { code: number; out: string; err: string } {
  const r = spawnSync(
    'curl',
    [
      '-sS',
      '--max-time',
      '10',
      '--resolve',
      `${host}:${port}:127.0.0.1`,
      ...args,
      `https://${host}:${port}/headers`,
    ],
    { encoding: 'utf8' },
  );
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** The certificate the server presents, verified against `ca` for `servername`. */
function presented(port: number, ca: string, servername: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername }, () => {
      const cert = s.getPeerX509Certificate() as X509Certificate;
      s.end();
      resolve(cert);
    });
    s.on('error', reject);
  });
}

function pillionCert(args: string[]): string {
  return execFileSync(process.execPath, [BIN, 'cert', ...args], { encoding: 'utf8' });
}

const RUN = ['run', '--listen', '127.0.0.1:0', '--', process.execPath, APP];

test('the generated certificate is trusted through the local CA and renewed before it ends', async (t) => {
  const stateDir = tempDir();
  const caFile = join(stateDir, 'tls', 'ca', 'ca.crt');
  const p = startPillion(RUN, { stateDir, bin: true });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const ca = readFileSync(caFile, 'utf8');

  // curl trusts it with the CA alone, for localhost, and refuses it for another name.
  const ok = curl(port, 'localhost', ['--cacert', caFile]);
  assert.equal(ok.code, 0, ok.err);
  assert.equal(JSON.parse(ok.out).host, `localhost:${port}`);
  const wrong = curl(port, 'wrong.example', ['--cacert', caFile]);
  assert.equal(wrong.code, 60, 'curl: the name is checked');
  const served = await presented(port, ca, 'localhost');
  await assert.rejects(presented(port, ca, 'wrong.example'), {
    code: 'ERR_TLS_CERT_ALTNAME_INVALID',
  });

  // `pillion cert` shows what is served: its fingerprint, names, issuer and expiry.
  const shown = pillionCert(['--state-dir', stateDir]);
  assert.match(
    shown,
    new RegExp(`served: .*leaf\\.pem\\n[\\s\\S]*sha256 +${served.fingerprint256}`),
  );
  assert.match(shown, /names +DNS:localhost, .*IP Address:127\.0\.0\.1/);
  assert.match(shown, /issuer +CN=Pillion local CA [0-9a-f]{6}, OU=[^,]+, O=Pillion/);
  assert.match(shown, new RegExp(`expires +${new Date(served.validTo).toISOString()}`));
  assert.match(
    pillionCert(['trust', '--state-dir', stateDir]),
    new RegExp(`curl --cacert ${caFile}`),
  );
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);

  // A leaf ten days from its end (issued by the same CA, with openssl) is renewed at start.
  const dir = tempDir();
  const caKey = join(stateDir, 'tls', 'ca', 'ca.key');
  execFileSync('openssl', [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    join(dir, 'k'),
  ]);
  execFileSync('openssl', [
    'req',
    '-new',
    '-key',
    join(dir, 'k'),
    '-subj',
    '/CN=localhost',
    '-out',
    join(dir, 'csr'),
  ]);
  writeFileSync(join(dir, 'ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  execFileSync('openssl', [
    'x509',
    '-req',
    '-in',
    join(dir, 'csr'),
    '-CA',
    caFile,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-days',
    '10',
    '-extfile',
    join(dir, 'ext'),
    '-out',
    join(dir, 'crt'),
  ]);
  writeFileSync(
    join(stateDir, 'tls', 'leaf.pem'),
    readFileSync(join(dir, 'crt'), 'utf8') + readFileSync(join(dir, 'k'), 'utf8'),
    { mode: 0o600 },
  );
  const q = startPillion(RUN, { stateDir, bin: true });
  t.after(() => q.kill());
  const line = await q.waitForLog((l) => l.msg === 'ingress listening');
  await q.ready();
  assert.equal(line.generated_cert, true, 'a new leaf was issued');
  assert.equal(line.local_ca, caFile, 'the start-up line names the CA to trust');
  const renewed = await presented(Number(line.port), ca, 'localhost');
  assert.notEqual(
    renewed.fingerprint256,
    new X509Certificate(readFileSync(join(dir, 'crt'))).fingerprint256,
  );
  assert.ok(
    Date.parse(renewed.validTo) - Date.now() > 300 * 24 * 3600 * 1000,
    'valid for about a year',
  );
  assert.equal(readFileSync(caFile, 'utf8'), ca, 'by the same CA: nothing to trust again');
  q.proc.kill('SIGTERM');
  assert.equal(await q.exited, 0);
});

test('pillion cert make-ca and make-leaf make a dev setup that curl trusts, mTLS included', async (t) => {
  const dir = join(tempDir(), 'dev-ca');
  pillionCert(['make-ca', dir]);
  pillionCert(['make-leaf', '--ca', dir, 'localhost', '127.0.0.1']);
  pillionCert([
    'make-leaf',
    '--ca',
    dir,
    '--client',
    '--out',
    join(dir, 'clients'),
    'spiffe://dev.test/web',
  ]);
  const client = join(dir, 'clients', 'spiffe_dev.test_web');
  const cfg = join(dir, 'pillion.yaml');
  writeFileSync(
    cfg,
    JSON.stringify({
      ingress: {
        tls: {
          cert: join(dir, 'localhost.crt'),
          key: join(dir, 'localhost.key'),
          client: { ca: join(dir, 'ca.crt'), allow: { uri: ['spiffe://dev.test/web'] } },
        },
      },
    }),
  );
  const p = startPillion(['run', '--config', cfg, ...RUN.slice(1)], { bin: true });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const ca = ['--cacert', join(dir, 'ca.crt')];
  const ok = curl(port, 'localhost', [...ca, '--cert', `${client}.crt`, '--key', `${client}.key`]);
  assert.equal(ok.code, 0, ok.err);
  const xfcc = JSON.parse(ok.out)['x-forwarded-client-cert'] as string;
  assert.match(
    xfcc,
    /^Hash=[0-9a-f]{64};Subject="CN=spiffe:\/\/dev\.test\/web";URI=spiffe:\/\/dev\.test\/web$/,
  );
  const none = curl(port, 'localhost', ca);
  assert.notEqual(none.code, 0, 'no client certificate: no HTTP exchange');
  assert.equal(none.out, '');
  // The server certificate is not a client one: its EKU is serverAuth only.
  const server = curl(port, 'localhost', [
    ...ca,
    '--cert',
    join(dir, 'localhost.crt'),
    '--key',
    join(dir, 'localhost.key'),
  ]);
  assert.notEqual(server.code, 0);
  assert.equal(server.out, '');
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
