// Upstream TLS is verified (an expired or wrong-name certificate is a 502 with its reason, never
// a fallback), client certificates work, failing endpoints are ejected and come back, and a
// reload swaps the services while requests in flight finish on the old ones.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { makePki, type TestPki } from './certs.ts';
import { config, egressSettings, type Running, startEgress } from './egress-harness.ts';
import { startUpstream, type Upstream } from './upstream.ts';

let pki: TestPki;
const ups: Upstream[] = [];
const running: Running[] = [];

before(() => {
  pki = makePki();
});
after(async () => {
  for (const r of running) await r.stop();
  for (const u of ups) await u.close();
});

async function upstream(...args: Parameters<typeof startUpstream>): Promise<Upstream> {
  const u = await startUpstream(...args);
  ups.push(u);
  return u;
}

async function egress(yaml: string): Promise<Running> {
  const r = await startEgress(config(yaml), pki.dir);
  running.push(r);
  return r;
}

test('an expired or wrong-name certificate is answered 502 with the TLS reason, and nothing is sent', async () => {
  const expired = await upstream('expired', pki, { pair: pki.expired });
  const wrong = await upstream('wrong', pki, { pair: pki.wrongName });
  const eg = await egress(
    `old:\n  endpoints: [${expired.url}]\n  tls: { ca: ${pki.caFile} }\nother:\n  endpoints: [${wrong.url}]\n  tls: { ca: ${pki.caFile} }\nnoca:\n  endpoints: [${wrong.url}]`,
  );
  const cases: [string, RegExp][] = [
    ['old', /CERT_HAS_EXPIRED/],
    ['other', /ERR_TLS_CERT_ALTNAME_INVALID/],
    ['noca', /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/],
  ];
  for (const [svc, reason] of cases) {
    const r = await fetch(`${eg.url}/${svc}/x`);
    assert.equal(r.status, 502, svc);
    assert.equal(r.headers.get('x-pillion-error'), 'PILLION_EGRESS_TLS_FAILED');
    assert.match(await r.text(), reason);
    const logged = eg.events.find((e) => e.service === svc && e.level === 'warn');
    assert.match(String(logged?.reason), reason, svc);
  }
  assert.equal(expired.seen.length + wrong.seen.length, 0);
});

test('tls.servername checks the certificate for that name and sends it as SNI; without it, 502 with the reason', async () => {
  // The certificate names only other.example, not the endpoint's 127.0.0.1.
  const wrong = await upstream('named', pki, { pair: pki.wrongName });
  const eg = await egress(
    `named:\n  endpoints: [${wrong.url}]\n  tls: { ca: ${pki.caFile}, servername: other.example }\nunnamed:\n  endpoints: [${wrong.url}]\n  tls: { ca: ${pki.caFile} }\n  retry: { max_retries: 0 }`,
  );
  const ok = await fetch(`${eg.url}/named/x`);
  assert.equal(ok.status, 200);
  assert.equal(((await ok.json()) as { from: string }).from, 'named');
  assert.equal(wrong.seen[0]?.servername, 'other.example');
  const no = await fetch(`${eg.url}/unnamed/x`);
  assert.equal(no.status, 502);
  assert.equal(no.headers.get('x-pillion-error'), 'PILLION_EGRESS_TLS_FAILED');
  assert.match(
    await no.text(),
    /^Bad Gateway: TLS to unnamed \(https:\/\/127\.0\.0\.1:\d+\) failed: ERR_TLS_CERT_ALTNAME_INVALID: .*127\.0\.0\.1 is not in the cert's list/,
  );
  const logged = eg.events.find((e) => e.service === 'unnamed' && e.level === 'warn');
  assert.match(String(logged?.reason), /^ERR_TLS_CERT_ALTNAME_INVALID/);
  assert.equal(wrong.seen.length, 1, 'nothing sent without the name');
});

test('a service asking for a client certificate gets the configured one; without it, 502', async () => {
  const mtls = await upstream('mtls', pki, { requireClientCert: true });
  const eg = await egress(
    `with:\n  endpoints: [${mtls.url}]\n  tls: { ca: ${pki.caFile}, cert: ${pki.client.cert}, key: ${pki.client.key} }\nwithout:\n  endpoints: [${mtls.url}]\n  tls: { ca: ${pki.caFile} }\n  retry: { max_retries: 0 }`,
  );
  const ok = await fetch(`${eg.url}/with/x`);
  assert.equal(ok.status, 200);
  assert.equal(((await ok.json()) as { from: string }).from, 'mtls');
  const no = await fetch(`${eg.url}/without/x`);
  assert.equal(no.status, 502);
  assert.equal(mtls.seen.length, 1);
});

test('an endpoint failing in a row is ejected for ejection_time, then gets requests again', async () => {
  const bad = await upstream('bad', pki);
  const good = await upstream('good', pki);
  const eg = await egress(
    `svc:\n  endpoints: [${bad.url}, ${good.url}]\n  tls: { ca: ${pki.caFile} }\n  retry: { max_retries: 0 }\n  outlier: { consecutive_failures: 2, ejection_time: 3s }`,
  );
  bad.mode = '500';
  const statuses: number[] = [];
  for (let i = 0; i < 8; i++) statuses.push((await fetch(`${eg.url}/svc/x`)).status);
  // Round-robin: bad, good, bad (second failure: ejected), then good only.
  assert.deepEqual(statuses, [500, 200, 500, 200, 200, 200, 200, 200]);
  assert.equal(bad.seen.length, 2);
  assert.equal(eg.egress.stats().svc?.ejections, 1);
  assert.ok(eg.events.some((e) => e.msg === 'egress endpoint ejected' && e.endpoint === bad.url));
  bad.mode = 'ok';
  // Back after ejection_time (3 s, longer than the requests above take even on a loaded
  // machine): polled, not slept, and bounded.
  let from = 'good';
  for (let i = 0; i < 300 && from !== 'bad'; i++) {
    from = ((await (await fetch(`${eg.url}/svc/x`)).json()) as { from: string }).from;
    if (from !== 'bad') await sleep(50);
  }
  assert.equal(from, 'bad');
});

test('least_request sends to the endpoint with fewer requests in flight', async () => {
  const slow = await upstream('slow', pki);
  const fast = await upstream('fast', pki);
  const eg = await egress(
    `svc:\n  endpoints: [${slow.url}, ${fast.url}]\n  tls: { ca: ${pki.caFile} }\n  balance: least_request\n  timeout: 5s`,
  );
  slow.mode = 'stall';
  const ac = new AbortController();
  const held = fetch(`${eg.url}/svc/held`, { signal: ac.signal }).catch(() => undefined);
  while (slow.seen.length === 0) await sleep(5);
  for (let i = 0; i < 4; i++) assert.equal((await fetch(`${eg.url}/svc/x`)).status, 200);
  assert.equal(fast.seen.length, 4);
  ac.abort();
  await held;
});

test('active health checks take a failing endpoint out and bring it back', async () => {
  const sick = await upstream('sick', pki);
  const well = await upstream('well', pki);
  const eg = await egress(
    `svc:\n  endpoints: [${sick.url}, ${well.url}]\n  tls: { ca: ${pki.caFile} }\n  health: { path: /healthz, interval: 50ms, unhealthy: 1, healthy: 1 }`,
  );
  sick.mode = '503';
  await waitFor(() =>
    eg.events.some((e) => e.msg === 'egress endpoint unhealthy' && e.endpoint === sick.url),
  );
  // Still failing its checks: no request of the app's goes there.
  for (let i = 0; i < 4; i++) assert.equal((await fetch(`${eg.url}/svc/x`)).status, 200);
  assert.equal(sick.seen.filter((x) => x.url !== '/healthz').length, 0);
  sick.mode = 'ok';
  await waitFor(() =>
    eg.events.some((e) => e.msg === 'egress endpoint healthy' && e.endpoint === sick.url),
  );
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await sleep(10);
  assert.ok(cond(), 'condition not met within 5 s');
}

test('a reload swaps the endpoints; a request in flight finishes on the old one', async () => {
  const old = await upstream('old', pki);
  const neu = await upstream('new', pki);
  const svc = (u: Upstream) =>
    `svc:\n  endpoints: [${u.url}]\n  tls: { ca: ${pki.caFile} }\n  timeout: 5s`;
  const eg = await egress(svc(old));
  old.mode = 'slow';
  const inflight = fetch(`${eg.url}/svc/long`);
  await waitFor(() => old.seen.length === 1);
  const prepared = await eg.egress.prepare(egressSettings(config(svc(neu)), pki.dir));
  prepared.commit();
  const r = await fetch(`${eg.url}/svc/x`);
  assert.equal(((await r.json()) as { from: string }).from, 'new');
  // The request sent before the reload is answered by the old endpoint, whole.
  const first = await inflight;
  assert.equal(first.status, 200);
  assert.deepEqual(await first.json(), { from: 'old', slow: true });
  assert.equal(eg.egress.stats().svc?.requests, 2);
  // A reload naming an unreadable CA changes nothing.
  await assert.rejects(
    eg.egress.prepare(
      egressSettings(
        config(`svc:\n  endpoints: [${neu.url}]\n  tls: { ca: ${pki.dir}/missing.pem }`),
        pki.dir,
      ),
    ),
    /egress\.services\.svc\.tls\.ca: cannot read .*missing\.pem \(ENOENT\)/,
  );
  assert.equal((await fetch(`${eg.url}/svc/x`)).status, 200);
});

test('a client key of another certificate, or a CA that is no PEM, fails the start', async () => {
  const junk = `${pki.dir}/junk.pem`;
  writeFileSync(junk, 'not a certificate\n');
  const bad = [
    [
      `tls: { cert: ${pki.client.cert}, key: ${pki.server.key} }`,
      /PILLION_TLS_KEY_MISMATCH|not the private key/,
    ],
    [`tls: { ca: ${junk} }`, /cannot use the PEM files/],
  ] as const;
  for (const [tls, message] of bad) {
    await assert.rejects(
      startEgress(config(`svc:\n  endpoints: [https://127.0.0.1:1]\n  ${tls}`), pki.dir),
      (err: Error & { code?: string }) =>
        message.test(err.message) && /^PILLION_TLS_/.test(String(err.code)),
    );
  }
});
