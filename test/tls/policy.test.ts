// The default TLS policy, checked with real handshakes: TLS 1.2 and 1.3 only, ECDHE with AEAD
// only, modern groups, no client renegotiation, session tickets whose key rotates; and the
// operator's min_version and ciphers, and a list OpenSSL refuses.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { PillionError } from '../../src/core/errors.ts';
import { DEFAULT_TLS } from '../../src/ingress/tls/material.ts';
import { checkPolicy, type PolicySettings, policyFault } from '../../src/ingress/tls/policy.ts';
import { tempDir } from '../e2e/harness.ts';
import { handshake, type Made, makeCert, startTlsEdge, type TlsEdge } from './tls-harness.ts';

let rsa: Made;
let edge: TlsEdge;
// Old protocols and suites must be offered by the client at all: OpenSSL 3 hides them below
// security level 0.
const OLD = 'DEFAULT:@SECLEVEL=0';

before(async () => {
  const dir = tempDir();
  rsa = makeCert(dir, 'rsa', { kind: 'rsa' });
  edge = await startTlsEdge({
    default: { cert: rsa.cert, key: rsa.key, field: 'ingress.tls' },
    ticketKeyRotationMs: 400,
  });
});
after(() => edge.stop());

test('TLS 1.0 and 1.1 are refused; 1.2 and 1.3 are accepted', async () => {
  for (const v of ['TLSv1', 'TLSv1.1'] as const) {
    const r = await handshake(edge.port, { minVersion: v, maxVersion: v, ciphers: OLD });
    assert.ok(r.error, `${v} was accepted`);
  }
  for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
    const r = await handshake(edge.port, { minVersion: v, maxVersion: v });
    assert.equal(r.socket?.getProtocol(), v, String(r.error));
    r.socket?.destroy();
  }
});

test('CBC and static-RSA suites are refused; ECDHE with AEAD is chosen', async () => {
  const refused = [
    'ECDHE-RSA-AES128-SHA',
    'ECDHE-RSA-AES256-SHA384',
    'AES128-GCM-SHA256',
    'AES256-SHA256',
    'AES128-SHA',
    'DHE-RSA-AES128-GCM-SHA256',
  ];
  for (const c of refused) {
    const r = await handshake(edge.port, { maxVersion: 'TLSv1.2', ciphers: `${c}:@SECLEVEL=0` });
    assert.ok(r.error, `${c} was accepted`);
  }
  const accepted = [
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ];
  for (const c of accepted) {
    const r = await handshake(edge.port, { maxVersion: 'TLSv1.2', ciphers: c });
    assert.equal(r.socket?.getCipher().standardName.includes('ECDHE'), true, `${c}: ${r.error}`);
    r.socket?.destroy();
  }
  // Offered everything, the client gets the server's first choice.
  const r = await handshake(edge.port, { maxVersion: 'TLSv1.2', ciphers: OLD });
  assert.match(r.socket?.getCipher().name ?? '', /^ECDHE-RSA-AES128-GCM-SHA256$/);
  r.socket?.destroy();
});

test('finite-field groups are refused; X25519, P-256, P-384 and X25519MLKEM768 are accepted', async () => {
  for (const g of ['ffdhe2048', 'ffdhe3072']) {
    const r = await handshake(edge.port, { minVersion: 'TLSv1.3', ecdhCurve: g });
    assert.ok(r.error, `${g} was accepted`);
  }
  for (const g of ['X25519', 'P-256', 'P-384', 'X25519MLKEM768']) {
    const r = await handshake(edge.port, { minVersion: 'TLSv1.3', ecdhCurve: g });
    assert.ok(r.socket, `${g}: ${r.error}`);
    r.socket?.destroy();
  }
});

test('client-initiated renegotiation is refused', async () => {
  const r = await handshake(edge.port, { maxVersion: 'TLSv1.2' });
  const socket = r.socket;
  assert.ok(socket);
  const outcome = await new Promise<string>((resolve) => {
    socket.on('error', (e) => resolve(`error ${e.message}`));
    const asked = socket.renegotiate({ rejectUnauthorized: false }, (err) =>
      resolve(err ? `refused ${err.message}` : 'renegotiated'),
    );
    if (!asked) resolve('refused at once');
  });
  assert.notEqual(outcome, 'renegotiated');
  socket.destroy();
  // The server is still there for the next client.
  const next = await handshake(edge.port);
  assert.ok(next.socket);
  next.socket.destroy();
});

test('a session ticket resumes until its key is rotated', async () => {
  const first = await handshake(edge.port, { minVersion: 'TLSv1.3' });
  const session = await new Promise<Buffer>((resolve) => first.socket?.once('session', resolve));
  first.socket?.destroy();
  const rotations = edge.ingress.tlsStats().ticketKeyRotations;
  const again = await handshake(edge.port, { session });
  // Resumed unless the key rotated in between (400 ms here): then it must not resume.
  const rotatedMeanwhile = edge.ingress.tlsStats().ticketKeyRotations !== rotations;
  assert.equal(again.socket?.isSessionReused(), !rotatedMeanwhile);
  again.socket?.destroy();
  const deadline = Date.now() + 10_000;
  while (edge.ingress.tlsStats().ticketKeyRotations < rotations + 2 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  const late = await handshake(edge.port, { session });
  assert.equal(late.socket?.isSessionReused(), false);
  late.socket?.destroy();
});

test('the modern profile accepts TLS 1.3 only', async () => {
  const modern = await startTlsEdge({
    default: { cert: rsa.cert, key: rsa.key, field: 'ingress.tls' },
    profile: 'modern',
  });
  try {
    const old = await handshake(modern.port, { maxVersion: 'TLSv1.2' });
    assert.ok(old.error);
    const ok = await handshake(modern.port);
    assert.equal(ok.socket?.getProtocol(), 'TLSv1.3');
    ok.socket?.destroy();
  } finally {
    await modern.stop();
  }
});

test('min_version TLSv1.3 refuses a TLS 1.2 client of the intermediate profile', async () => {
  const edge13 = await startTlsEdge({
    default: { cert: rsa.cert, key: rsa.key, field: 'ingress.tls' },
    minVersion: 'TLSv1.3',
  });
  try {
    const old = await handshake(edge13.port, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    assert.ok(old.error, 'a TLS 1.2 client was accepted');
    assert.equal(old.socket, undefined);
    const ok = await handshake(edge13.port);
    assert.equal(ok.socket?.getProtocol(), 'TLSv1.3', String(ok.error));
    ok.socket?.destroy();
  } finally {
    await edge13.stop();
  }
});

test('a ciphers list of its own: only those TLS 1.2 suites are offered, TLS 1.3 keeps its three', async () => {
  const mine = ['ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305'];
  const custom = await startTlsEdge({
    default: { cert: rsa.cert, key: rsa.key, field: 'ingress.tls' },
    ciphers: mine.join(':'),
  });
  try {
    // Every suite the default list has, and some it has not: one at a time.
    const candidates = [
      'ECDHE-RSA-AES128-GCM-SHA256',
      'ECDHE-RSA-AES256-GCM-SHA384',
      'ECDHE-RSA-CHACHA20-POLY1305',
      'ECDHE-RSA-AES128-SHA',
      'AES256-GCM-SHA384',
    ];
    const accepted: string[] = [];
    for (const c of candidates) {
      const r = await handshake(custom.port, {
        maxVersion: 'TLSv1.2',
        ciphers: `${c}:@SECLEVEL=0`,
      });
      if (r.socket) accepted.push(r.socket.getCipher().name);
      r.socket?.destroy();
    }
    assert.deepEqual(accepted, mine);
    // Offered everything, the client gets the first of the list.
    const all = await handshake(custom.port, { maxVersion: 'TLSv1.2', ciphers: OLD });
    assert.equal(all.socket?.getCipher().name, mine[0]);
    all.socket?.destroy();
    for (const suite of [
      'TLS_AES_128_GCM_SHA256',
      'TLS_AES_256_GCM_SHA384',
      'TLS_CHACHA20_POLY1305_SHA256',
    ]) {
      const r = await handshake(custom.port, { minVersion: 'TLSv1.3', ciphers: suite });
      assert.equal(r.socket?.getCipher().standardName, suite, String(r.error));
      r.socket?.destroy();
    }
  } finally {
    await custom.stop();
  }
});

test('a policy OpenSSL refuses names its field, and its place when given', () => {
  const base = { ...DEFAULT_TLS };
  const cases: [Partial<PolicySettings>, 'ciphers' | 'groups' | undefined][] = [
    [{}, undefined],
    [{ ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }, undefined],
    [{ ciphers: 'NOT-A-CIPHER' }, 'ciphers'],
    [{ groups: ['NOT-A-GROUP'] }, 'groups'],
    [{ ciphers: 'NOT-A-CIPHER', groups: ['NOT-A-GROUP'] }, 'ciphers'],
    [{ ciphers: 'ECDHE-RSA-AES128-GCM-SHA256', groups: ['NOT-A-GROUP'] }, 'groups'],
  ];
  for (const [over, field] of cases) {
    const s = { ...base, ...over };
    assert.equal(policyFault(s)?.field, field, JSON.stringify(over));
    if (field === undefined) assert.doesNotThrow(() => checkPolicy(s));
    else
      assert.throws(
        () => checkPolicy(s, (f) => `pillion.yaml:7:${f.length}`),
        (err: PillionError) =>
          err.code === 'PILLION_TLS_POLICY_INVALID' &&
          err.message.startsWith(`pillion.yaml:7:${field.length}: ingress.tls.${field}: `),
      );
  }
});
