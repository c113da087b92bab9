// Half-open handshakes are closed at the handshake timeout, a throwing SNI lookup does not
// crash the process, and plain HTTP on the TLS port gets a 400 that never reaches the app.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { createSecureContext, createServer as createTlsServer } from 'node:tls';
import { openFileLimit } from '../../src/ingress/fd-budget.ts';
import { safeSni } from '../../src/ingress/tls/terminator.ts';
import { tempDir } from '../e2e/harness.ts';
import { handshake, type Made, makeCert, startTlsEdge, type TlsEdge } from './tls-harness.ts';

/** The edge's handshake timeout. */
const TIMEOUT_MS = 300;
let ec: Made;
let edge: TlsEdge;

before(async () => {
  ec = makeCert(tempDir(), 'ec');
  edge = await startTlsEdge({
    default: { cert: ec.cert, key: ec.key, field: 'ingress.tls' },
    handshakeTimeoutMs: TIMEOUT_MS,
  });
});
after(() => edge.stop());

/** Resolves when the server closes the socket (or after 10 s, with false). */
function closedByServer(socket: Socket): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 10_000);
    socket.on('error', () => {});
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

// RELIABILITY S2: 1,000 half-open handshakes, each closed within 10 s (here the timeout is
// 300 ms). Client and server ends share this process: fewer where the open-file limit is low.
const HALF_OPEN = Math.min(1000, Math.floor(((openFileLimit() ?? 1024) - 200) / 2));

test('silent and half-sent handshakes are closed at the handshake timeout', async () => {
  const sockets: Socket[] = [];
  for (let i = 0; i < HALF_OPEN; i++) {
    const s = connect(edge.port, '127.0.0.1');
    // Half of them send the first bytes of a ClientHello record and stop.
    if (i % 2) s.once('connect', () => s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])));
    sockets.push(s);
  }
  const closed = await Promise.all(sockets.map(closedByServer));
  assert.equal(closed.filter(Boolean).length, HALF_OPEN);
  const next = await handshake(edge.port);
  assert.ok(next.socket, String(next.error));
  next.socket.destroy();
});

test('a ClientHello begun late and then stalled is closed at the one deadline from accept, not before', async (t) => {
  // The first bytes come at 80% of the timeout: the wait for them and the handshake share one
  // deadline, so the connection ends at the timeout, not a timeout after those bytes.
  const late = Math.round(TIMEOUT_MS * 0.8);
  // An edge of its own: its counters see only these connections.
  const own = await startTlsEdge({
    default: { cert: ec.cert, key: ec.key, field: 'ingress.tls' },
    handshakeTimeoutMs: TIMEOUT_MS,
  });
  t.after(() => own.stop());
  const runs = Array.from({ length: 20 }, async () => {
    const t0 = performance.now();
    const s = connect(own.port, '127.0.0.1');
    s.once('connect', () => {
      setTimeout(() => {
        if (!s.destroyed) s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
      }, late);
    });
    const closed = await closedByServer(s);
    return { closed, after: performance.now() - t0 };
  });
  const got = await Promise.all(runs);
  assert.equal(got.filter((g) => g.closed).length, got.length);
  // Timers count whole milliseconds: 2 ms of rounding, and no earlier.
  for (const g of got) assert.ok(g.after >= TIMEOUT_MS - 2, `closed after ${g.after} ms`);
  // Counted once each, as a handshake timeout, never as the reset that ended it. (On a loaded
  // machine a late write can miss the deadline: that connection ends before TLS, uncounted.)
  const { ERR_TLS_HANDSHAKE_TIMEOUT: timeouts = 0, ...others } = own.ingress.counters.tlsFailures;
  assert.deepEqual(others, {});
  assert.ok(timeouts > 0 && timeouts <= got.length, `${timeouts} handshake timeouts`);
});

test('an SNI lookup that throws answers with the default certificate and the process goes on', async () => {
  let failures = 0;
  const server = createTlsServer({
    cert: ec.cert.endsWith('.crt') ? (await import('node:fs')).readFileSync(ec.cert) : ec.cert,
    key: (await import('node:fs')).readFileSync(ec.key),
    SNICallback: safeSni(
      (name) => {
        if (name === 'boom.example') throw new Error('lookup failed');
        return createSecureContext({});
      },
      () => failures++,
    ),
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    for (let i = 0; i < 5; i++) {
      const r = await handshake(port, { servername: 'boom.example' });
      assert.ok(r.socket, String(r.error));
      r.socket.destroy();
    }
    assert.equal(failures, 5);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('plain HTTP on the TLS port gets a 400 that says so, and never reaches the app', async () => {
  const before = edge.spy.requests.length;
  const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: edge.port, path: '/secret' }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(reply.status, 400);
  assert.match(reply.body, /plain HTTP request was sent to the HTTPS port/);
  assert.equal(edge.spy.requests.length, before);
  assert.equal(edge.ingress.rejections.PLAIN_HTTP, 1);
});

test('http_redirect answers every request with a redirect to the HTTPS port, and nothing else', async () => {
  // A free port for the redirect listener.
  const probe = createNetServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const red = await startTlsEdge(
    { default: { cert: ec.cert, key: ec.key, field: 'ingress.tls' } },
    { httpRedirect: { host: '127.0.0.1', port } },
  );
  try {
    const ask = (method: string, path: string, host: string) =>
      new Promise<{ status: number; location?: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, method, headers: { host } }, (res) => {
          res.resume();
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, location: res.headers.location }),
          );
        });
        req.on('error', reject);
        req.end();
      });
    const get = await ask('GET', '/a/b?c=1', 'example.com:80');
    assert.deepEqual(get, { status: 301, location: `https://example.com:${red.port}/a/b?c=1` });
    const post = await ask('POST', '/form', 'example.com');
    assert.deepEqual(post, { status: 308, location: `https://example.com:${red.port}/form` });
    const bad = await ask('GET', '/', 'bad host/');
    assert.equal(bad.status, 400);
    assert.equal(red.spy.requests.length, 0);
  } finally {
    await red.stop();
  }
});
