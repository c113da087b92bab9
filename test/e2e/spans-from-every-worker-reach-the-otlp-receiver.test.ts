// With ingress.workers above 1 each worker exports the spans of the requests it served straight
// to the collector (its resource names the worker), and the primary exports the metrics: a real
// OTLP/HTTP receiver gets one span per request from each of two workers.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { attr, startReceiver } from '../fixtures/otlp-receiver.ts';
import { APP_CMD, eventually, h1Request, startPillion, tempDir } from './harness.ts';

const REQUESTS = 40;

test('with two workers, the spans of each reach the OTLP receiver, one per request', async (t) => {
  const rx = await startReceiver();
  t.after(() => rx.close());
  const cfg = join(tempDir(), 'pillion.yaml');
  writeFileSync(cfg, `telemetry:\n  endpoint: ${rx.url}\n  metrics_interval: 300ms\n`);
  const p = startPillion(
    ['run', '--config', cfg, '--listen', '127.0.0.1:0', '--workers', '2', '--', ...APP_CMD],
    { bin: true },
  );
  t.after(() => p.kill());
  const listening = await p.waitForLog((l) => l.msg === 'workers listening', 'workers listening');
  const port = Number(listening.port);
  await p.ready();
  // Fresh connections: the kernel spreads them over both workers.
  const seen = new Set<string>();
  for (let i = 0; i < REQUESTS; i++) {
    const r = await h1Request(port, `/headers?i=${i}`);
    assert.equal(r.status, 200);
    seen.add(JSON.parse(r.body).traceparent);
  }
  assert.equal(seen.size, REQUESTS, 'each request had a trace of its own');

  await eventually(() => rx.spans.length >= REQUESTS, 10_000, `${REQUESTS} spans`);
  assert.equal(rx.spans.length, REQUESTS, 'one span per request, none twice');
  const byWorker = new Map<string, number>();
  for (const s of rx.spans) {
    assert.ok(seen.has(`00-${s.traceId}-${s.spanId}-01`), 'the span the app saw as its parent');
    const w = String(attr(s.resource, 'pillion.worker'));
    byWorker.set(w, (byWorker.get(w) ?? 0) + 1);
  }
  assert.deepEqual([...byWorker.keys()].sort(), ['1', '2'], 'spans from each worker');
  // Each worker's spans are the requests its access lines say it served.
  const access = p.lines.filter((l) => l.source === 'access');
  for (const [w, n] of byWorker)
    assert.equal(access.filter((l) => String(l.worker) === w).length, n, `worker ${w}`);

  // The metrics come from the primary alone, with every worker's requests summed.
  const requestsIn = (body: Record<string, unknown>): number => {
    const rm = body.resourceMetrics as
      | {
          scopeMetrics: {
            metrics: { name: string; sum?: { dataPoints: { asDouble: number }[] } }[];
          }[];
        }[]
      | undefined;
    const m = rm?.[0].scopeMetrics[0].metrics.find((x) => x.name === 'pillion_requests_total');
    return m?.sum?.dataPoints.reduce((a, d) => a + d.asDouble, 0) ?? 0;
  };
  await eventually(
    () => rx.bodies.some((b) => b.path === '/v1/metrics' && requestsIn(b.body) === REQUESTS),
    10_000,
    'a metrics export with every request',
  );
  // A request just before the stop: its worker sends the span before it exits.
  const last = JSON.parse((await h1Request(port, '/headers')).body).traceparent;
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
  assert.equal(rx.spans.length, REQUESTS + 1, 'the last span too, and none sent twice');
  assert.ok(rx.spans.some((s) => `00-${s.traceId}-${s.spanId}-01` === last));
});
