// A WebSocket tunnel is one server span, from the upgrade request to the tunnel's close, sent to
// a real OTLP/HTTP receiver: the app's upgrade request carries traceparent with Pillion's span as
// its parent, and the span says how the tunnel closed (each side's close code, who ended it,
// bytes each way) and its status. HTTP/1.1 upgrades and HTTP/2 extended CONNECT alike; a
// tunnel Pillion closes at its stop is sent before it exits.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { type ClientHttp2Session, type ClientHttp2Stream, connect } from 'node:http2';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { closePayload, frame } from '../edge/ws-raw-client.ts';
import { attr, type ReceivedSpan, startReceiver } from '../fixtures/otlp-receiver.ts';
import { configFile, eventually, startPillion } from './harness.ts';

const WS_APP = fileURLToPath(new URL('../fixtures/ws-echo-app.ts', import.meta.url));
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

/** Opens a WebSocket over HTTP/1.1; resolves with it and the app's 101. */
async function openH1(port: number, traceparent?: string): Promise<[WebSocket, IncomingMessage]> {
  const ws = new WebSocket(`wss://127.0.0.1:${port}/chat`, {
    rejectUnauthorized: false,
    ...(traceparent ? { headers: { traceparent } } : {}),
  });
  const res = new Promise<IncomingMessage>((r) => ws.once('upgrade', r));
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  return [ws, await res];
}

async function echo(ws: WebSocket, text: string): Promise<void> {
  const got = new Promise<string>((r) => ws.once('message', (d) => r(String(d))));
  ws.send(text);
  assert.equal(await got, text);
}

const closed = (ws: WebSocket): Promise<number> => new Promise((r) => ws.once('close', r));

/** The span of the tunnel whose app saw `traceparent` (Pillion's span id is in it). */
function spanOf(spans: ReceivedSpan[], traceparent: string): ReceivedSpan | undefined {
  const [, trace, span] = traceparent.split('-');
  return spans.find((s) => s.traceId === trace && s.spanId === span);
}

test('each WebSocket tunnel is one span from its upgrade to its close, with how it closed', async (t) => {
  const rx = await startReceiver();
  t.after(() => rx.close());
  const cfg = configFile(
    [
      'app:',
      `  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(WS_APP)}]`,
      'ingress:',
      '  listen: 127.0.0.1:0',
      '  limits:',
      '    websocket_max_message_bytes: 4KiB',
      'telemetry:',
      `  endpoint: ${rx.url}`,
      '',
    ].join('\n'),
  );
  const p = startPillion(['run', '--config', cfg], { bin: true });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();

  // 1. The client closes with 1000, the app answers 1000: a clean close, held open a while.
  const given = `00-${TRACE}-${CLIENT_SPAN}-01`;
  const [ws1, res1] = await openH1(port, given);
  const opened = performance.now();
  const seen1 = String(res1.headers['x-seen-traceparent']);
  const m = new RegExp(`^00-${TRACE}-([0-9a-f]{16})-01$`).exec(seen1);
  assert.ok(m, `the app's upgrade request continued the client's trace: ${seen1}`);
  assert.notEqual(m[1], CLIENT_SPAN);
  await echo(ws1, 'hello');
  await new Promise((r) => setTimeout(r, 300));
  const heldMs = performance.now() - opened;
  const code1 = closed(ws1);
  ws1.close(1000);
  assert.equal(await code1, 1000);

  // 2. The app closes with 1011 (internal error): the span is an error.
  const [ws2, res2] = await openH1(port);
  const seen2 = String(res2.headers['x-seen-traceparent']);
  assert.match(seen2, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'a trace was started for the upgrade');
  const code2 = closed(ws2);
  ws2.send('close:1011');
  assert.equal(await code2, 1011);

  // 3. A message over the cap: Pillion ends the tunnel with 1009.
  const [ws3, res3] = await openH1(port);
  const code3 = closed(ws3);
  ws3.send(Buffer.alloc(4097, 1));
  assert.equal(await code3, 1009);

  // 4. HTTP/2 extended CONNECT (RFC 8441), closed by the client with 1000.
  const s = connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  s.on('error', () => {});
  t.after(() => s.destroy());
  await new Promise<void>((resolve, reject) => {
    s.once('remoteSettings', (st) =>
      st.enableConnectProtocol ? resolve() : reject(new Error('no extended CONNECT')),
    );
  });
  const { stream, headers } = await openH2(s, `00-${TRACE}-${'1'.repeat(16)}-01`);
  assert.equal(headers[':status'], 200);
  const seen4 = String(headers['x-seen-traceparent']);
  assert.match(seen4, new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
  const got: Buffer[] = [];
  stream.on('data', (d: Buffer) => got.push(d));
  const ended = new Promise((r) => stream.once('close', r));
  const text = frame({ op: 1, payload: 'over h2' });
  const close = frame({ op: 8, payload: closePayload(1000) });
  stream.write(text);
  await eventually(() => Buffer.concat(got).length >= 9, 10_000, 'the echo over HTTP/2');
  stream.end(close);
  await ended;
  s.close();

  await eventually(
    () => [seen1, seen2, seen4].every((tp) => spanOf(rx.spans, tp)),
    10_000,
    'spans',
  );
  await eventually(() => rx.spans.length >= 4, 10_000, 'four spans');
  assert.equal(rx.spans.length, 4, 'one span per tunnel');

  const s1 = spanOf(rx.spans, seen1) as ReceivedSpan;
  assert.equal(s1.parentSpanId, CLIENT_SPAN, "the client's span is the tunnel span's parent");
  assert.equal(s1.kind, 2);
  assert.equal(s1.name, 'GET');
  assert.equal(attr(s1, 'url.path'), '/chat');
  assert.equal(attr(s1, 'http.response.status_code'), 101);
  assert.equal(attr(s1, 'network.protocol.version'), '1.1');
  assert.equal(attr(s1, 'pillion.edge.decision'), 'forwarded');
  assert.equal(attr(s1, 'pillion.websocket.client_close_code'), 1000);
  assert.equal(attr(s1, 'pillion.websocket.app_close_code'), 1000);
  assert.equal(attr(s1, 'pillion.websocket.pillion_close_code'), undefined);
  assert.equal(attr(s1, 'pillion.websocket.closed_by'), 'client');
  // Frames as they came: "hello" masked (2 + 4 + 5) and a close with its code (2 + 4 + 2) from
  // the client; the echo (2 + 5) and the close answer (2 + 2) from the app.
  assert.equal(attr(s1, 'pillion.websocket.bytes_from_client'), 19);
  assert.equal(attr(s1, 'pillion.websocket.bytes_to_client'), 11);
  assert.deepEqual(s1.status, { code: 0 });
  const durationMs = Number(BigInt(s1.endTimeUnixNano) - BigInt(s1.startTimeUnixNano)) / 1e6;
  // The span began before the 101 the client waited for and ended after its close frame.
  assert.ok(durationMs >= heldMs, `the span (${durationMs} ms) covers the tunnel (${heldMs} ms)`);

  const s2 = spanOf(rx.spans, seen2) as ReceivedSpan;
  assert.equal(s2.parentSpanId, undefined);
  assert.equal(attr(s2, 'pillion.websocket.app_close_code'), 1011);
  assert.equal(attr(s2, 'pillion.websocket.closed_by'), 'app');
  assert.equal(attr(s2, 'error.type'), '1011');
  assert.deepEqual(s2.status, { code: 2, message: 'the app closed the WebSocket with 1011' });

  const s3 = rx.spans.find((x) => attr(x, 'pillion.websocket.pillion_close_code') === 1009);
  assert.ok(s3, `a span for the tunnel Pillion closed: ${res3.statusCode}`);
  assert.equal(attr(s3, 'pillion.websocket.closed_by'), 'pillion');
  assert.equal(attr(s3, 'pillion.edge.decision'), 'PILLION_WS_MESSAGE_TOO_LARGE');
  assert.equal(attr(s3, 'pillion.websocket.bytes_from_client'), 0, 'nothing of it reached the app');
  assert.deepEqual(s3.status, { code: 2, message: 'PILLION_WS_MESSAGE_TOO_LARGE' });

  const s4 = spanOf(rx.spans, seen4) as ReceivedSpan;
  assert.equal(s4.parentSpanId, '1'.repeat(16));
  assert.equal(s4.name, 'CONNECT');
  assert.equal(attr(s4, 'http.response.status_code'), 200);
  assert.equal(attr(s4, 'network.protocol.version'), '2');
  assert.equal(attr(s4, 'pillion.websocket.client_close_code'), 1000);
  assert.equal(attr(s4, 'pillion.websocket.bytes_from_client'), text.length + close.length);
  assert.deepEqual(s4.status, { code: 0 });

  // 5. A tunnel open at the stop: Pillion closes it with 1001, and its span is sent before exit.
  const [ws5, res5] = await openH1(port);
  const seen5 = String(res5.headers['x-seen-traceparent']);
  const code5 = closed(ws5);
  p.proc.kill('SIGTERM');
  assert.equal(await code5, 1001);
  assert.equal(await p.exited, 0);
  const s5 = spanOf(rx.spans, seen5);
  assert.ok(s5, 'the span of the tunnel closed at the stop arrived before Pillion exited');
  assert.equal(attr(s5, 'pillion.websocket.pillion_close_code'), 1001);
  assert.equal(attr(s5, 'pillion.websocket.closed_by'), 'pillion');
  assert.deepEqual(s5.status, { code: 0 }, 'a drain is no error');
});

/** Opens a WebSocket stream (RFC 8441); resolves with it and the response headers. */
function openH2(
  s: ClientHttp2Session,
  traceparent: string,
): Promise<{ stream: ClientHttp2Stream; headers: Record<string, unknown> }> {
  const stream = s.request({
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': 'https',
    ':path': '/chat',
    ':authority': 'localhost',
    'sec-websocket-version': '13',
    traceparent,
  });
  stream.on('error', () => {});
  return new Promise((resolve, reject) => {
    stream.once('response', (headers) => resolve({ stream, headers }));
    stream.once('error', reject);
  });
}
