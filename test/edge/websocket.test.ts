// B8: WebSocket over HTTP/1.1 through Pillion to a `ws` echo app. Frames pass byte-identical
// both ways; a non-101 answer opens no tunnel; drain closes with 1001; idle tunnels close.
import assert from 'node:assert/strict';
import { createServer as createNetServer, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { WebSocket } from 'ws';
import { type Edge, startEdge } from './edge-harness.ts';
import { exchange, openH1 } from './raw-client.ts';
import { startEchoApp } from './ws-echo-app.ts';

const echo = await startEchoApp();
const appPort = echo.port;
const appCloseCodes = echo.closeCodes;
after(() => echo.stop());

function connectWs(edge: Edge): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${edge.port}/chat`, { rejectUnauthorized: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

test('messages of every size and kind echo back identical through the tunnel', async () => {
  const edge = await startEdge(undefined, undefined, appPort);
  try {
    const ws = await connectWs(edge);
    const got: { data: Buffer; binary: boolean }[] = [];
    ws.on('message', (data, binary) => got.push({ data: data as Buffer, binary }));
    const sizes = [0, 1, 125, 126, 65535, 65536, 1 << 20];
    const sent: { data: Buffer; binary: boolean }[] = [];
    for (const n of sizes) {
      const bin = Buffer.alloc(n);
      for (let i = 0; i < n; i++) bin[i] = (i * 31 + n) & 0xff;
      sent.push({ data: bin, binary: true });
      ws.send(bin);
      const text = Buffer.from('é'.repeat(Math.floor(n / 2)));
      sent.push({ data: text, binary: false });
      ws.send(text.toString());
    }
    // A fragmented message: three frames, one message.
    ws.send('frag-', { fin: false });
    ws.send('ment-', { fin: false });
    ws.send('ed', { fin: true });
    sent.push({ data: Buffer.from('frag-ment-ed'), binary: false });
    const pong = new Promise<Buffer>((r) => ws.once('pong', r));
    ws.ping('p1');
    assert.equal((await pong).toString(), 'p1');
    for (let i = 0; i < 500 && got.length < sent.length; i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(got.length, sent.length);
    got.forEach((g, i) => {
      assert.equal(g.binary, sent[i]?.binary);
      assert.ok(g.data.equals(sent[i]?.data as Buffer), `message ${i} identical`);
    });
    const closed = new Promise<number>((r) => ws.once('close', r));
    ws.close(4001, 'bye');
    assert.equal(await closed, 4001);
  } finally {
    await edge.stop();
  }
});

/** A raw app: answers the upgrade with 101, records every byte after it, and sends `reply`. */
async function rawApp(reply: Buffer): Promise<{ port: number; got: Buffer[]; close(): void }> {
  const got: Buffer[] = [];
  const socks = new Set<Socket>();
  const srv = createNetServer((s) => {
    socks.add(s);
    let upgraded = false;
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      if (upgraded) {
        got.push(d);
        return;
      }
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      upgraded = true;
      s.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n',
      );
      s.write(reply);
      if (buf.length > end + 4) got.push(buf.subarray(end + 4));
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as { port: number }).port,
    got,
    close: () => {
      for (const s of socks) s.destroy();
      srv.close();
    },
  };
}

test('frame bytes pass unchanged both ways, including ones no client library would send', async () => {
  // Masked frames with odd shapes: a reserved-bit frame, a 126-length header on 5 bytes, a
  // control frame, and bytes that look like HTTP.
  const mask = [1, 2, 3, 4];
  const masked = (first: number, lenBytes: number[], payload: string): Buffer => {
    const p = Buffer.from(payload);
    return Buffer.from([
      first,
      0x80 | (lenBytes[0] as number),
      ...lenBytes.slice(1),
      ...mask,
      ...p.map((b, i) => b ^ (mask[i % 4] as number)),
    ]);
  };
  const fromClient = Buffer.concat([
    masked(0x81, [5], 'hello'),
    masked(0xc1, [3], 'rsv'),
    masked(0x82, [126, 0, 5], 'wide!'),
    masked(0x89, [4], 'ping'),
    masked(0x81, [37], 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n'),
  ]);
  const fromApp = Buffer.concat([
    Buffer.from([0x81, 5]),
    Buffer.from('world'),
    Buffer.from([0x82, 126, 0, 3, 1, 2, 3]),
    Buffer.from('HTTP/1.1 200 OK\r\n\r\n'),
  ]);
  const raw = await rawApp(fromApp);
  const edge = await startEdge(undefined, undefined, raw.port);
  try {
    const x = await exchange(edge.port);
    x.socket.write(
      'GET /ws HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    const chunks: Buffer[] = [];
    x.socket.on('data', (d: Buffer) => chunks.push(d));
    // Byte at a time towards the app.
    for (const b of fromClient) x.socket.write(Buffer.from([b]));
    for (let i = 0; i < 300 && Buffer.concat(raw.got).length < fromClient.length; i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.ok(Buffer.concat(raw.got).equals(fromClient), 'client → app identical');
    for (let i = 0; i < 300 && Buffer.concat(chunks).indexOf(fromApp) < 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    const all = Buffer.concat(chunks);
    const headEnd = all.indexOf('\r\n\r\n');
    assert.match(all.subarray(0, headEnd).toString(), /^HTTP\/1\.1 101 /);
    assert.ok(all.subarray(headEnd + 4).equals(fromApp), 'app → client identical');
    await x.close();
  } finally {
    await edge.stop();
    raw.close();
  }
});

test('an app answering the upgrade with a non-101 opens no tunnel', async () => {
  const edge = await startEdge();
  try {
    edge.spy.reset();
    const x = await exchange(edge.port);
    x.socket.write(
      'GET /ws HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    // What would be smuggled if a tunnel were assumed open after the app's 200.
    x.socket.write('GET /smuggled HTTP/1.1\r\nHost: a.test\r\n\r\n');
    const r = await x.settle(2, 2000);
    await x.close();
    await edge.spy.quiet();
    assert.equal(r.responses[0]?.status, 200);
    assert.ok(r.closed, 'the connection closes after the plain answer');
    assert.deepEqual(
      edge.spy.requests.map((q) => q.target),
      ['/ws'],
      'only the upgrade request reached the app',
    );
    assert.deepEqual(edge.spy.requests[0]?.violations, []);
  } finally {
    await edge.stop();
  }
});

test('drain closes open WebSockets with 1001 both ways', async () => {
  appCloseCodes.length = 0;
  const edge = await startEdge(undefined, undefined, appPort);
  const ws = await connectWs(edge);
  const code = new Promise<number>((r) => ws.once('close', r));
  // Traffic in flight when the drain starts.
  ws.send(Buffer.alloc(200_000, 7));
  await edge.stop();
  assert.equal(await code, 1001);
  for (let i = 0; i < 200 && appCloseCodes.length === 0; i++)
    await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(appCloseCodes, [1001]);
});

test('an idle tunnel is closed', async () => {
  const edge = await startEdge({ tunnelIdleTimeoutMs: 300 }, undefined, appPort);
  try {
    const ws = await connectWs(edge);
    const closed = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 10_000);
      ws.once('close', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    assert.ok(closed);
  } finally {
    await edge.stop();
  }
});

test('an upgrade request with a body, or over the limits, is refused and opens nothing', async () => {
  const edge = await startEdge(undefined, undefined, appPort);
  try {
    const s = await openH1(edge.port);
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.write(
      'GET /ws HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await new Promise((r) => s.once('close', r));
    assert.match(Buffer.concat(chunks).toString(), /^HTTP\/1\.1 400 /);
  } finally {
    await edge.stop();
  }
});

/** A masked client frame carrying `n` bytes of `fill`. */
function clientFrame(fin: boolean, opcode: number, n: number, fill = 0x61): Buffer {
  const len =
    n < 126
      ? Buffer.from([0x80 | n])
      : n < 65536
        ? Buffer.from([0x80 | 126, n >> 8, n & 0xff])
        : Buffer.concat([Buffer.from([0x80 | 127]), Buffer.alloc(8)]);
  if (n >= 65536) len.writeBigUInt64BE(BigInt(n), 1);
  const mask = [9, 8, 7, 6];
  const body = Buffer.alloc(n, fill).map((b, i) => b ^ (mask[i % 4] as number));
  return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode]), len, Buffer.from(mask), body]);
}

test('frames and messages over the caps close the tunnel with 1009; the app never sees them', async (t) => {
  const cases = [
    {
      name: 'one frame over the frame cap',
      frames: [clientFrame(true, 2, 2000)],
      reason: 'WS_FRAME_TOO_LARGE',
    },
    {
      name: 'fragments adding up past the message cap',
      frames: [clientFrame(false, 1, 900), clientFrame(false, 0, 900), clientFrame(true, 0, 900)],
      reason: 'WS_MESSAGE_TOO_LARGE',
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const raw = await rawApp(Buffer.alloc(0));
      const edge = await startEdge(
        { websocketMaxFrameBytes: 1024, websocketMaxMessageBytes: 2048 },
        undefined,
        raw.port,
      );
      try {
        const x = await exchange(edge.port);
        const chunks: Buffer[] = [];
        x.socket.on('data', (d: Buffer) => chunks.push(d));
        const closed = new Promise((r) => x.socket.once('close', r));
        x.socket.write(
          'GET /ws HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
        // Traffic under the caps first, then the frames over them, in small writes.
        const fine = clientFrame(true, 1, 100);
        const stream = Buffer.concat([fine, ...c.frames, clientFrame(true, 1, 5)]);
        for (let off = 0; off < stream.length; off += 333)
          x.socket.write(stream.subarray(off, off + 333));
        await closed;
        const all = Buffer.concat(chunks);
        const body = all.subarray(all.indexOf('\r\n\r\n') + 4);
        assert.deepEqual([...body], [0x88, 2, 0x03, 0xf1], 'the client gets close code 1009');
        // The app got the frames under the caps, then a masked close (1001), nothing else.
        for (
          let i = 0;
          i < 200 &&
          Buffer.concat(raw.got).length < fine.length + 8 + (c.frames.length > 1 ? 1800 : 0);
          i++
        )
          await new Promise((r) => setTimeout(r, 10));
        const got = Buffer.concat(raw.got);
        const firstOver =
          c.frames.length > 1 ? (c.frames[0] as Buffer).length + (c.frames[1] as Buffer).length : 0;
        const passed = stream.subarray(0, fine.length + firstOver);
        assert.ok(got.subarray(0, passed.length).equals(passed), 'what passed is byte-identical');
        const close = got.subarray(passed.length);
        assert.equal(close.length, 8);
        assert.equal(close[0], 0x88);
        const code =
          ((close[6] as number) ^ (close[2] as number)) * 256 +
          ((close[7] as number) ^ (close[3] as number));
        assert.equal(code, 1001);
        const events = edge.events.filter((e) => e.msg === 'connection rejected');
        assert.equal(events.length, 1, 'one structured event');
        assert.equal(events[0]?.reason, c.reason);
        assert.equal(events[0]?.close_code, 1009);
        assert.equal(edge.ingress.rejections[c.reason], 1);
      } finally {
        await edge.stop();
        raw.close();
      }
    });
  }
});

test('a ws client sending a message over the cap sees close code 1009', async () => {
  const edge = await startEdge({ websocketMaxMessageBytes: 64 * 1024 }, undefined, appPort);
  try {
    const ws = await connectWs(edge);
    const echoed = new Promise<Buffer>((r) => ws.once('message', (d) => r(d as Buffer)));
    ws.send(Buffer.alloc(64 * 1024, 1));
    assert.equal((await echoed).length, 64 * 1024, 'a message at the cap passes');
    const code = new Promise<number>((r) => ws.once('close', r));
    ws.send(Buffer.alloc(64 * 1024 + 1, 2));
    assert.equal(await code, 1009);
    const entry = edge.access.find((a) => a.status === 101 && a.error !== undefined);
    assert.equal(entry?.error, 'PILLION_WS_MESSAGE_TOO_LARGE');
  } finally {
    await edge.stop();
  }
});
