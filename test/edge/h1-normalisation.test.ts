// B2: what the app receives is Pillion's own canonical request, field by field.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Edge, startEdge } from './edge-harness.ts';
import { exchange } from './raw-client.ts';
import type { ParsedRequest } from './strict-parser.ts';

const CRLF = '\r\n';
const req = (lines: string[], body = ''): string => `${lines.join(CRLF)}${CRLF}${CRLF}${body}`;
const field = (r: ParsedRequest, name: string): string[] =>
  r.headers.filter(([k]) => k === name).map(([, v]) => v);

interface Row {
  name: string;
  send: string;
  /** The status the client sees; 200 means forwarded. */
  status: number;
  check?: (r: ParsedRequest) => void;
}

const ROWS: Row[] = [
  {
    name: 'duplicate Host is refused',
    send: req(['GET / HTTP/1.1', 'Host: a.test', 'Host: b.test']),
    status: 400,
  },
  {
    name: 'Host differing only in case of the name is still a duplicate',
    send: req(['GET / HTTP/1.1', 'Host: a.test', 'hOST: a.test']),
    status: 400,
  },
  {
    name: 'underscore names are dropped by default',
    send: req(['GET / HTTP/1.1', 'Host: a.test', 'X_Forwarded_For: 6.6.6.6', 'X_A: 1', 'X-B: 2']),
    status: 200,
    check: (r) => {
      assert.equal(r.headers.filter(([k]) => k.includes('_')).length, 0);
      assert.deepEqual(field(r, 'x-b'), ['2']);
      assert.deepEqual(field(r, 'x-forwarded-for'), ['127.0.0.1']);
    },
  },
  {
    name: 'Upgrade: h2c is served as HTTP/1.1 and not forwarded',
    send: req([
      'GET / HTTP/1.1',
      'Host: a.test',
      'Connection: Upgrade, HTTP2-Settings',
      'Upgrade: h2c',
      'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA',
    ]),
    status: 200,
    check: (r) => {
      assert.deepEqual(field(r, 'upgrade'), []);
      assert.deepEqual(field(r, 'http2-settings'), []);
      assert.ok(!field(r, 'connection').join().toLowerCase().includes('upgrade'));
    },
  },
  {
    name: 'request trailers are dropped; the chunked body goes with its exact length',
    send: req(
      ['POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked', 'Trailer: X-T'],
      `3${CRLF}abc${CRLF}0${CRLF}X-T: 1${CRLF}Host: evil.test${CRLF}${CRLF}`,
    ),
    status: 200,
    check: (r) => {
      assert.equal(r.body.toString(), 'abc');
      assert.deepEqual(field(r, 'content-length'), ['3']);
      assert.deepEqual(field(r, 'x-t'), []);
      assert.deepEqual(field(r, 'trailer'), []);
      assert.deepEqual(field(r, 'host'), ['a.test']);
    },
  },
  {
    name: 'names listed in Connection are removed',
    send: req(['GET / HTTP/1.1', 'Host: a.test', 'Connection: x-drop, keep-alive', 'X-Drop: 1']),
    status: 200,
    check: (r) => assert.deepEqual(field(r, 'x-drop'), []),
  },
  {
    name: 'Connection cannot remove Host, Content-Length, Transfer-Encoding or X-Forwarded-*',
    send: req(
      [
        'POST / HTTP/1.1',
        'Host: a.test',
        'Connection: host, content-length, transfer-encoding, x-forwarded-for, x-forwarded-proto, x-forwarded-host, x-request-id',
        'Content-Length: 3',
      ],
      'abc',
    ),
    status: 200,
    check: (r) => {
      assert.deepEqual(field(r, 'host'), ['a.test']);
      assert.deepEqual(field(r, 'content-length'), ['3']);
      assert.deepEqual(field(r, 'x-forwarded-for'), ['127.0.0.1']);
      assert.deepEqual(field(r, 'x-forwarded-proto'), ['https']);
      assert.deepEqual(field(r, 'x-forwarded-host'), ['a.test']);
      assert.equal(field(r, 'x-request-id').length, 1);
      assert.equal(r.body.toString(), 'abc');
    },
  },
  {
    name: 'a GET body without a length is framed for the app, never left raw',
    send: req(
      ['GET / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked'],
      `3${CRLF}abc${CRLF}0${CRLF}${CRLF}`,
    ),
    status: 200,
    check: (r) => {
      assert.deepEqual(field(r, 'content-length'), ['3']);
      assert.equal(r.body.toString(), 'abc');
    },
  },
  {
    name: 'client X-Forwarded-* and hop-by-hop fields are replaced or removed',
    send: req([
      'GET / HTTP/1.1',
      'Host: a.test',
      'X-Forwarded-For: 6.6.6.6',
      'X-Forwarded-Host: evil.test',
      'X-Forwarded-Proto: http',
      'Keep-Alive: timeout=1',
      'Proxy-Connection: keep-alive',
      'TE: trailers',
    ]),
    status: 200,
    check: (r) => {
      assert.deepEqual(field(r, 'x-forwarded-for'), ['127.0.0.1']);
      assert.deepEqual(field(r, 'x-forwarded-host'), ['a.test']);
      assert.deepEqual(field(r, 'x-forwarded-proto'), ['https']);
      for (const n of ['keep-alive', 'proxy-connection', 'te']) assert.deepEqual(field(r, n), []);
    },
  },
  {
    name: 'absolute-form becomes origin-form with its authority as Host',
    send: req(['GET http://a.test:8443/x?y=1 HTTP/1.1', 'Host: other.test']),
    status: 200,
    check: (r) => {
      assert.equal(r.target, '/x?y=1');
      assert.deepEqual(field(r, 'host'), ['a.test:8443']);
    },
  },
  {
    name: 'a Transfer-Encoding other than chunked is refused',
    send: req(
      ['POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: gzip, chunked'],
      `0${CRLF}${CRLF}`,
    ),
    status: 400,
  },
  {
    name: 'CONNECT is refused',
    send: req(['CONNECT 127.0.0.1:22 HTTP/1.1', 'Host: 127.0.0.1:22']),
    status: 400,
  },
  {
    name: 'authority-form with GET is refused',
    send: req(['GET a.test:443 HTTP/1.1', 'Host: a.test']),
    status: 400,
  },
  { name: 'a missing Host in HTTP/1.1 is refused', send: req(['GET / HTTP/1.1']), status: 400 },
];

let edge: Edge;
let strict: Edge;
before(async () => {
  edge = await startEdge();
  strict = await startEdge({ underscoreHeaders: 'reject' });
});
after(async () => {
  await edge.stop();
  await strict.stop();
});

async function send(
  e: Edge,
  bytes: string,
): Promise<{ status: number | undefined; closed: boolean }> {
  e.spy.reset();
  const x = await exchange(e.port);
  x.socket.write(Buffer.from(bytes, 'latin1'));
  // Waits for the close (or a quiet spell) after the first response.
  const res = await x.settle(2);
  await x.close();
  await e.spy.quiet();
  return { status: res.responses[0]?.status, closed: res.closed };
}

for (const row of ROWS) {
  test(row.name, async () => {
    const { status, closed } = await send(edge, row.send);
    assert.equal(status, row.status);
    const reqs = edge.spy.requests;
    if (row.status === 200) {
      assert.equal(reqs.length, 1);
      const r = reqs[0] as ParsedRequest;
      assert.deepEqual(r.violations, []);
      row.check?.(r);
    } else {
      assert.equal(edge.spy.byteCount, 0, 'nothing reaches the app');
      assert.ok(closed, 'a refused request closes its connection');
    }
  });
}

test('underscore names are refused with 400 when so configured', async () => {
  const { status } = await send(strict, req(['GET / HTTP/1.1', 'Host: a.test', 'X_A: 1']));
  assert.equal(status, 400);
  assert.equal(strict.spy.byteCount, 0);
  const ok = await send(strict, req(['GET / HTTP/1.1', 'Host: a.test', 'X-A: 1']));
  assert.equal(ok.status, 200);
});
