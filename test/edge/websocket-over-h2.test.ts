// B8, RFC 8441: WebSocket over HTTP/2 through Pillion. Node's HTTP/2 client waits for
// SETTINGS_ENABLE_CONNECT_PROTOCOL, then opens an extended CONNECT stream; Pillion makes it an
// HTTP/1.1 Upgrade to a `ws` echo app. The Autobahn-derived cases run over it, and the app's
// answers must come out byte-identical to a direct HTTP/1.1 connection.
import assert from 'node:assert/strict';
import { type ClientHttp2Session, type ClientHttp2Stream, connect } from 'node:http2';
import { createServer as createNetServer } from 'node:net';
import { after, test } from 'node:test';
import { type Edge, startEdge } from './edge-harness.ts';
import { cases } from './ws-autobahn-cases.ts';
import { startEchoApp } from './ws-echo-app.ts';
import { frame, runCase, upgradeRaw } from './ws-raw-client.ts';

const echo = await startEchoApp();
const appPort = echo.port;
const appCloseCodes = echo.closeCodes;
after(() => echo.stop());

/** An HTTP/2 session to Pillion, once the server has allowed extended CONNECT. */
async function session(edge: Edge): Promise<ClientHttp2Session> {
  const s = connect(`https://127.0.0.1:${edge.port}`, { rejectUnauthorized: false });
  s.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    s.once('remoteSettings', (settings) =>
      settings.enableConnectProtocol ? resolve() : reject(new Error('no extended CONNECT')),
    );
    s.once('error', reject);
  });
  return s;
}

/** Opens a WebSocket stream; resolves with it and the response headers. */
function openWs(
  s: ClientHttp2Session,
  path = '/echo',
  extra: Record<string, string> = {},
): Promise<{ stream: ClientHttp2Stream; status: number; headers: Record<string, unknown> }> {
  const stream = s.request({
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': 'https',
    ':path': path,
    ':authority': 'a.test',
    'sec-websocket-version': '13',
    ...extra,
  });
  stream.on('error', () => {});
  return new Promise((resolve, reject) => {
    stream.once('response', (h) => resolve({ stream, status: Number(h[':status']), headers: h }));
    stream.once('error', reject);
  });
}

function readAll(stream: ClientHttp2Stream): Promise<Buffer> {
  const got: Buffer[] = [];
  stream.on('data', (d: Buffer) => got.push(d));
  return new Promise((r) => stream.once('end', () => r(Buffer.concat(got))));
}

test(`${cases.length} Autobahn-derived cases over HTTP/2 match a direct HTTP/1.1 connection`, async (t) => {
  const edge = await startEdge(undefined, undefined, appPort);
  const s = await session(edge);
  try {
    for (const c of cases) {
      await t.test(c.id, async () => {
        const bytes = Buffer.concat(c.frames.map(frame));
        const d = await upgradeRaw(appPort, false);
        const direct = await runCase(d.sock, d.rest, bytes, c.chop ?? 0, c.answer);
        const { stream, status, headers } = await openWs(s);
        assert.equal(status, 200);
        assert.equal(headers['sec-websocket-accept'], undefined, 'no HTTP/1.1 handshake field');
        const via = await runCase(stream, Buffer.alloc(0), bytes, c.chop ?? 0, c.answer);
        if (c.want !== undefined) assert.equal(direct.closeCode, c.want);
        assert.ok(direct.bytes.length > 0);
        assert.equal(via.bytes.length, direct.bytes.length, 'as many bytes over HTTP/2');
        assert.ok(via.bytes.equals(direct.bytes), 'the same bytes over HTTP/2');
      });
    }
  } finally {
    s.close();
    await edge.stop();
  }
});

test('an app refusing the upgrade gets its answer passed on as a plain HTTP/2 response', async () => {
  const edge = await startEdge(undefined, undefined, appPort);
  const s = await session(edge);
  try {
    const { stream, status, headers } = await openWs(s, '/deny');
    assert.equal(status, 403);
    assert.equal(headers['x-why'], 'test');
    assert.equal((await readAll(stream)).toString(), 'denied');
    // The session stays usable: a WebSocket on it still opens.
    const ok = await openWs(s);
    assert.equal(ok.status, 200);
    ok.stream.close();
  } finally {
    s.close();
    await edge.stop();
  }
});

test('an app answering 101 with the wrong Sec-WebSocket-Accept gets the client a 502', async () => {
  const bad = createNetServer((sock) => {
    sock.on('error', () => {});
    sock.once('data', () =>
      sock.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm90IHRoZSByaWdodCBvbmU=\r\n\r\n',
      ),
    );
  });
  await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r));
  const edge = await startEdge(undefined, undefined, (bad.address() as { port: number }).port);
  const s = await session(edge);
  try {
    const { stream, status } = await openWs(s);
    assert.equal(status, 502);
    await readAll(stream);
  } finally {
    s.close();
    await edge.stop();
    bad.close();
  }
});

test('CONNECT without :protocol websocket, or :protocol on another method, is refused', async () => {
  const edge = await startEdge();
  const s = await session(edge);
  try {
    edge.spy.reset();
    const statuses: number[] = [];
    const ask = (h: Record<string, string>): Promise<void> =>
      new Promise((resolve) => {
        const st = s.request(h);
        st.on('error', () => resolve());
        st.once('response', (r) => statuses.push(Number(r[':status'])));
        st.resume();
        st.once('close', () => resolve());
      });
    await ask({ ':method': 'CONNECT', ':authority': '127.0.0.1:22' });
    await ask({
      ':method': 'CONNECT',
      ':protocol': 'connect-udp',
      ':scheme': 'https',
      ':path': '/x',
      ':authority': 'a.test',
    });
    assert.deepEqual(statuses, [400, 400]);
    await edge.spy.quiet();
    assert.equal(edge.spy.requests.length, 0, 'nothing reached the app');
  } finally {
    s.close();
    await edge.stop();
  }
});

test('over HTTP/2 too, a message over the cap closes with 1009 and drain closes with 1001', async () => {
  const edge = await startEdge({ websocketMaxMessageBytes: 1000 }, undefined, appPort);
  const s = await session(edge);
  appCloseCodes.length = 0;
  try {
    const over = await openWs(s);
    const r = runCase(
      over.stream,
      Buffer.alloc(0),
      frame({ op: 2, payload: Buffer.alloc(1001) }),
      0,
      false,
    );
    assert.equal((await r).closeCode, 1009);
    assert.equal(edge.ingress.rejections.WS_MESSAGE_TOO_LARGE, 1);

    const open = await openWs(s);
    const echoed = new Promise((res) => open.stream.once('data', res));
    open.stream.write(frame({ op: 1, payload: 'hi' }));
    await echoed;
    const drained = runCase(open.stream, Buffer.alloc(0), Buffer.alloc(0), 0, true);
    await edge.stop();
    assert.equal((await drained).closeCode, 1001);
    // The app heard 1001 (going away) from both: the over-cap tunnel and the drained one.
    for (let i = 0; i < 200 && appCloseCodes.length < 2; i++)
      await new Promise((res) => setTimeout(res, 10));
    assert.deepEqual(appCloseCodes, [1001, 1001]);
  } finally {
    s.close();
  }
});
