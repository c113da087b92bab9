// mTLS through the real CLI: a matrix of client certificates made with openssl, each accepted
// (the app gets its identity in x-forwarded-client-cert, over HTTP/1.1 and HTTP/2) or denied
// at the handshake (the client never gets an HTTP byte, the app never sees a request); then a
// narrowed allow-list denies a resumed session, a rotated CA denies the previous CA's
// certificates, and `optional` serves a client without a certificate, without identity.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildMatrix, type Issued, MATRIX_ALLOW } from '../fixtures/client-pki.ts';
import { APP, eventually, type LogLine, readEvents, startPillion, tempDir } from './harness.ts';
import { h1, h2, type Outcome } from './tls-client.ts';

const hashOf = (i: Issued): string =>
  new X509Certificate(i.cert).fingerprint256.replace(/:/g, '').toLowerCase();

test('client certificates are accepted or denied at the handshake, and the app gets the identity', async (t) => {
  const dir = tempDir();
  const { pki, cases } = buildMatrix(dir);
  const caFile = join(dir, 'clients-ca.pem');
  writeFileSync(caFile, pki.get('rootA').cert);
  const events = join(dir, 'events');
  const cfgFile = join(dir, 'pillion.yaml');
  const allow = MATRIX_ALLOW;
  const config = (mode: string, a: typeof allow): void => {
    const text = JSON.stringify({
      app: { command: [process.execPath, APP] },
      ingress: { listen: '127.0.0.1:0', tls: { client: { ca: caFile, mode, allow: a } } },
    });
    writeFileSync(`${cfgFile}.tmp`, text);
    renameSync(`${cfgFile}.tmp`, cfgFile);
  };
  config('require', allow);
  const p = startPillion(['run', '--config', cfgFile], { bin: true, env: { APP_EVENTS: events } });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();

  const table: string[] = [];
  let served = 0;
  const check = async (
    label: string,
    creds: Issued | undefined,
    want: 'accept' | 'deny',
    xfcc?: (v: string) => void,
    session?: Buffer,
  ): Promise<Outcome> => {
    const o = await h1(port, creds, { session });
    table.push(
      `${label.padEnd(34)} ${o.headers ? 'accepted' : 'denied  '} bytes=${o.bytes} reused=${o.reused}${o.error ? ` client-error=${o.error}` : ''}`,
    );
    if (want === 'deny') {
      assert.equal(o.headers, undefined, `${label}: must be denied`);
      assert.equal(o.bytes, 0, `${label}: a denied client gets no HTTP byte`);
      return o;
    }
    assert.ok(o.headers, `${label}: must be accepted (${o.error ?? 'no response'})`);
    served++;
    const v = o.headers['x-forwarded-client-cert'];
    if (xfcc) {
      assert.ok(v && !v.includes('forged'), `${label}: the identity header is Pillion's own`);
      xfcc(v);
    } else
      assert.equal(v, undefined, `${label}: no certificate, no identity (the forged one removed)`);
    // The same certificate over HTTP/2, and on the WebSocket path, gets the same identity.
    const o2 = await h2(port, creds);
    assert.ok(o2.headers, `${label} over h2: ${o2.error}`);
    served++;
    assert.equal(o2.headers['x-forwarded-client-cert'], v, `${label} over h2`);
    const ws = await h1(port, creds, { upgrade: true });
    assert.ok(ws.headers, `${label} WebSocket handshake: ${ws.error}`);
    served++;
    assert.equal(ws.headers.upgrade, 'websocket', 'it came on the WebSocket path');
    assert.equal(ws.headers['x-forwarded-client-cert'], v, `${label} WebSocket handshake`);
    return o;
  };

  const has =
    (...parts: string[]) =>
    (v: string) => {
      for (const part of parts) assert.ok(v.includes(part), `${v} lacks ${part}`);
    }; // Every case of the matrix; the identity of the accepted ones checked where it is known whole.
  const xfcc: Record<string, (v: string) => void> = {
    'valid, DNS SAN allowed': (v) =>
      assert.equal(
        v,
        `Hash=${hashOf(pki.get('dns'))};Subject="CN=web.good.test,O=Good";DNS=web.good.test`,
      ),
    'valid, SPIFFE URI under allowed': has(
      `Hash=${hashOf(pki.get('spiffe'))}`,
      ';URI=spiffe://good.test/ns/prod/sa/web',
    ),
    'valid, email SAN allowed': has('Subject="CN=ops,O=Good"'),
    'valid, subject allowed (comma in CN)': (v) =>
      assert.equal(v, `Hash=${hashOf(pki.get('subject'))};Subject="CN=subject\\, only,O=Good"`),
    'valid, chain through intermediate': has('DNS=inter.good.test'),
    'valid, within name constraints': has('DNS=web.good.test'),
  };
  const outcomes = new Map<string, Outcome>();
  for (const c of cases)
    outcomes.set(c.label, await check(c.label, c.creds, c.want, xfcc[c.label]));
  const dns = outcomes.get('valid, DNS SAN allowed') as Outcome;
  const spiffe = outcomes.get('valid, SPIFFE URI under allowed') as Outcome;
  const h2Denied = await h2(port, pki.get('unknownCa'));
  assert.equal(h2Denied.headers, undefined, 'denied over h2 too');
  table.push(`${'unknown CA over h2'.padEnd(34)} denied   client-error=${h2Denied.error}`);

  const applied = (msg: string) => (l: LogLine) => l.msg === msg;
  // The CA file is watched with the certificates, and rotates as they do (tls/terminator.ts).
  const RELOADED = 'TLS certificates reloaded';
  const NOT_RELOADED = 'TLS certificate files not reloaded; the last good ones stay';
  const reload = async (msg: string, change: () => void): Promise<void> => {
    const n = p.lines.filter(applied(msg)).length;
    change();
    await eventually(() => p.lines.filter(applied(msg)).length > n, 10_000, msg);
  };

  // Resumption: the same session resumes under the same policy, and is denied once narrowed.
  assert.ok(dns.session, 'the server issued a session ticket');
  await check(
    'resumed, policy unchanged',
    pki.get('dns'),
    'accept',
    has('DNS=web.good.test'),
    dns.session,
  );
  assert.equal(table.at(-1)?.includes('reused=true'), true, 'the session was resumed');
  await reload('config applied', () => config('require', { ...allow, dns: ['inter.good.test'] }));
  const narrowed = await check(
    'resumed after allow-list narrowed',
    pki.get('dns'),
    'deny',
    undefined,
    dns.session,
  );
  assert.equal(narrowed.reused, true, 'denied although resumed: judged by the policy in force');
  await check('full handshake after narrowing', pki.get('dns'), 'deny');

  // CA rotation: the file is replaced (atomic rename) and picked up by its watcher.
  await reload('config applied', () => config('require', allow));
  await reload(RELOADED, () => {
    writeFileSync(`${caFile}.tmp`, pki.get('rootB').cert);
    renameSync(`${caFile}.tmp`, caFile);
  });
  await check(
    'new CA after rotation',
    pki.get('fromB'),
    'accept',
    has('Subject="CN=web.good.test,O=Good"'),
  );
  await check('previous CA after rotation', pki.get('email'), 'deny');
  await check(
    'resumed session of previous CA',
    pki.get('spiffe'),
    'deny',
    undefined,
    spiffe.session,
  );
  // A torn CA file (a truncated PEM) is refused; the CA in force stays.
  await reload(NOT_RELOADED, () => {
    writeFileSync(`${caFile}.tmp`, pki.get('rootA').cert.slice(0, 120));
    renameSync(`${caFile}.tmp`, caFile);
  });
  const refused = p.lines.findLast(applied(NOT_RELOADED));
  assert.equal(refused?.code, 'PILLION_TLS_RELOAD_FAILED');
  assert.equal(refused?.cause, 'PILLION_TLS_CLIENT_CA_INVALID');
  await check('after a torn CA file', pki.get('fromB'), 'accept', has('DNS=web.good.test'));
  await check('previous CA after a torn CA file', pki.get('email'), 'deny');
  // The bytes in force again: nothing to reload, and the next config reload reads a whole file.
  writeFileSync(`${caFile}.tmp`, pki.get('rootB').cert);
  renameSync(`${caFile}.tmp`, caFile);

  // optional: no certificate is served without identity; a bad one is still closed.
  await reload('config applied', () => config('optional', allow));
  await check('no certificate under optional', undefined, 'accept');
  await check('unknown CA under optional', pki.get('unknownCa'), 'deny');
  await check('valid under optional', pki.get('fromB'), 'accept', has('DNS=web.good.test'));

  t.diagnostic(`\n${table.join('\n')}`);
  // Only accepted connections ever reached the app, each with one request.
  await eventually(
    () => readEvents(events).filter((e) => e.startsWith('request GET /headers')).length >= served,
    5000,
    'the app logs each request',
  );
  assert.equal(
    readEvents(events).filter((e) => e.startsWith('request GET /headers')).length,
    served,
  );
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
