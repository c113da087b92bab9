// R6: a malformed response from the app becomes a 502; the app connection is closed and the
// client's next request on the same connection is served correctly.
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { after, before, test } from 'node:test';
import { type Edge, startEdge } from './edge-harness.ts';
import { exchange } from './raw-client.ts';
import { okResponder } from './spy-app.ts';

const CASES: Record<string, string> = {
  'CL and TE':
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'duplicate CL (same value)':
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok',
  'duplicate CL (different values)':
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!',
  'invalid CL': 'HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok',
  'negative CL': 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok',
  'unknown TE': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nokok',
  'duplicate TE':
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
  'TE list': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
  'invalid chunk': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n',
  'bare-LF status line': 'HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\nok',
  'bare-LF header line': 'HTTP/1.1 200 OK\r\nContent-Length: 2\nX-A: 1\r\n\r\nok',
  'NUL in a header': 'HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok',
  'CR in a header': 'HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nok',
  'space before colon': 'HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok',
  'obs-fold': 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok',
  'bad status line': 'HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok',
  'not HTTP': 'SSH-2.0-OpenSSH_9.2\r\n\r\n',
};
/** The eight cases RELIABILITY.md names; the others are extra. */
const NAMED = [
  'CL and TE',
  'duplicate CL (same value)',
  'invalid CL',
  'unknown TE',
  'duplicate TE',
  'invalid chunk',
  'bare-LF status line',
  'NUL in a header',
];

let edge: Edge;
before(async () => {
  edge = await startEdge();
  edge.spy.respond = (r, s) => {
    const name = decodeURIComponent(r.target.slice('/bad/'.length));
    return r.target.startsWith('/bad/') ? (CASES[name] ?? null) : okResponder(r, s);
  };
});
after(() => edge.stop());

const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: a.test\r\n\r\n`;

for (const name of Object.keys(CASES)) {
  test(`HTTP/1.1: ${name}${NAMED.includes(name) ? '' : ' (extra)'} → 502, app connection closed, next request fine`, async () => {
    edge.spy.reset();
    const x = await exchange(edge.port);
    x.socket.write(get(`/bad/${encodeURIComponent(name)}`));
    const first = await x.settle(1, 5000);
    assert.equal(first.responses[0]?.status, 502);
    assert.match(first.responses[0]?.body.toString() ?? '', /malformed response/);
    const badConn = edge.spy.connections.find((c) =>
      c.requests.some((r) => r.target.startsWith('/bad/')),
    );
    assert.ok(badConn, 'the request reached the app');
    for (let i = 0; i < 100 && !badConn.closed; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(badConn.closed, 'the app connection is closed');
    x.socket.write(get('/next'));
    const second = await x.settle(2, 5000);
    await x.close();
    assert.equal(second.closed, false);
    assert.equal(second.responses[1]?.status, 200);
    assert.equal(second.responses[1]?.body.toString(), 'ok');
  });
}

test('HTTP/2: each malformed response is a 502 on its stream; the session serves the next', async () => {
  const session = h2connect(`https://127.0.0.1:${edge.port}`, { rejectUnauthorized: false });
  session.on('error', () => {});
  const get2 = (path: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const s = session.request({ ':path': path });
      let status = 0;
      let body = '';
      s.on('response', (h) => {
        status = Number(h[':status']);
      });
      s.setEncoding('utf8');
      s.on('data', (c: string) => {
        body += c;
      });
      s.on('end', () => resolve({ status, body }));
      s.on('error', reject);
    });
  try {
    for (const name of NAMED) {
      const bad = await get2(`/bad/${encodeURIComponent(name)}`);
      assert.equal(bad.status, 502, name);
      const next = await get2('/next');
      assert.deepEqual(next, { status: 200, body: 'ok' }, name);
    }
  } finally {
    session.close();
  }
});

test('a bad chunk after the head was passed on aborts the client response (no 200 completes)', async () => {
  edge.spy.respond = (r, sock) => {
    if (r.target !== '/late') return okResponder(r, sock);
    sock.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n');
    setTimeout(() => sock.write('zz\r\n0\r\n\r\n'), 100);
    return null;
  };
  try {
    const x = await exchange(edge.port);
    x.socket.write(get('/late'));
    const res = await x.settle(1, 5000);
    await x.close();
    assert.equal(res.responses.length, 0, 'no complete response reached the client');
    assert.ok(res.closed, 'the client connection was closed');
  } finally {
    edge.spy.respond = (r, s) => {
      const name = decodeURIComponent(r.target.slice('/bad/'.length));
      return r.target.startsWith('/bad/') ? (CASES[name] ?? null) : okResponder(r, s);
    };
  }
});
