import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import { attr, startReceiver } from '../../test/fixtures/otlp-receiver.ts';
import { type ExportOutcome, OtlpSink, toLogRecord } from './otlp-sink.ts';

describe('OtlpSink', () => {
  test('ships lines as OTLP/HTTP JSON log records to a real receiver', async () => {
    const rx = await startReceiver();
    after(() => rx.close());
    const sink = new OtlpSink({ endpoint: rx.url, serviceName: 'shop', batchRecords: 2 });
    sink.write(
      `${JSON.stringify({ time: '2026-11-26T10:00:00.123Z', level: 'warn', source: 'app', stream: 'stderr', pid: 7, msg: 'disk low', free_mb: 1.5, tags: ['a'], ctx: { ok: true } })}\n`,
    );
    sink.write(
      '{"time":"2026-11-26T10:00:01.000Z","level":"info","source":"access","msg":"GET / 200"}\n',
    );
    sink.write('127.0.0.1 - - [26/Nov/2026:10:00:02 +0000] "GET / HTTP/1.1" 200 5\n');
    await sink.close();
    assert.equal(rx.records.length, 3);
    assert.ok(
      rx.requests.every((r) => r.path === '/v1/logs' && r.contentType === 'application/json'),
    );
    // batchRecords 2: three records take at least two requests.
    assert.ok(rx.requests.length >= 2);
    const [a, b, c] = rx.records;
    assert.equal(a.timeUnixNano, `${Date.parse('2026-11-26T10:00:00.123Z')}000000`);
    assert.equal(a.severityText, 'WARN');
    assert.equal(a.severityNumber, 13);
    assert.equal(a.body.stringValue, 'disk low');
    assert.equal(attr(a, 'source'), 'app');
    assert.equal(attr(a, 'stream'), 'stderr');
    assert.equal(attr(a, 'pid'), 7);
    assert.equal(attr(a, 'free_mb'), 1.5);
    assert.deepEqual(attr(a, 'tags'), { arrayValue: { values: [{ stringValue: 'a' }] } });
    assert.deepEqual(attr(a, 'ctx'), {
      kvlistValue: { values: [{ key: 'ok', value: { boolValue: true } }] },
    });
    assert.deepEqual(a.resource, {
      attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }],
    });
    assert.equal(b.severityNumber, 9);
    assert.equal(
      c.body.stringValue,
      '127.0.0.1 - - [26/Nov/2026:10:00:02 +0000] "GET / HTTP/1.1" 200 5',
    );
    assert.equal(c.severityText, undefined);
  });

  test('retries 503 and 429, then delivers', async () => {
    const rx = await startReceiver([503, 429]);
    after(() => rx.close());
    let dropped = 0;
    const sink = new OtlpSink({
      endpoint: `${rx.url}/custom/path`,
      onDrop: (n) => {
        dropped += n;
      },
    });
    sink.write('{"msg":"one"}\n{"msg":"two"}\n');
    await sink.close();
    assert.deepEqual(
      rx.requests.map((r) => [r.path, r.status]),
      [
        ['/custom/path', 503],
        ['/custom/path', 429],
        ['/custom/path', 200],
      ],
    );
    assert.deepEqual(
      rx.records.map((r) => r.body.stringValue),
      ['one', 'two'],
    );
    assert.equal(dropped, 0);
  });

  test('a batch the collector rejects, or that cannot be sent, is counted as dropped', async () => {
    const rx = await startReceiver([400]);
    after(() => rx.close());
    let dropped = 0;
    const sink = new OtlpSink({ endpoint: rx.url, onDrop: (n) => (dropped += n) });
    sink.write('{"msg":"a"}\n{"msg":"b"}\n{"msg":"c"}\n');
    await sink.close();
    assert.equal(rx.requests.length, 1);
    assert.equal(dropped, 3);

    // Nothing listens there: every attempt fails, then the batch is given up.
    await rx.close();
    let lost = 0;
    const gone = new OtlpSink({ endpoint: rx.url, attempts: 2, onDrop: (n) => (lost += n) });
    gone.write('{"msg":"x"}\n');
    await gone.close();
    assert.equal(lost, 1);
  });

  test('each failed export is reported with its reason and a running count, and the recovery once', async () => {
    const rx = await startReceiver([503]);
    after(() => rx.close());
    const seen: ExportOutcome[] = [];
    const sink = new OtlpSink({ endpoint: rx.url, onExport: (e) => seen.push(e) });
    sink.write('{"msg":"one"}\n');
    await sink.close();
    assert.deepEqual(seen, [
      { ok: false, reason: 'HTTP 503', failures: 1 },
      { ok: true, reason: '', failures: 1 },
    ]);

    // A port nothing listens on (not the receiver's: a kept-alive socket to it would reset).
    const srv = createServer().listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const closed = (srv.address() as AddressInfo).port;
    srv.close();
    const down: ExportOutcome[] = [];
    const gone = new OtlpSink({
      endpoint: `http://127.0.0.1:${closed}`,
      attempts: 2,
      onExport: (e) => down.push(e),
    });
    gone.write('{"msg":"x"}\n');
    await gone.close();
    assert.deepEqual(down, [
      { ok: false, reason: 'ECONNREFUSED', failures: 1 },
      { ok: false, reason: 'ECONNREFUSED', failures: 2 },
    ]);
  });

  test('toLogRecord keeps a line that is not JSON as its body', () => {
    const r = toLogRecord('plain', '5');
    assert.deepEqual(r, {
      timeUnixNano: '5',
      observedTimeUnixNano: '5',
      body: { stringValue: 'plain' },
      attributes: [],
    });
  });
});
