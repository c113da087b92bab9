// Requests Pillion refuses itself (400, 408, 413, 414, 431, CONNECT), before they were parsed
// whole or before they reached the app, are spans too, sent to a real OTLP/HTTP receiver: each
// with its status, an error and Pillion's code, and nothing of the attacker's bytes beyond what
// the access log keeps (no query, at most 64 characters of a path, nothing of a head that was
// never parsed).
import assert from 'node:assert/strict';
import { connect as h2Connect } from 'node:http2';
import { test } from 'node:test';
import { connect } from 'node:tls';
import { attr, type ReceivedSpan, startReceiver } from '../fixtures/otlp-receiver.ts';
import { APP_CMD, configFile, eventually, h2Request, startPillion } from './harness.ts';

const CANARY = 'canary-7f3a9c';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

/** Writes `bytes` on a TLS connection; resolves with the status Pillion answered, once it closes. */
function raw(port: number, bytes: string, wait = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect({
      host: '127.0.0.1',
      port,
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    const timer = setTimeout(() => s.destroy(new Error('no answer in 30 s')), 30_000);
    let got = '';
    s.setEncoding('latin1');
    s.on('data', (c: string) => {
      got += c;
    });
    s.on('error', reject);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Number(/^HTTP\/1\.1 (\d{3}) /.exec(got)?.[1] ?? 0));
    });
    // `wait`: the head is left unfinished, for the headers timeout.
    if (wait) s.write(bytes);
    else s.end(bytes);
  });
}

test('requests refused at the edge are spans with their status and error, without their bytes', async (t) => {
  const rx = await startReceiver();
  t.after(() => rx.close());
  const cfg = configFile(
    [
      'ingress:',
      '  limits:',
      '    max_body_bytes: 1KiB',
      '    headers_timeout: 1s',
      'telemetry:',
      `  endpoint: ${rx.url}`,
      '',
    ].join('\n'),
  );
  const p = startPillion(['run', '--config', cfg, '--listen', '127.0.0.1:0', '--', ...APP_CMD], {
    bin: true,
  });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();

  const long = `/${'a'.repeat(9000)}`;
  const given = `00-${TRACE}-00f067aa0ba902b7-01`;
  const sent: [string, number][] = [
    ['parse', await raw(port, `\x01BAD /x?token=${CANARY} HTTP/1.1\r\nHost: a\r\n\r\n`)],
    [
      'overflow',
      await raw(
        port,
        `GET /h?token=${CANARY} HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
      ),
    ],
    [
      'uri',
      await raw(
        port,
        `GET ${long}?token=${CANARY} HTTP/1.1\r\nHost: a\r\ntraceparent: ${given}\r\n\r\n`,
      ),
    ],
    [
      'body',
      await raw(
        port,
        `POST /upload?token=${CANARY} HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n`,
      ),
    ],
    ['slow', await raw(port, `GET /slow?token=${CANARY} HTTP/1.1\r\nHost: a\r\n`, true)],
    ['connect', await raw(port, 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n')],
  ];
  assert.deepEqual(
    sent.map(([, s]) => s),
    [400, 431, 414, 413, 408, 400],
  );
  // HTTP/2: a path over the limit, refused before the app.
  const s = h2Connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  s.on('error', () => {});
  t.after(() => s.destroy());
  assert.equal((await h2Request(s, `${long}?token=${CANARY}`)).status, 414);
  s.close();

  await eventually(() => rx.spans.length >= 7, 10_000, 'seven spans');
  const spans = rx.spans;
  assert.equal(spans.length, 7, 'one span per refused request');
  const refused = p.lines.filter((l) => l.source === 'access' && Number(l.status) >= 400);
  assert.equal(refused.length, 7, 'as many as their access lines');
  for (const sp of spans) {
    assert.equal(sp.kind, 2);
    assert.equal(sp.status.code, 2, `an error: ${JSON.stringify(sp)}`);
    assert.match(String(attr(sp, 'error.type')), /^PILLION_/);
    assert.equal(attr(sp, 'error.type'), attr(sp, 'pillion.edge.decision'));
    assert.equal(sp.status.message, attr(sp, 'error.type'));
    assert.equal(attr(sp, 'pillion.app.status_code'), undefined, 'none reached the app');
  }
  const by = (status: number, method?: string): ReceivedSpan[] =>
    spans.filter(
      (x) =>
        attr(x, 'http.response.status_code') === status &&
        (method === undefined || attr(x, 'http.request.method') === method),
    );

  // Refused before the head was parsed whole: no method, no path, a trace of its own.
  for (const [status, code] of [
    [400, 'PILLION_REQUEST_INVALID'],
    [431, 'PILLION_HEADERS_TOO_LARGE'],
    [408, 'PILLION_REQUEST_TIMEOUT'],
  ] as const) {
    const [sp] = by(status, '_OTHER');
    assert.ok(sp, `a span for the ${status}`);
    assert.equal(sp.name, 'HTTP');
    assert.equal(attr(sp, 'url.path'), undefined);
    assert.equal(attr(sp, 'error.type'), code);
    assert.equal(sp.parentSpanId, undefined);
    assert.match(sp.traceId, /^[0-9a-f]{32}$/);
  }
  const [connectSpan] = by(400, 'CONNECT');
  assert.ok(connectSpan, 'a span for the CONNECT');
  assert.equal(attr(connectSpan, 'error.type'), 'PILLION_REQUEST_INVALID');

  // Refused after the head was read: the client's trace is continued, the path cut.
  const uri = by(414);
  assert.equal(uri.length, 2);
  const h1uri = uri.find((x) => attr(x, 'network.protocol.version') === '1.1') as ReceivedSpan;
  assert.equal(h1uri.traceId, TRACE);
  assert.equal(h1uri.parentSpanId, '00f067aa0ba902b7');
  for (const x of uri) {
    assert.equal(attr(x, 'url.path'), `/${'a'.repeat(63)}...[cut ${9000 - 63} chars]`);
    assert.equal(attr(x, 'error.type'), 'PILLION_URI_TOO_LONG');
  }
  const [body] = by(413);
  assert.equal(attr(body, 'url.path'), '/upload');
  assert.equal(attr(body, 'error.type'), 'PILLION_BODY_TOO_LARGE');

  const exported = JSON.stringify(rx.bodies);
  assert.ok(!exported.includes(CANARY), 'no query of a refused request was exported');
  assert.ok(!exported.includes('a'.repeat(65)), 'no more of a path than the access log keeps');
  assert.ok(!exported.includes('bbbb'), 'nothing of a head that was never parsed');
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
