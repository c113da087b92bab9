// What Pillion answers itself is logged as the client got it: the 503's body and byte count,
// WebSocket refusals with their real status and a request id; and a client that closes its
// HTTP/2 session is no rejection.
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { createServer as createNetServer, connect as netConnect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { Logger, LogOutput } from '../../src/core/log.ts';
import { Ingress } from '../../src/ingress/index.ts';
import { loadTlsMaterial } from '../../src/ingress/tls/material.ts';
import type { AccessEntry } from '../../src/logs/access-log.ts';
import { tempDir } from '../e2e/harness.ts';
import { startEdge } from './edge-harness.ts';
import { exchange } from './raw-client.ts';

const tls = await loadTlsMaterial({ stateDir: tempDir() });

/** An ingress whose app is never ready, saying why. */
async function notReady(reason: string | undefined) {
  const access: AccessEntry[] = [];
  const ingress = new Ingress({
    host: '127.0.0.1',
    port: 0,
    tls,
    log: new Logger(new LogOutput(new Writable({ write: (_c, _e, cb) => cb() })), 'ingress'),
    upstream: () => undefined,
    whenReady: async () => undefined,
    readyTimeoutMs: 50,
    accessLog: (e) => access.push(e),
    notReadyReason: () => reason,
  });
  await ingress.start();
  return { ingress, access, port: ingress.address?.port ?? 0 };
}

test('a 503 from a not-ready app says why, and its access line counts the bytes sent', async () => {
  for (const reason of ['the app exited with code 3, restarting in 2s', undefined]) {
    const { ingress, access, port } = await notReady(reason);
    try {
      const x = await exchange(port);
      x.socket.write('GET /x HTTP/1.1\r\nHost: a.test\r\n\r\n');
      const r = await x.settle(1, 5000);
      await x.close();
      const res = r.responses[0];
      assert.equal(res?.status, 503);
      const body = res?.body.toString() ?? '';
      if (reason) assert.ok(body.includes(reason), body);
      else assert.match(body, /^503 Service Unavailable: the app is not ready\n$/);
      for (let i = 0; i < 100 && access.length === 0; i++)
        await new Promise((s) => setTimeout(s, 10));
      assert.equal(access[0]?.status, 503);
      assert.equal(access[0]?.bytes, Buffer.byteLength(body));
      assert.equal(access[0]?.error, 'PILLION_APP_NOT_READY');
    } finally {
      await ingress.stop(AbortSignal.timeout(1000));
    }
  }
});

const upgrade = (extra: string[] = []): string =>
  [
    'GET /chat HTTP/1.1',
    'Host: a.test',
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ...extra,
    '',
    '',
  ].join('\r\n');

test('WebSocket upgrades refused or timed out log the status the client got, with a request id', async () => {
  // An app that accepts connections and never answers.
  const held = new Set<Socket>();
  const silent = createNetServer((s) => {
    held.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const appPort = (silent.address() as { port: number }).port;
  const edge = await startEdge({ maxHeaders: 10, upstreamTimeoutMs: 200 }, undefined, appPort);
  after(() => {
    for (const s of held) s.destroy();
    silent.close();
  });
  try {
    const cases: [string, number][] = [
      [upgrade(Array.from({ length: 11 }, (_, i) => `X-${i}: ${i}`)), 431],
      [upgrade(), 504],
    ];
    for (const [bytes, status] of cases) {
      edge.access.length = 0;
      const x = await exchange(edge.port);
      x.socket.write(bytes);
      const r = await x.settle(1, 5000);
      await x.close();
      assert.equal(r.responses[0]?.status, status);
      for (let i = 0; i < 100 && edge.access.length === 0; i++)
        await new Promise((s) => setTimeout(s, 10));
      assert.equal(edge.access[0]?.status, status);
      assert.match(edge.access[0]?.requestId ?? '', /^[0-9a-f-]{36}$/);
    }
  } finally {
    await edge.stop();
  }
});

test('a client closing its HTTP/2 session is not logged as a rejection', async () => {
  const edge = await startEdge();
  try {
    for (let i = 0; i < 5; i++) {
      const tcp = netConnect(edge.port, '127.0.0.1');
      const session = h2connect(`https://127.0.0.1:${edge.port}`, {
        createConnection: () =>
          tlsConnect({ socket: tcp, ALPNProtocols: ['h2'], rejectUnauthorized: false }),
      });
      session.on('error', () => {});
      const s = session.request({ ':path': '/' });
      s.resume();
      await new Promise((r) => s.once('response', r));
      // Torn down with a TCP reset and no GOAWAY: the server reads ECONNRESET.
      tcp.resetAndDestroy();
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(
      edge.events.filter((e) => e.msg === 'connection rejected'),
      [],
    );
  } finally {
    await edge.stop();
  }
});
