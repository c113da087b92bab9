// An app answering the old way, with neither Content-Length nor chunked encoding (the body ends
// when it closes the connection, as Python's BaseHTTPRequestHandler does by default), reaches
// the client whole: over HTTP/1.1 as a chunked body with its last chunk, and over HTTP/2.
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { h1Request, h2Request, startPillion } from './harness.ts';

const BODY = 'read to the close\n';

test('a response body read to the close reaches HTTP/1.1 and HTTP/2 clients whole', async (t) => {
  const app = createServer((s) => {
    s.once('data', () => s.end(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n${BODY}`));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  t.after(() => app.close());
  const appPort = (app.address() as { port: number }).port;
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--app-port', String(appPort)]);
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  // Bounded: without its last chunk the response never ends.
  const bounded = <T>(what: string, x: Promise<T>): Promise<T> =>
    Promise.race([
      x,
      new Promise<T>((_, reject) =>
        setTimeout(() => reject(new Error(`${what} never ended`)), 10_000).unref(),
      ),
    ]);
  for (const headers of [{}, { connection: 'close' }] as Record<string, string>[]) {
    const r = await bounded('the HTTP/1.1 response', h1Request(port, '/', { headers }));
    assert.equal(r.status, 200);
    assert.equal(r.headers['transfer-encoding'], 'chunked');
    assert.equal(r.body, BODY);
  }
  const session = connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  t.after(() => session.close());
  const r2 = await bounded('the HTTP/2 response', h2Request(session, '/'));
  assert.equal(r2.status, 200);
  assert.equal(r2.body, BODY);
  const access = await p.waitForLog((l) => l.source === 'access' && l.protocol === 'HTTP/2');
  assert.equal(access.status, 200);
});
