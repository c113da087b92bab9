import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { startReceiver } from '../../test/fixtures/otlp-receiver.ts';
import { Logger, LogOutput } from '../core/log.ts';
import { OtlpExporter } from './otlp-export.ts';
import { traceOf } from './trace-context.ts';

const quiet = new Logger(new LogOutput(new Writable({ write: (_c, _e, cb) => cb() })));

test('a flood of spans holds two batches on their way and a bounded queue, and drops the rest', async (t) => {
  const rx = await startReceiver();
  t.after(() => rx.close());
  const otlp = new OtlpExporter({
    endpoint: rx.url,
    serviceName: 'test',
    traces: true,
    metricsIntervalMs: 0,
    log: quiet,
  });
  await otlp.start();
  // A refusal flood: each a span of its own, all in one turn (no batch has been answered).
  for (let i = 0; i < 10_000; i++)
    otlp.span({
      method: '-',
      path: '-',
      status: 400,
      durationMs: 0,
      protocol: 'HTTP/1.1',
      error: 'PILLION_REQUEST_INVALID',
      trace: traceOf(undefined, undefined),
    });
  // Two batches of 512 went out; 4,096 wait in the queue; the rest were dropped.
  assert.equal(otlp.counts.dropped, 10_000 - 2 * 512 - 4096);
  await otlp.stop(AbortSignal.timeout(10_000));
  assert.equal(otlp.counts.spans, 2 * 512 + 4096);
  assert.equal(rx.spans.length, 2 * 512 + 4096);
  assert.deepEqual(
    rx.requests.map((r) => r.path),
    ['/v1/traces', '/v1/traces', '/v1/traces'],
  );
  const [s] = rx.spans;
  assert.equal(s.name, 'HTTP');
  assert.deepEqual(s.status, { code: 2, message: 'PILLION_REQUEST_INVALID' });
});
