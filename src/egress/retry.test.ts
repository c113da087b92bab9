import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs, failureOf, isIdempotent, RetryBudget, retryAfterMs } from './retry.ts';

test('the budget allows retries up to the share of requests, or the minimum, in a 10 s window', () => {
  const b = new RetryBudget(0.2, 2);
  const t = 1_000_000;
  for (let i = 0; i < 5; i++) b.request(t);
  // max(2, 0.2 * 5 = 1): two retries.
  assert.deepEqual([b.tryRetry(t), b.tryRetry(t), b.tryRetry(t)], [true, true, false]);
  for (let i = 0; i < 10; i++) b.request(t + 500);
  // 15 requests: 3 allowed, 2 taken.
  assert.deepEqual([b.tryRetry(t + 500), b.tryRetry(t + 500)], [true, false]);
  // Ten seconds later the window has moved on: only the minimum again.
  assert.deepEqual(
    [b.tryRetry(t + 11_000), b.tryRetry(t + 11_000), b.tryRetry(t + 11_000)],
    [true, true, false],
  );
});

test('back-off is jittered below the doubled base, capped', () => {
  for (let n = 1; n <= 8; n++) {
    const ms = backoffMs(n, 25, 250);
    assert.ok(ms >= 0 && ms <= Math.min(250, 25 * 2 ** (n - 1)), `${n}: ${ms}`);
  }
});

test('Retry-After in seconds or as a date; anything else is ignored', () => {
  const now = Date.parse('2026-12-01T10:00:00Z');
  assert.equal(retryAfterMs('3', now), 3000);
  assert.equal(retryAfterMs('Tue, 01 Dec 2026 10:00:02 GMT', now), 2000);
  assert.equal(retryAfterMs('Tue, 01 Dec 2026 09:00:00 GMT', now), 0);
  assert.equal(retryAfterMs('soon', now), undefined);
  assert.equal(retryAfterMs(undefined, now), undefined);
});

test('idempotent methods are those of RFC 9110 9.2.2', () => {
  assert.deepEqual(
    ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE', 'POST', 'PATCH'].map(isIdempotent),
    [true, true, true, true, true, true, false, false],
  );
});

test('failures are told apart by their codes, through causes', () => {
  const e = (code: string, cause?: unknown) => Object.assign(new Error(code), { code, cause });
  assert.equal(failureOf(e('ECONNREFUSED')), 'refused');
  assert.equal(failureOf(e('UND_ERR_CONNECT_TIMEOUT')), 'refused');
  assert.equal(failureOf(e('CERT_HAS_EXPIRED')), 'tls');
  assert.equal(failureOf(e('ERR_TLS_CERT_ALTNAME_INVALID')), 'tls');
  assert.equal(
    failureOf(e('UND_ERR_SOCKET', e('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'))),
    'tls',
  );
  assert.equal(failureOf(e('UND_ERR_SOCKET', e('ECONNRESET'))), 'reset');
  assert.equal(failureOf(e('X', e('ECONNRESET'))), 'reset');
  assert.equal(failureOf(new Error('odd')), 'other');
  const rst = (code: number) =>
    Object.assign(new Error('Stream closed'), {
      code: 'ERR_HTTP2_STREAM_ERROR',
      http2ErrorCode: code,
    });
  assert.equal(failureOf(rst(2)), 'reset');
  assert.equal(failureOf(rst(7)), 'refused');
});
