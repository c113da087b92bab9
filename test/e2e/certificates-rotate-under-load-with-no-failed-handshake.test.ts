// S4: 100 certificate rotations under an open-loop load of 500 requests a second over h1 and h2
// (rotation-under-load.ts, which bench/tls-rotation.ts runs too for the timings), most as a
// Kubernetes Secret's `..data` symlink swap, every fifth as renames into place, with 10 torn
// writes between them (a mismatched key, a PEM cut short, a key sealed with another
// passphrase): every new certificate is served, the torn ones never are (the last good pair
// stays, an error names the file and is counted), every scheduled request is answered, and
// not one request or handshake fails, on the client's side or in Pillion's metrics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quantile, rotateUnderLoad } from './rotation-under-load.ts';

const ROTATIONS = 100;
const TORN = 10;

test('100 certificate rotations at 500 req/s fail no request or handshake; torn writes are never served', {
  timeout: 15 * 60_000,
}, async (t) => {
  const r = await rotateUnderLoad({ rotations: ROTATIONS, torn: TORN, rate: 500, maxSeconds: 600 });
  assert.deepEqual(r.failures, []);
  assert.equal(r.rotationsServed, ROTATIONS, 'every rotation was served');
  assert.equal(r.lagsMs.length, ROTATIONS);
  assert.ok(r.scheduled > 0);
  assert.equal(r.answered, r.scheduled, 'every scheduled request was answered');
  assert.ok(r.keptAfterLast >= 10, 'the session open since the start still works');

  assert.equal(r.tornLines.length, TORN);
  assert.deepEqual(
    new Set(r.tornKinds),
    new Set(['mismatched key', 'truncated PEM', 'wrong passphrase']),
  );
  for (const l of r.tornLines) {
    assert.equal(l.code, 'PILLION_TLS_RELOAD_FAILED');
    assert.equal(l.level, 'error');
    assert.match(String(l.error), /secret\/tls\.(crt|key)/);
  }
  // The wrong passphrase is named as such.
  assert.ok(r.tornLines.some((l) => /passphrase does not open it/.test(String(l.error))));

  // Pillion's own count: every rotation put in force, every torn write refused, no handshake
  // failed on its side either.
  const m = r.metrics;
  assert.equal(m.value('pillion_tls_certificate_reloads_total', { result: 'ok' }), ROTATIONS);
  assert.equal(m.value('pillion_tls_certificate_reloads_total', { result: 'failed' }), TORN);
  assert.equal(m.sum('pillion_tls_handshake_failures_total'), 0);

  t.diagnostic(
    `${r.scheduled} requests in ${r.loadSeconds.toFixed(1)} s (${Math.round(r.scheduled / r.loadSeconds)}/s, sent at most ${r.maxLateMs.toFixed(0)} ms late); new certificate served after p50 ${quantile(r.lagsMs, 0.5).toFixed(0)} ms, max ${Math.max(...r.lagsMs).toFixed(0)} ms`,
  );
});
