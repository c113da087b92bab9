// Certificates chosen by SNI: several pairs with a default, RSA and ECDSA for one name (each
// client gets the one it supports), a chain with its intermediate, and encrypted keys.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_TLS, loadTlsMaterial } from '../../src/ingress/tls/material.ts';
import { tempDir } from '../e2e/harness.ts';
import { handshake, makeCert, startTlsEdge } from './tls-harness.ts';

const fp = (file: string): string => new X509Certificate(readFileSync(file)).fingerprint256;

test('SNI picks the pair for the name, a wildcard covers one label, and the rest get the default', async () => {
  const dir = tempDir();
  const def = makeCert(dir, 'default', { dns: ['default.test'] });
  const a = makeCert(dir, 'a', { dns: ['a.test'] });
  const wild = makeCert(dir, 'wild', { dns: ['*.wild.test'] });
  const named = makeCert(dir, 'named', { dns: ['other.test'] });
  const edge = await startTlsEdge({
    default: { cert: def.cert, key: def.key, field: 'ingress.tls' },
    pairs: [
      { cert: a.cert, key: a.key, field: 'ingress.tls.certificates[0]' },
      { cert: wild.cert, key: wild.key, field: 'ingress.tls.certificates[1]' },
      // `names` wins over the certificate's own SANs.
      { cert: named.cert, key: named.key, names: ['b.test'], field: 'ingress.tls.certificates[2]' },
    ],
  });
  try {
    const served = async (servername?: string): Promise<string> => {
      const r = await handshake(edge.port, servername ? { servername } : {});
      assert.ok(r.socket, String(r.error));
      const got = r.socket.getPeerX509Certificate()?.fingerprint256 ?? '';
      r.socket.destroy();
      return got;
    };
    assert.equal(await served('a.test'), fp(a.cert));
    assert.equal(await served('A.TEST'), fp(a.cert));
    assert.equal(await served('x.wild.test'), fp(wild.cert));
    assert.equal(await served('y.x.wild.test'), fp(def.cert));
    assert.equal(await served('b.test'), fp(named.cert));
    assert.equal(await served('other.test'), fp(def.cert));
    assert.equal(await served('nothing.test'), fp(def.cert));
    assert.equal(await served(), fp(def.cert));
    const listed = edge.ingress.certificates();
    assert.equal(listed.length, 4);
    assert.deepEqual(
      listed.filter((c) => c.default).map((c) => c.fingerprint256),
      [fp(def.cert)],
    );
    for (const c of listed)
      assert.ok(c.secondsToExpiry > 80 * 86400 && c.secondsToExpiry <= 90 * 86400);
  } finally {
    await edge.stop();
  }
});

test('RSA and ECDSA for one name: each client gets the one it supports', async () => {
  const dir = tempDir();
  const rsa = makeCert(dir, 'rsa', { kind: 'rsa', dns: ['dual.test'] });
  const ec = makeCert(dir, 'ec', { kind: 'ec', dns: ['dual.test'] });
  const other = makeCert(dir, 'other', { dns: ['other.test'] });
  const pairs = [
    { cert: rsa.cert, key: rsa.key, field: 'ingress.tls.certificates[0]' },
    { cert: ec.cert, key: ec.key, field: 'ingress.tls.certificates[1]' },
  ];
  // As the default (the first entry and every entry for the same names, no SNI switch), and
  // as an SNI name beside another default.
  const asDefault = await startTlsEdge({ pairs });
  const bySni = await startTlsEdge({
    default: { cert: other.cert, key: other.key, field: 'ingress.tls' },
    pairs,
  });
  try {
    for (const [edge, servername] of [
      [asDefault, 'dual.test'],
      [asDefault, undefined],
      [bySni, 'dual.test'],
      [bySni, 'DUAL.test'],
    ] as const) {
      const sni = servername ? { servername } : {};
      const served = async (opts: object): Promise<string | undefined> => {
        const r = await handshake(edge.port, { ...sni, ...opts });
        const got = r.socket?.getPeerX509Certificate()?.fingerprint256;
        r.socket?.destroy();
        return got ?? String(r.error);
      };
      assert.equal(await served({ sigalgs: 'RSA-PSS+SHA256:RSA+SHA256' }), fp(rsa.cert));
      assert.equal(await served({ sigalgs: 'ECDSA+SHA256' }), fp(ec.cert));
      assert.equal(await served({}), fp(ec.cert));
      // TLS 1.2 by suite: an ECDHE-RSA-only client gets the RSA certificate.
      const rsaSuite = { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' };
      assert.equal(await served(rsaSuite), fp(rsa.cert));
      const ecSuite = { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' };
      assert.equal(await served(ecSuite), fp(ec.cert));
    }
    // The default pair (cert/key) RSA, an ECDSA entry for the same name: both still served.
    const split = await startTlsEdge({
      default: { cert: rsa.cert, key: rsa.key, field: 'ingress.tls' },
      pairs: [pairs[1] as (typeof pairs)[1]],
    });
    try {
      for (const servername of ['dual.test', undefined]) {
        const sni = servername ? { servername } : {};
        const rsaOnly = await handshake(split.port, {
          ...sni,
          sigalgs: 'RSA-PSS+SHA256:RSA+SHA256',
        });
        assert.equal(rsaOnly.socket?.getPeerX509Certificate()?.fingerprint256, fp(rsa.cert));
        rsaOnly.socket?.destroy();
        const ecOnly = await handshake(split.port, { ...sni, sigalgs: 'ECDSA+SHA256' });
        assert.equal(ecOnly.socket?.getPeerX509Certificate()?.fingerprint256, fp(ec.cert));
        ecOnly.socket?.destroy();
      }
    } finally {
      await split.stop();
    }
  } finally {
    await asDefault.stop();
    await bySni.stop();
  }
});

test('a chain with its intermediate verifies against the root alone', async () => {
  const dir = tempDir();
  const root = makeCert(dir, 'root', { isCa: true });
  const inter = makeCert(dir, 'inter', { isCa: true, ca: root });
  const leaf = makeCert(dir, 'leaf', { dns: ['chain.test'], ca: inter });
  const chain = join(dir, 'chain.crt');
  writeFileSync(chain, readFileSync(leaf.cert, 'utf8') + readFileSync(inter.cert, 'utf8'));
  const edge = await startTlsEdge({
    default: { cert: chain, key: leaf.key, field: 'ingress.tls' },
  });
  try {
    const r = await handshake(edge.port, {
      servername: 'chain.test',
      ca: readFileSync(root.cert),
      rejectUnauthorized: true,
    });
    assert.ok(r.socket, String(r.error));
    assert.equal(r.socket.authorized, true);
    r.socket.destroy();
  } finally {
    await edge.stop();
  }
});

test('an encrypted key opens with its passphrase from a file or the environment, and not without', async () => {
  const dir = tempDir();
  const enc = makeCert(dir, 'enc', { dns: ['enc.test'], passphrase: 'correct horse' });
  assert.match(readFileSync(enc.key, 'utf8'), /ENCRYPTED/);
  const passFile = join(dir, 'pass');
  writeFileSync(passFile, 'correct horse\n');
  const pair = { cert: enc.cert, key: enc.key, field: 'ingress.tls' };
  const withFile = await startTlsEdge({ default: { ...pair, passphrase: { file: passFile } } });
  try {
    const r = await handshake(withFile.port, { servername: 'enc.test' });
    assert.equal(r.socket?.getPeerX509Certificate()?.fingerprint256, fp(enc.cert));
    r.socket?.destroy();
  } finally {
    await withFile.stop();
  }
  const load = (passphrase: { file: string } | { env: string } | undefined, env = {}) =>
    loadTlsMaterial({
      stateDir: dir,
      env,
      tls: { ...DEFAULT_TLS, default: { ...pair, ...(passphrase ? { passphrase } : {}) } },
    });
  const m = await load({ env: 'KEY_PASS' }, { KEY_PASS: 'correct horse' });
  assert.equal(m.fingerprint256, fp(enc.cert));
  const wrong = join(dir, 'wrong');
  writeFileSync(wrong, 'battery staple');
  await assert.rejects(load({ file: wrong }), { code: 'PILLION_TLS_PASSPHRASE' });
  await assert.rejects(load(undefined), { code: 'PILLION_TLS_PASSPHRASE' });
  await assert.rejects(load({ env: 'UNSET_PASS' }), /UNSET_PASS is not set/);
});

test('a mismatched key or a truncated chain is refused, naming the file and field', async () => {
  const dir = tempDir();
  const a = makeCert(dir, 'a');
  const b = makeCert(dir, 'b');
  const load = (cert: string, key: string) =>
    loadTlsMaterial({
      stateDir: dir,
      tls: { ...DEFAULT_TLS, pairs: [{ cert, key, field: 'ingress.tls.certificates[0]' }] },
    });
  await assert.rejects(load(a.cert, b.key), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'PILLION_TLS_KEY_MISMATCH');
    assert.match(
      err.message,
      /ingress\.tls\.certificates\[0\]\.key: .*b\.key is not the private key of .*a\.crt/,
    );
    return true;
  });
  const cut = join(dir, 'cut.crt');
  const text = readFileSync(a.cert, 'utf8');
  writeFileSync(cut, text.slice(0, text.length - 40));
  await assert.rejects(load(cut, a.key), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'PILLION_TLS_FILE_UNREADABLE');
    assert.match(err.message, /cut\.crt is not a PEM certificate/);
    return true;
  });
});
