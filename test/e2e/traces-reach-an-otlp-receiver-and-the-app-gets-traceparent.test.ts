// W3C trace context and OTLP/HTTP export through the real CLI, against a real receiver (a
// node:http server in this test): the app gets Pillion's span as its parent, one span per
// proxied request reaches /v1/traces with the edge decision and the app's status, and the
// metrics reach /v1/metrics. Without telemetry, the client's headers pass untouched.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  attr,
  type ReceivedSpan,
  type Receiver,
  startReceiver,
} from '../fixtures/otlp-receiver.ts';
import { APP_CMD, configFile, eventually, h1Request, startPillion } from './harness.ts';

type Got = Receiver['bodies'][number];

test('spans and metrics reach the OTLP receiver; the app gets traceparent with Pillion as parent', async (t) => {
  const rx = await startReceiver();
  t.after(() => rx.close());
  const cfg = configFile(
    `telemetry:\n  endpoint: ${rx.url}\n  metrics_interval: 300ms\n  service_name: shop-sidecar\n`,
  );
  const p = startPillion(['run', '--config', cfg, '--listen', '127.0.0.1:0', '--', ...APP_CMD], {
    bin: true,
  });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const canary = `canary-${randomBytes(6).toString('hex')}`;

  const given = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const r1 = await h1Request(port, `/headers?token=${canary}`, {
    headers: { traceparent: given, tracestate: 'vendor=abc' },
  });
  const seen1 = JSON.parse(r1.body);
  const m1 = /^00-4bf92f3577b34da6a3ce929d0e0e4736-([0-9a-f]{16})-01$/.exec(seen1.traceparent);
  assert.ok(m1, `the app got the client's trace with Pillion's span: ${seen1.traceparent}`);
  assert.notEqual(m1[1], '00f067aa0ba902b7');
  assert.equal(seen1.tracestate, 'vendor=abc');

  const seen2 = JSON.parse((await h1Request(port, '/headers')).body);
  const m2 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(seen2.traceparent);
  assert.ok(m2, 'a trace was started for a request without one');
  assert.equal(seen2.tracestate, undefined);

  assert.equal((await h1Request(port, '/reset', { method: 'POST' })).status, 502);

  await eventually(() => rx.spans.length >= 3, 10_000, 'three spans');
  const spans = rx.spans;
  assert.equal(spans.length, 3, 'one span per proxied request');
  const s1 = spans.find((s) => s.traceId === '4bf92f3577b34da6a3ce929d0e0e4736') as ReceivedSpan;
  assert.equal(s1.parentSpanId, '00f067aa0ba902b7');
  assert.equal(s1.spanId, m1[1], "the span the app saw as its parent is Pillion's");
  assert.equal(s1.kind, 2);
  assert.equal(s1.name, 'GET');
  assert.equal(attr(s1, 'url.path'), '/headers');
  assert.equal(attr(s1, 'http.response.status_code'), 200);
  assert.equal(attr(s1, 'pillion.edge.decision'), 'forwarded');
  assert.equal(attr(s1, 'pillion.app.status_code'), 200);
  assert.ok(BigInt(s1.endTimeUnixNano as string) >= BigInt(s1.startTimeUnixNano as string));
  const s2 = spans.find((s) => s.traceId === m2[1]) as ReceivedSpan;
  assert.equal(s2.spanId, m2[2]);
  assert.equal(s2.parentSpanId, undefined);
  const s3 = spans.find((s) => attr(s, 'url.path') === '/reset') as ReceivedSpan;
  assert.equal(attr(s3, 'pillion.edge.decision'), 'PILLION_APP_RESET');
  assert.equal(attr(s3, 'pillion.app.status_code'), undefined, 'the app sent no status');
  assert.deepEqual(s3.status, { code: 2, message: 'PILLION_APP_RESET' });
  const resource = (rx.bodies.find((g) => g.path === '/v1/traces')?.body.resourceSpans[0] ??
    {}) as {
    resource: { attributes: unknown[] };
  };
  assert.deepEqual(resource.resource.attributes, [
    { key: 'service.name', value: { stringValue: 'shop-sidecar' } },
  ]);

  // The metrics: cumulative sums, and the histogram, with the three requests in them.
  type Requests = {
    sum: {
      dataPoints: { asDouble: number }[];
      isMonotonic: boolean;
      aggregationTemporality: number;
    };
  };
  const metricsOf = (g: Got) =>
    (g.body.resourceMetrics[0] as { scopeMetrics: { metrics: Record<string, unknown>[] }[] })
      .scopeMetrics[0].metrics;
  const requestsIn = (g: Got): number =>
    (
      metricsOf(g).find((m) => m.name === 'pillion_requests_total') as Requests | undefined
    )?.sum.dataPoints.reduce((n, d) => n + d.asDouble, 0) ?? 0;
  const exports = () => rx.bodies.filter((g) => g.path === '/v1/metrics');
  await eventually(
    () => exports().some((g) => requestsIn(g) === 3),
    10_000,
    'a metrics export with the three requests',
  );
  const last = exports().find((g) => requestsIn(g) === 3) as Got;
  const metrics = metricsOf(last);
  const requests = metrics.find((m) => m.name === 'pillion_requests_total') as Requests;
  assert.equal(requests.sum.isMonotonic, true);
  assert.equal(requests.sum.aggregationTemporality, 2);
  assert.equal(
    requests.sum.dataPoints.reduce((n, d) => n + d.asDouble, 0),
    3,
  );
  const hist = metrics.find((m) => m.name === 'pillion_request_duration_seconds') as {
    histogram: {
      dataPoints: { count: string; bucketCounts: string[]; explicitBounds: number[] }[];
    };
  };
  assert.equal(hist.histogram.dataPoints[0].count, '3');
  assert.equal(
    hist.histogram.dataPoints[0].bucketCounts.length,
    hist.histogram.dataPoints[0].explicitBounds.length + 1,
  );
  assert.ok(!JSON.stringify(rx.bodies).includes(canary), 'no query value in what was exported');
  assert.ok(rx.requests.every((r) => r.contentType === 'application/json'));
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});

test('without telemetry the client trace headers pass untouched, and none is added', async (t) => {
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', ...APP_CMD]);
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const given = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const seen = JSON.parse(
    (await h1Request(port, '/headers', { headers: { traceparent: given } })).body,
  );
  assert.equal(seen.traceparent, given);
  const none = JSON.parse((await h1Request(port, '/headers')).body);
  assert.equal(none.traceparent, undefined);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
