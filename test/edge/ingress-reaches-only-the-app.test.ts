// S6: over the TLS ingress, absolute-form targets, CONNECT, a Host naming another local port
// and dot-dot paths reach only the app (or get 400), never another local service. Connection-
// level rejections are logged once each and counted, without the client's bytes.
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { after, before, test } from 'node:test';
import { type Edge, startEdge } from './edge-harness.ts';
import { exchange } from './raw-client.ts';
import { SpyApp } from './spy-app.ts';

let edge: Edge;
/** Another local service (an admin port, say) that nothing from the ingress may reach. */
const other = new SpyApp();

before(async () => {
  await other.start();
  edge = await startEdge();
});
after(async () => {
  await edge.stop();
  await other.stop();
});

const CRLF = '\r\n';

test('HTTP/1.1 requests aimed elsewhere reach only the app, or get 400', async () => {
  const p = other.port;
  const targets: [string, string][] = [
    [`GET http://127.0.0.1:${p}/admin HTTP/1.1`, 'Host: a.test'],
    [`GET http://localhost:${p}/admin HTTP/1.1`, `Host: 127.0.0.1:${p}`],
    [`GET https://[::1]:${p}/admin HTTP/1.1`, 'Host: a.test'],
    ['GET /admin HTTP/1.1', `Host: 127.0.0.1:${p}`],
    ['GET /admin HTTP/1.1', `Host: localhost:${p}`],
    ['GET /../admin HTTP/1.1', 'Host: a.test'],
    ['GET /a/../../admin HTTP/1.1', `Host: 127.0.0.1:${p}`],
    ['GET /%2e%2e/admin HTTP/1.1', 'Host: a.test'],
    [`GET //127.0.0.1:${p}/admin HTTP/1.1`, 'Host: a.test'],
    [`CONNECT 127.0.0.1:${p} HTTP/1.1`, `Host: 127.0.0.1:${p}`],
    [`GET 127.0.0.1:${p} HTTP/1.1`, 'Host: a.test'],
    [`OPTIONS http://127.0.0.1:${p} HTTP/1.1`, 'Host: a.test'],
  ];
  const statuses: number[] = [];
  for (const [line, host] of targets) {
    const x = await exchange(edge.port);
    x.socket.write(`${line}${CRLF}${host}${CRLF}${CRLF}`);
    const r = await x.settle(1);
    await x.close();
    const status = r.responses[0]?.status ?? 0;
    statuses.push(status);
    assert.ok(status === 200 || status === 400, `${line}: ${status}`);
  }
  assert.equal(other.byteCount, 0, 'the other service saw nothing');
  assert.ok(statuses.includes(200) && statuses.includes(400));
});

test('HTTP/2 requests aimed elsewhere reach only the app, or are refused', async () => {
  const p = other.port;
  const s = h2connect(`https://127.0.0.1:${edge.port}`, { rejectUnauthorized: false });
  s.on('error', () => {});
  const ask = (headers: Record<string, string>): Promise<number> =>
    new Promise((resolve) => {
      const st = s.request(headers);
      st.on('response', (h) => resolve(Number(h[':status'])));
      st.on('error', () => resolve(0));
      st.on('close', () => resolve(0));
      st.resume();
    });
  const results = [
    await ask({ ':path': '/admin', ':authority': `127.0.0.1:${p}` }),
    await ask({ ':path': '/../admin', ':authority': 'a.test' }),
    await ask({ ':path': `http://127.0.0.1:${p}/admin`, ':authority': 'a.test' }),
  ];
  s.close();
  for (const r of results) assert.ok(r === 200 || r === 400 || r === 0, String(r));
  assert.equal(other.byteCount, 0, 'the other service saw nothing');
});

test('each connection-level rejection is one structured event, counted, without client bytes', async () => {
  const marker = 'ATTACKERBYTES';
  const payloads = [
    `GET /${marker} HTTP/1.1${CRLF}Host: a${CRLF}Content-Length: 1${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}`,
    `GET /${marker} HTTP/1.1${CRLF}Host: a${CRLF}X${marker} : 1${CRLF}${CRLF}`,
    `${marker} / HTTP/1.1${CRLF}Host: a${CRLF}${CRLF}`,
    `GET / HTTP/1.1${CRLF}Host: a${CRLF}X: ${marker}\x00${CRLF}${CRLF}`,
    `CONNECT ${marker}:443 HTTP/1.1${CRLF}Host: a${CRLF}${CRLF}`,
  ];
  const start = edge.events.length;
  const countsBefore = { ...edge.ingress.rejections };
  for (const p of payloads) {
    const x = await exchange(edge.port);
    x.socket.write(p);
    const r = await x.settle(2);
    await x.close();
    assert.equal(r.responses[0]?.status, 400);
  }
  const events = edge.events.slice(start).filter((e) => e.msg === 'connection rejected');
  assert.equal(events.length, payloads.length, 'one event per rejected connection');
  for (const e of events) {
    assert.equal(e.code, 'PILLION_CONNECTION_REJECTED');
    assert.match(String(e.reason), /^[A-Z0-9_]+$/);
  }
  assert.ok(!JSON.stringify(edge.events).includes(marker), 'no client bytes in the log');
  const after = edge.ingress.rejections;
  const added = Object.keys(after).reduce(
    (n, k) => n + (after[k] ?? 0) - (countsBefore[k] ?? 0),
    0,
  );
  assert.equal(added, payloads.length, 'each counted');
});
