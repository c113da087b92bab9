// Retries happen only when safe and are counted exactly: never a second POST that may have
// reached the service; a budget caps them; Retry-After is waited for; timeouts answer 504.
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { makePki, type TestPki } from './certs.ts';
import { config, type Running, startEgress } from './egress-harness.ts';
import { startUpstream, type Upstream } from './upstream.ts';

let pki: TestPki;
let a: Upstream;
let b: Upstream;
const running: Running[] = [];

before(async () => {
  pki = makePki();
  a = await startUpstream('a', pki);
  b = await startUpstream('b', pki);
});
beforeEach(() => {
  for (const u of [a, b]) {
    u.mode = 'ok';
    u.seen.length = 0;
  }
});
after(async () => {
  for (const r of running) await r.stop();
  await a.close();
  await b.close();
});

async function egress(service: string): Promise<Running> {
  const r = await startEgress(config(`svc:\n  tls: { ca: ${pki.caFile} }\n${service}`), pki.dir);
  running.push(r);
  return r;
}

test('an idempotent GET on 503 is tried max_retries more times, then the 503 is passed on', async () => {
  const eg = await egress(`  endpoints: [${a.url}]\n  retry: { max_retries: 2, backoff: 1ms }`);
  a.mode = '503';
  const r = await fetch(`${eg.url}/svc/x`);
  assert.equal(r.status, 503);
  assert.equal(await r.text(), 'a is failing\n');
  assert.equal(a.seen.length, 3);
  assert.equal(eg.egress.stats().svc?.retries, 2);
});

test('a POST answered 503 or reset is never sent twice', async () => {
  const eg = await egress(`  endpoints: [${a.url}]\n  retry: { max_retries: 3, backoff: 1ms }`);
  a.mode = '503';
  assert.equal((await fetch(`${eg.url}/svc/pay`, { method: 'POST', body: 'once' })).status, 503);
  assert.equal(a.seen.length, 1);
  a.mode = 'reset';
  const r = await fetch(`${eg.url}/svc/pay`, { method: 'POST', body: 'once' });
  assert.equal(r.status, 502);
  assert.equal(r.headers.get('x-pillion-error'), 'PILLION_EGRESS_RESET');
  assert.equal(a.seen.filter((s) => s.method === 'POST').length, 2);
  assert.equal(eg.egress.stats().svc?.retries, 0);
});

test('a GET reset before its answer is retried on the next endpoint', async () => {
  const eg = await egress(
    `  endpoints: [${a.url}, ${b.url}]\n  retry: { max_retries: 1, backoff: 1ms }`,
  );
  a.mode = 'reset';
  const r = await fetch(`${eg.url}/svc/x`);
  assert.equal(r.status, 200);
  assert.equal(((await r.json()) as { from: string }).from, 'b');
  assert.deepEqual([a.seen.length, b.seen.length], [1, 1]);
});

test('a POST whose connection was refused is sent to the next endpoint: nothing had been sent', async () => {
  const c = await startUpstream('c', pki);
  await c.refuse();
  const eg = await egress(
    `  endpoints: [${c.url}, ${b.url}]\n  retry: { max_retries: 1, backoff: 1ms }`,
  );
  const r = await fetch(`${eg.url}/svc/pay`, { method: 'POST', body: 'p' });
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { from: 'b', method: 'POST', url: '/pay', body: 'p' });
  assert.equal(b.seen.length, 1);
  // With nowhere else to go: 502, and the refusal named.
  const only = await egress(`  endpoints: [${c.url}]\n  retry: { max_retries: 2, backoff: 1ms }`);
  const r2 = await fetch(`${only.url}/svc/pay`, { method: 'POST', body: 'p' });
  assert.equal(r2.status, 502);
  assert.equal(r2.headers.get('x-pillion-error'), 'PILLION_EGRESS_UNREACHABLE');
  assert.equal(only.egress.stats().svc?.retries, 2);
});

test('an answer cut in the middle is not retried, and the app sees its connection closed', async () => {
  const eg = await egress(`  endpoints: [${a.url}]\n  retry: { max_retries: 2, backoff: 1ms }`);
  a.mode = 'reset-mid';
  const r = await fetch(`${eg.url}/svc/big`);
  assert.equal(r.status, 200);
  await assert.rejects(r.text());
  assert.equal(a.seen.length, 1);
  for (let i = 0; i < 100 && eg.access.length === 0; i++)
    await new Promise((d) => setTimeout(d, 10));
  assert.match(String(eg.access[0]?.error), /^PILLION_EGRESS_RESET: .* cut the response/);
});

test('the retry budget caps retries at the configured share of requests', async () => {
  const eg = await egress(
    `  endpoints: [${a.url}]\n  retry: { max_retries: 1, backoff: 1ms, budget: 0.2, min_retries: 0 }`,
  );
  a.mode = '503';
  for (let i = 0; i < 10; i++) assert.equal((await fetch(`${eg.url}/svc/x`)).status, 503);
  // Request n may retry while retries < 0.2 n: requests 1 and 6 do, the other eight may not.
  const s = eg.egress.stats().svc;
  assert.equal(s?.retries, 2);
  assert.equal(s?.budgetExhausted, 8);
  assert.equal(a.seen.length, 12);
});

test('a Retry-After within max_retry_after is waited for; a longer one is passed to the app', async () => {
  const eg = await egress(
    `  endpoints: [${a.url}]\n  retry: { max_retries: 1, backoff: 1ms, max_retry_after: 2s }`,
  );
  a.mode = '503-retry-after';
  a.retryAfter = '1';
  assert.equal((await fetch(`${eg.url}/svc/x`)).status, 503);
  assert.equal(a.seen.length, 2);
  const gap = (a.seen[1]?.at as number) - (a.seen[0]?.at as number);
  assert.ok(gap >= 990, `second attempt ${gap} ms after the first, before its Retry-After`);
  a.seen.length = 0;
  a.retryAfter = '30';
  const r = await fetch(`${eg.url}/svc/x`);
  assert.equal(r.status, 503);
  assert.equal(r.headers.get('retry-after'), '30');
  assert.equal(a.seen.length, 1);
});

test('a stalled service is answered 504 with a clear body, not before the timeout', async () => {
  const eg = await egress(`  endpoints: [${a.url}]\n  timeout: 300ms\n  retry: { max_retries: 0 }`);
  a.mode = 'stall';
  const t0 = performance.now();
  const r = await fetch(`${eg.url}/svc/slow`);
  const took = performance.now() - t0;
  assert.equal(r.status, 504);
  assert.equal(r.headers.get('x-pillion-error'), 'PILLION_EGRESS_TIMEOUT');
  assert.equal(await r.text(), 'Gateway Timeout: svc did not answer within 300 ms\n');
  assert.ok(took >= 300, `answered after ${took} ms`);
  assert.equal(eg.egress.stats().svc?.timeouts, 1);
});

test('a TLS handshake that never completes ends at the connect timeout: 502, not before it, and a POST goes on', async () => {
  // Accepts the connection and never answers the ClientHello.
  const held: Socket[] = [];
  const silent = createServer((s) => held.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const silentUrl = `https://127.0.0.1:${(silent.address() as { port: number }).port}`;
  try {
    const eg = await egress(
      `  endpoints: [${silentUrl}]\n  timeout: { connect: 300ms, per_try: 5s, total: 5s }\n  retry: { max_retries: 0 }`,
    );
    for (const method of ['GET', 'POST']) {
      const t0 = performance.now();
      const r = await fetch(`${eg.url}/svc/x`, {
        method,
        ...(method === 'POST' ? { body: 'p' } : {}),
      });
      const took = performance.now() - t0;
      assert.equal(r.status, 502, method);
      assert.equal(r.headers.get('x-pillion-error'), 'PILLION_EGRESS_UNREACHABLE');
      assert.equal(
        await r.text(),
        `Bad Gateway: could not connect to svc (${silentUrl}) within 300 ms\n`,
      );
      assert.ok(took >= 300, `${method} answered after ${took} ms`);
    }
    assert.equal(held.length, 2, 'one connection per call, each given up');
    assert.equal(eg.egress.stats().svc?.timeouts, 0, 'a connect timeout is no 504');
    // Nothing was sent on a connection never made: a POST goes to the next endpoint.
    const two = await egress(
      `  endpoints: [${silentUrl}, ${b.url}]\n  timeout: { connect: 300ms, per_try: 5s, total: 5s }\n  retry: { max_retries: 1, backoff: 1ms }`,
    );
    const t0 = performance.now();
    const r = await fetch(`${two.url}/svc/pay`, { method: 'POST', body: 'p' });
    const took = performance.now() - t0;
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { from: 'b', method: 'POST', url: '/pay', body: 'p' });
    assert.ok(took >= 300, `answered after ${took} ms`);
    assert.equal(b.seen.length, 1);
    assert.equal(two.egress.stats().svc?.retries, 1);
  } finally {
    for (const s of held) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});

test('per_try timeouts retry an idempotent request on the next endpoint within the total', async () => {
  const eg = await egress(
    `  endpoints: [${a.url}, ${b.url}]\n  timeout: { per_try: 200ms, total: 2s }\n  retry: { max_retries: 1, backoff: 1ms }`,
  );
  a.mode = 'stall';
  const r = await fetch(`${eg.url}/svc/x`);
  assert.equal(r.status, 200);
  assert.deepEqual([a.seen.length, b.seen.length], [1, 1]);
  // A POST that timed out may have been handled: not retried.
  a.seen.length = 0;
  b.seen.length = 0;
  b.mode = 'stall';
  const p = await fetch(`${eg.url}/svc/x`, { method: 'POST', body: '1' });
  assert.equal(p.status, 504);
  assert.equal(a.seen.length + b.seen.length, 1);
});

test('an app that gives up cancels the attempt in flight, and nothing is retried', async () => {
  const eg = await egress(
    `  endpoints: [${a.url}, ${b.url}]\n  timeout: 5s\n  retry: { max_retries: 2 }`,
  );
  a.mode = 'stall';
  const ac = new AbortController();
  const call = fetch(`${eg.url}/svc/x`, { signal: ac.signal }).catch((e: Error) => e.name);
  while (a.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
  ac.abort();
  assert.equal(await call, 'AbortError');
  for (let i = 0; i < 200 && eg.access.length === 0; i++)
    await new Promise((r) => setTimeout(r, 10));
  assert.equal(eg.access[0]?.status, 499);
  assert.equal(eg.access[0]?.error, 'the app closed the connection');
  assert.deepEqual([a.seen.length, b.seen.length], [1, 0]);
  assert.equal(eg.egress.stats().svc?.retries, 0);
});
