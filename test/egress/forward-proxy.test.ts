// Forward-proxy mode: absolute-form requests and CONNECT tunnels reach allow-listed hosts only;
// anything else is answered 403 and nothing is opened. The app is told HTTP_PROXY and HTTPS_PROXY.
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { ProxyAgent, request as undiciRequest } from 'undici';
import { makePki, type TestPki } from './certs.ts';
import { type Running, startEgress } from './egress-harness.ts';
import { startUpstream, type Upstream } from './upstream.ts';

let pki: TestPki;
let tlsUp: Upstream;
let plain: Server;
let plainPort: number;
let other: Server;
let otherPort: number;
let otherHits = 0;
const plainSeen: string[] = [];
let eg: Running;

function listen(s: Server): Promise<number> {
  return new Promise((r) =>
    s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)),
  );
}

before(async () => {
  pki = makePki();
  tlsUp = await startUpstream('tls', pki);
  plain = createServer((req, res) => {
    plainSeen.push(`${req.method} ${req.url} ${req.headers['x-request-id'] ? 'id' : 'no-id'}`);
    res.end('plain ok');
  });
  plainPort = await listen(plain);
  other = createServer((_req, res) => {
    otherHits++;
    res.end('should not be reached');
  });
  otherPort = await listen(other);
  eg = await startEgress(
    `egress:\n  listen: 127.0.0.1:0\n  forward_proxy:\n    allow: ['127.0.0.1:${plainPort}', 'localhost:${tlsUp.port}', '*.example.test']\n`,
    pki.dir,
  );
});
after(async () => {
  await eg.stop();
  await tlsUp.close();
  plain.close();
  other.close();
});

function viaProxy(method: string, target: string): Promise<{ status: number; body: string }> {
  const { port } = new URL(eg.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: target, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode as number, body }));
    });
    req.on('connect', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode as number, body: '' });
    });
    req.on('error', reject);
    req.end();
  });
}

test('the app is told the proxy, and its own egress port is not proxied', () => {
  const env = eg.egress.env();
  assert.equal(env.HTTP_PROXY, eg.url);
  assert.equal(env.HTTPS_PROXY, eg.url);
  assert.equal(env.http_proxy, eg.url);
  assert.match(String(env.NO_PROXY), /127\.0\.0\.1/);
});

test('an absolute-form request to an allowed host is sent on, with a request id', async () => {
  const r = await viaProxy('GET', `http://127.0.0.1:${plainPort}/a?b=1`);
  assert.deepEqual(r, { status: 200, body: 'plain ok' });
  assert.deepEqual(plainSeen, ['GET /a?b=1 id']);
  assert.equal(eg.access.at(-1)?.source, 'egress-access');
});

test('a host or port not on the allow-list is answered 403 and never reached', async () => {
  const r = await viaProxy('GET', `http://127.0.0.1:${otherPort}/`);
  assert.equal(r.status, 403);
  assert.match(r.body, /not in egress\.forward_proxy\.allow/);
  const c = await viaProxy('CONNECT', `127.0.0.1:${otherPort}`);
  assert.equal(c.status, 403);
  const sub = await viaProxy('CONNECT', `example.test:443`);
  assert.equal(sub.status, 403, 'a *.domain entry allows subdomains, not the domain itself');
  assert.equal(otherHits, 0);
});

test('a CONNECT tunnel to an allowed host carries the TLS of the app end to end', async () => {
  const agent = new ProxyAgent({ uri: eg.url, requestTls: { ca: pki.ca } });
  try {
    const r = await undiciRequest(`https://localhost:${tlsUp.port}/through`, { dispatcher: agent });
    assert.equal(r.statusCode, 200);
    assert.equal(((await r.body.json()) as { url: string }).url, '/through');
  } finally {
    await agent.close();
  }
  // The tunnel's line is written once both sides have closed.
  const find = () => eg.access.find((l) => l.method === 'CONNECT' && l.status === 200);
  for (let i = 0; i < 200 && !find(); i++) await new Promise((r) => setTimeout(r, 10));
  const line = find();
  assert.equal(line?.path, `localhost:${tlsUp.port}`);
});
