// WebSocket echo through Pillion against a direct connection to the same `ws` echo app:
// pipelined 1 KiB messages (throughput) and sequential 16-byte round trips (latency), over
// HTTP/1.1 Upgrade and HTTP/2 extended CONNECT. Run: npm run bench:websocket
import { createServer } from 'node:http';
import { connect as h2connect } from 'node:http2';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { startEdge } from '../test/edge/edge-harness.ts';
import { frame, upgradeRaw } from '../test/edge/ws-raw-client.ts';

const MESSAGES = 20_000;
const WINDOW = 64;
const ROUND_TRIPS = 2_000;

const app = createServer();
const wss = new WebSocketServer({ server: app, perMessageDeflate: false });
wss.on('connection', (ws) => ws.on('message', (d, bin) => ws.send(d, { binary: bin })));
await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
const appPort = (app.address() as { port: number }).port;
const edge = await startEdge(undefined, undefined, appPort);

/** Resolves once `n` more bytes have come back on `sock`. */
function reader(sock: Duplex): (n: number) => Promise<void> {
  let have = 0;
  let want = 0;
  let wake: (() => void) | undefined;
  sock.on('data', (d: Buffer) => {
    have += d.length;
    if (wake && have >= want) wake();
  });
  return (n) => {
    want += n;
    if (have >= want) return Promise.resolve();
    return new Promise((r) => {
      wake = () => {
        wake = undefined;
        r();
      };
    });
  };
}

async function measure(name: string, sock: Duplex) {
  const got = reader(sock);
  const msg = frame({ op: 2, payload: Buffer.alloc(1024, 7) });
  const echo = 1024 + 4; // unmasked, 16-bit length
  const t0 = performance.now();
  for (let sent = 0; sent < MESSAGES; sent += WINDOW) {
    for (let i = 0; i < WINDOW; i++) sock.write(msg);
    await got(WINDOW * echo);
  }
  const secs = (performance.now() - t0) / 1000;
  const small = frame({ op: 2, payload: Buffer.alloc(16, 1) });
  const rtts: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const t = performance.now();
    sock.write(small);
    await got(18);
    rtts.push(performance.now() - t);
  }
  rtts.sort((a, b) => a - b);
  const q = (p: number) => Number((rtts[Math.floor(p * (rtts.length - 1))] as number).toFixed(3));
  sock.destroy();
  return {
    path: name,
    msgs_per_s: Math.round(MESSAGES / secs),
    mib_per_s: Number(((MESSAGES * 1024) / secs / 1048576).toFixed(1)),
    rtt_p50_ms: q(0.5),
    rtt_p99_ms: q(0.99),
  };
}

const results = [];
const direct = await upgradeRaw(appPort, false);
direct.sock.resume();
(direct.sock as unknown as { setNoDelay(b: boolean): void }).setNoDelay(true);
results.push(await measure('direct', direct.sock));
const h1 = await upgradeRaw(edge.port, true);
h1.sock.resume();
(h1.sock as unknown as { setNoDelay(b: boolean): void }).setNoDelay(true);
results.push(await measure('pillion-h1', h1.sock));
const session = h2connect(`https://127.0.0.1:${edge.port}`, { rejectUnauthorized: false });
await new Promise((r) => session.once('remoteSettings', r));
const stream = session.request({
  ':method': 'CONNECT',
  ':protocol': 'websocket',
  ':scheme': 'https',
  ':path': '/',
  ':authority': 'a.test',
  'sec-websocket-version': '13',
});
await new Promise((r) => stream.once('response', r));
results.push(await measure('pillion-h2', stream));
session.close();
const base = results[0] as { msgs_per_s: number };
for (const r of results)
  console.log(
    JSON.stringify({
      bench: 'websocket',
      ...r,
      throughput_vs_direct: Number((r.msgs_per_s / base.msgs_per_s).toFixed(2)),
    }),
  );
await edge.stop();
for (const c of wss.clients) c.terminate();
wss.close();
app.close();
