import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { h1Request, h2Request, type Pillion, startPillion } from './harness.ts';

const H2C_APP = fileURLToPath(new URL('../fixtures/h2c-app.ts', import.meta.url));

let p: Pillion;
let port: number;

before(async () => {
  p = startPillion([
    'run',
    '--listen',
    '127.0.0.1:0',
    '--app-protocol',
    'h2c',
    '--',
    process.execPath,
    H2C_APP,
  ]);
  port = await p.port();
  await p.ready();
});

after(() => p?.kill());

test('a plain HTTP/1.1 GET is translated to HTTP/2 for the app, forwarding fields set', async () => {
  const r = await h1Request(port, '/seen?q=1', {
    headers: {
      'x-forwarded-for': '6.6.6.6',
      connection: 'keep-alive, x-drop-me',
      'x-drop-me': '1',
    },
  });
  assert.equal(r.status, 200);
  const seen = JSON.parse(r.body);
  assert.equal(seen.httpVersion, '2.0');
  assert.equal(seen.authority, `127.0.0.1:${port}`);
  assert.equal(seen.scheme, 'http');
  assert.equal(seen.host, undefined);
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen.headers['x-forwarded-proto'], 'https');
  assert.equal(seen.headers['x-drop-me'], undefined);
  assert.equal(seen.headers.connection, undefined);
  assert.match(String(seen.headers['x-request-id']), /^[\w-]{36}$/);
  const line = await p.waitForLog((l) => l.source === 'access' && l.path === '/seen?q=1');
  assert.equal(line.status, 200);
  assert.equal(line.protocol, 'HTTP/1.1');
  assert.equal(line.grpc_status, undefined);
});

test('an HTTP/1.1 upload streams to the app and its echo streams back', async () => {
  const body = 'x'.repeat(300_000);
  const r = await h1Request(port, '/echo', {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body,
  });
  assert.equal(r.status, 200);
  assert.equal(r.body.length, body.length);
  assert.equal(r.headers['content-type'], 'text/plain');
});

test("the app's status passes as it is; its trailers are dropped for HTTP/1.1", async () => {
  const missing = await h1Request(port, '/nowhere');
  assert.equal(missing.status, 404);
  const t = await h1Request(port, '/trailers', { headers: { te: 'trailers' } });
  assert.equal(t.status, 200);
  assert.equal(t.body, 'with trailers\n');
});

test('over HTTP/2, a client that takes trailers gets the app trailers', async (t) => {
  const session = connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  t.after(() => session.close());
  const got = await new Promise<{
    status: number;
    body: string;
    trailers: Record<string, unknown>;
  }>((resolve, reject) => {
    const req = session.request({ ':path': '/trailers', te: 'trailers' });
    let status = 0;
    let body = '';
    let trailers: Record<string, unknown> = {};
    req.setEncoding('utf8');
    req.on('response', (h) => {
      status = Number(h[':status']);
    });
    req.on('trailers', (tr) => {
      trailers = tr;
    });
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => resolve({ status, body, trailers }));
    req.on('error', reject);
    req.end();
  });
  assert.equal(got.status, 200);
  assert.equal(got.body, 'with trailers\n');
  assert.equal(got.trailers['x-checksum'], 'abc123');
  // An app stream reset mid-response resets the client's: it never passes for complete.
  const cut = await h2Request(session, '/cut').then(
    () => 'completed',
    (e: NodeJS.ErrnoException) => e.code,
  );
  assert.equal(cut, 'ERR_HTTP2_STREAM_ERROR');
  const line = await p.waitForLog((l) => l.source === 'access' && l.path === '/cut');
  assert.match(String(line.error), /app response cut short \(reset by the app, code 2\)/);
  // A POST body over HTTP/2 streams through as well.
  const echo = await h2Request(session, '/echo', { method: 'POST', body: 'ping over h2' });
  assert.equal(echo.status, 200);
  assert.equal(echo.body, 'ping over h2');
});
