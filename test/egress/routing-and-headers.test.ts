// Requests reach the named service by path or Host, with hop-by-hop fields removed and the
// request id and trace context passed on; bad input is answered by Pillion and never sent on.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createSecureServer } from 'node:http2';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { makePki, type TestPki } from './certs.ts';
import { config, type Running, startEgress } from './egress-harness.ts';
import { startUpstream, type Upstream } from './upstream.ts';

let pki: TestPki;
let a: Upstream;
let b: Upstream;
let eg: Running;

before(async () => {
  pki = makePki();
  a = await startUpstream('a', pki);
  b = await startUpstream('b', pki);
  eg = await startEgress(
    config(
      `users:\n  endpoints: [${a.url}, ${b.url}]\n  tls: { ca: ${pki.caFile} }\nbilling:\n  endpoints: [${b.url}]\n  tls: { ca: ${pki.caFile} }`,
    ),
    pki.dir,
  );
});
after(async () => {
  await eg.stop();
  await a.close();
  await b.close();
});

test('a path names the service; endpoints take turns; the rest of the path and query go on', async () => {
  const froms: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await fetch(`${eg.url}/users/v1/items?x=${i}`);
    assert.equal(r.status, 200);
    const body = (await r.json()) as { from: string; url: string };
    assert.equal(body.url, `/v1/items?x=${i}`);
    froms.push(body.from);
  }
  assert.deepEqual(froms, ['a', 'b', 'a', 'b']);
  const line = eg.access.at(-1);
  assert.equal(line?.source, 'egress-access');
  assert.equal(line?.path, '/users/v1/items?x=3');
  assert.equal(line?.status, 200);
});

test('Host: <service> names the service too, with the path as it is', async () => {
  const before = b.seen.length;
  const r = await get(`${eg.url}/invoices/7`, { host: 'billing' });
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).url, '/invoices/7');
  assert.equal(b.seen.length, before + 1);
});

test('X-Request-Id and traceparent are passed on, or made when absent; hop-by-hop fields are not', async () => {
  const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  await get(`${eg.url}/billing/x`, {
    'x-request-id': 'req-42',
    traceparent: tp,
    connection: 'x-secret-hop',
    'x-secret-hop': '1',
    'proxy-authorization': 'Basic eA==',
    'x-kept': 'yes',
  });
  const seen = b.seen.at(-1)?.headers ?? {};
  assert.equal(seen['x-request-id'], 'req-42');
  assert.equal(seen.traceparent, tp);
  assert.equal(seen['x-secret-hop'], undefined);
  assert.equal(seen['proxy-authorization'], undefined);
  assert.equal(seen['x-kept'], 'yes');
  assert.equal(seen.host, `127.0.0.1:${b.port}`);
  await fetch(`${eg.url}/billing/y`);
  const made = b.seen.at(-1)?.headers ?? {};
  assert.match(String(made['x-request-id']), /^[0-9a-f-]{36}$/);
  assert.match(String(made.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.equal(eg.access.at(-1)?.requestId, made['x-request-id']);
});

test('a request body reaches the service whole', async () => {
  const r = await fetch(`${eg.url}/billing/orders`, { method: 'POST', body: 'hello=1' });
  assert.equal(((await r.json()) as { body: string }).body, 'hello=1');
});

test('an unknown service is answered 404 naming the known services, and nothing is sent', async () => {
  const before = a.seen.length + b.seen.length;
  const r = await fetch(`${eg.url}/nope/x`);
  assert.equal(r.status, 404);
  assert.equal(r.headers.get('x-pillion-error'), 'PILLION_EGRESS_UNKNOWN_SERVICE');
  assert.equal(
    await r.text(),
    "Not Found: no egress service 'nope'; known services: users, billing\n",
  );
  assert.equal(a.seen.length + b.seen.length, before);
});

/** A GET with headers fetch() will not send (Host, Connection); resolves with status and body. */
function get(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode as number, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Raw bytes to the egress port; resolves with everything it answers before closing. */
function raw(url: string, bytes: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), '127.0.0.1', () => s.write(bytes));
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (c) => {
      got += c;
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
}

test('malformed requests are answered 400 and nothing is sent on', async () => {
  const before = a.seen.length + b.seen.length;
  for (const bytes of [
    'GET /users/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'GET /users/x HTTP/1.1\r\nHo st: x\r\n\r\n',
    'GET http://users/x HTTP/1.1\r\nHost: users\r\n\r\n',
    'CONNECT users:443 HTTP/1.1\r\nHost: users:443\r\n\r\n',
    'NOT A REQUEST\r\n\r\n',
  ]) {
    const got = await raw(eg.url, bytes);
    assert.match(got, /^HTTP\/1\.1 400 /, JSON.stringify(bytes));
  }
  assert.equal(a.seen.length + b.seen.length, before);
});

test('two calls in a row to an HTTP/1.1 endpoint go on one kept-alive connection', async () => {
  const one = await startUpstream('one', pki);
  const own = await startEgress(
    config(`one:\n  endpoints: [${one.url}]\n  tls: { ca: ${pki.caFile} }`),
    pki.dir,
  );
  try {
    for (const path of ['/first', '/second']) {
      const r = await fetch(`${own.url}/one${path}`);
      assert.equal(r.status, 200);
      await r.text();
    }
    assert.deepEqual(
      one.seen.map((s) => s.url),
      ['/first', '/second'],
    );
    assert.equal(one.connections, 1, 'one TLS connection accepted by the service');
    assert.equal(one.seen[0]?.remotePort, one.seen[1]?.remotePort);
    assert.equal(own.egress.stats().one?.openConnections, 1);
  } finally {
    await own.stop();
    await one.close();
  }
});

test('an endpoint that offers h2 by ALPN is spoken to over HTTP/2; open connections are counted', async () => {
  const h2 = createSecureServer(
    { cert: pki.server.certPem, key: pki.server.keyPem, allowHTTP1: true },
    (req, res) => {
      res.end(`version ${req.httpVersion}`);
    },
  );
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', () => r()));
  const port = (h2.address() as { port: number }).port;
  const own = await startEgress(
    config(`two:\n  endpoints: [https://127.0.0.1:${port}]\n  tls: { ca: ${pki.caFile} }`),
    pki.dir,
  );
  try {
    const r = await fetch(`${own.url}/two/`);
    assert.equal(await r.text(), 'version 2.0');
    assert.equal(own.egress.stats().two?.openConnections, 1);
    assert.equal(own.egress.stats().two?.latency.count, 1);
  } finally {
    await own.stop();
    await new Promise((r) => h2.close(r));
  }
});
