// /metrics counts the app's egress calls per service exactly as they went: answers by status
// class, retries and the ones the budget refused, an ejection, a timeout and the latency
// histogram, against three real TLS upstreams on loopback (one answering, one failing with 503,
// one stalling) and what each of them saw.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makePki } from '../egress/certs.ts';
import { startUpstream } from '../egress/upstream.ts';
import { scrape } from './admin-client.ts';
import { eventually, h1Request, startPillion } from './harness.ts';

const APP = fileURLToPath(new URL('../fixtures/egress-app.ts', import.meta.url));
/** Calls through the ingress to the app, which calls the service; plus its one call at start. */
const OK_CALLS = 3;
const FLAKY_CALLS = 3;

test('egress calls show in /metrics per service: answers, retries, refusals, ejection, timeout', async (t) => {
  const pki = makePki();
  const ok = await startUpstream('ok-1', pki);
  const flaky = await startUpstream('flaky-1', pki);
  const stall = await startUpstream('stall-1', pki);
  t.after(() => Promise.all([ok.close(), flaky.close(), stall.close()]));
  flaky.mode = '503';
  stall.mode = 'stall';
  const ca = `tls: { ca: ${JSON.stringify(pki.caFile)} }`;
  const cfg = join(pki.dir, 'pillion.yaml');
  writeFileSync(
    cfg,
    [
      'app:',
      `  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(APP)}]`,
      'ingress:',
      '  listen: 127.0.0.1:0',
      'egress:',
      '  listen: 127.0.0.1:0',
      '  services:',
      '    upstream:',
      `      endpoints: [${ok.url}]`,
      `      ${ca}`,
      // One retry per request, and a budget of exactly two (no share of the requests): the
      // first two 503s are retried, the third's retry is refused. The third 503 in a row ejects.
      '    flaky:',
      `      endpoints: [${flaky.url}]`,
      `      ${ca}`,
      '      retry: { max_retries: 1, backoff: 1ms, budget: 0, min_retries: 2 }',
      '      outlier: { consecutive_failures: 3, ejection_time: 10m }',
      '    stall:',
      `      endpoints: [${stall.url}]`,
      `      ${ca}`,
      '      timeout: 300ms',
      '      retry: { max_retries: 0 }',
      '',
    ].join('\n'),
  );
  const p = startPillion(['run', '--config', cfg], { bin: true });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const admin = await p.admin();
  assert.equal((await p.waitForLog((l) => l.msg === 'egress call at start')).status, 200);

  for (let i = 0; i < OK_CALLS; i++)
    assert.equal((await h1Request(port, `/?to=/upstream/ok/${i}`)).status, 200);
  for (let i = 0; i < FLAKY_CALLS; i++)
    assert.equal((await h1Request(port, `/?to=/flaky/x/${i}`)).status, 503);
  const timedOut = await h1Request(port, '/?to=/stall/x');
  assert.equal(timedOut.status, 504);

  // Counters are updated before the access line is written: once every line is there, a
  // scrape sees every call.
  const calls = 1 + OK_CALLS + FLAKY_CALLS + 1;
  await eventually(
    () => p.lines.filter((l) => l.source === 'egress-access').length === calls,
    10_000,
    `${calls} egress access lines`,
  );
  const ejected = p.lines.filter((l) => l.msg === 'egress endpoint ejected');
  assert.equal(ejected.length, 1);
  // What the upstreams saw: every call once, and the flaky one each retry too.
  assert.equal(ok.seen.length, 1 + OK_CALLS);
  assert.equal(flaky.seen.length, FLAKY_CALLS + 2);
  assert.equal(stall.seen.length, 1);

  for (const om of [false, true]) {
    const m = await scrape(admin, om);
    const what = om ? 'OpenMetrics' : 'Prometheus text';
    const req = (service: string, code_class: string): number =>
      m.value('pillion_egress_requests_total', { service, code_class });
    assert.equal(req('upstream', '2xx'), 1 + OK_CALLS, what);
    assert.equal(req('flaky', '5xx'), FLAKY_CALLS, what);
    assert.equal(req('stall', '5xx'), 1, what);
    assert.equal(m.sum('pillion_egress_requests_total'), calls, what);

    const per = (name: string): Record<string, number> =>
      Object.fromEntries(
        ['upstream', 'flaky', 'stall'].map((service) => [service, m.value(name, { service })]),
      );
    assert.deepEqual(per('pillion_egress_retries_total'), { upstream: 0, flaky: 2, stall: 0 });
    assert.deepEqual(per('pillion_egress_retries_refused_total'), {
      upstream: 0,
      flaky: 1,
      stall: 0,
    });
    assert.deepEqual(per('pillion_egress_timeouts_total'), { upstream: 0, flaky: 0, stall: 1 });
    assert.deepEqual(per('pillion_egress_ejections_total'), { upstream: 0, flaky: 1, stall: 0 });
    assert.equal(m.types.get('pillion_egress_open_connections'), 'gauge', what);
    for (const service of ['upstream', 'flaky', 'stall'])
      assert.ok(
        m.samples.some(
          (s) => s.name === 'pillion_egress_open_connections' && s.labels.service === service,
        ),
        `${what}: open connections of ${service}`,
      );

    const h = 'pillion_egress_request_duration_seconds';
    assert.equal(m.types.get(h), 'histogram', what);
    const counts = { upstream: 1 + OK_CALLS, flaky: FLAKY_CALLS, stall: 1 };
    for (const [service, n] of Object.entries(counts)) {
      assert.equal(m.value(`${h}_count`, { service }), n, `${what}: ${service}`);
      assert.equal(m.value(`${h}_bucket`, { service, le: '+Inf' }), n, `${what}: ${service}`);
      assert.ok(m.value(`${h}_sum`, { service }) > 0, `${what}: ${service}`);
    }
    // The stalled call was answered at its 300 ms timeout, never before: above the 250 ms bound.
    const below = m.samples.find(
      (s) => s.name === `${h}_bucket` && s.labels.service === 'stall' && s.labels.le === '0.25',
    );
    assert.equal(below?.value, 0, what);
  }
});
