// B3, B4 (timeouts): every limit and timeout, with small values so the tests stay short (R5's
// hung app: test/e2e/a-hung-app-gets-504s-no-earlier-than-the-upstream-timeout-and-leaks-no-fd.test.ts).
// Waits are bounded; no assertion is made on how long anything took.
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { after, before, test } from 'node:test';
import { type Edge, startEdge } from './edge-harness.ts';
import { exchange, openH1 } from './raw-client.ts';
import { okResponder } from './spy-app.ts';

const CRLF = '\r\n';
const req = (lines: string[], body = ''): string => `${lines.join(CRLF)}${CRLF}${CRLF}${body}`;

let edge: Edge;
before(async () => {
  edge = await startEdge({
    maxBodyBytes: 1000,
    headersTimeoutMs: 300,
    bodyIdleTimeoutMs: 300,
    keepAliveTimeoutMs: 300,
    upstreamTimeoutMs: 300,
  });
});
after(() => edge.stop());

/** Sends bytes on a fresh connection and waits for the close or a quiet spell. */
async function sendOnce(bytes: string, e = edge): Promise<{ status?: number; closed: boolean }> {
  e.spy.reset();
  const x = await exchange(e.port);
  x.socket.write(Buffer.from(bytes, 'latin1'));
  const res = await x.settle(2, 2000);
  await x.close();
  await e.spy.quiet();
  return { status: res.responses[0]?.status, closed: res.closed };
}

test('headers over 16 KiB get 431 and nothing reaches the app', async () => {
  const big = Array.from({ length: 20 }, (_, i) => `X-B${i}: ${'b'.repeat(900)}`);
  const r = await sendOnce(req(['GET / HTTP/1.1', 'Host: a.test', ...big]));
  assert.equal(r.status, 431);
  assert.equal(edge.spy.byteCount, 0);
});

test('more than 100 header fields get 431; exactly 100 pass', async () => {
  const fields = (n: number): string[] => Array.from({ length: n }, (_, i) => `X-N${i}: ${i}`);
  const over = await sendOnce(req(['GET / HTTP/1.1', 'Host: a.test', ...fields(100)]));
  assert.equal(over.status, 431);
  assert.equal(edge.spy.byteCount, 0);
  const at = await sendOnce(req(['GET / HTTP/1.1', 'Host: a.test', ...fields(99)]));
  assert.equal(at.status, 200);
});

test('a URI over 8 KiB gets 414; one under passes', async () => {
  const over = await sendOnce(req([`GET /${'u'.repeat(8200)} HTTP/1.1`, 'Host: a.test']));
  assert.equal(over.status, 414);
  assert.equal(edge.spy.byteCount, 0);
  const under = await sendOnce(req([`GET /${'u'.repeat(8000)} HTTP/1.1`, 'Host: a.test']));
  assert.equal(under.status, 200);
});

test('a body over the limit gets 413: by Content-Length before the app is asked, or chunked', async () => {
  const byLength = await sendOnce(
    req(['POST / HTTP/1.1', 'Host: a.test', 'Content-Length: 1001'], 'x'.repeat(1001)),
  );
  assert.equal(byLength.status, 413);
  assert.ok(byLength.closed);
  assert.equal(edge.spy.byteCount, 0);
  const chunk = `3e9${CRLF}${'x'.repeat(1001)}${CRLF}0${CRLF}${CRLF}`;
  const chunked = await sendOnce(
    req(['POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked'], chunk),
  );
  assert.equal(chunked.status, 413);
  assert.equal(edge.spy.byteCount, 0);
  const fits = await sendOnce(
    req(['POST / HTTP/1.1', 'Host: a.test', 'Content-Length: 1000'], 'x'.repeat(1000)),
  );
  assert.equal(fits.status, 200);
  assert.equal(edge.spy.requests[0]?.body.length, 1000);
});

test('a chunk extension over 16 KiB gets 400 and nothing reaches the app; one under passes', async () => {
  const chunked = (body: string): string =>
    req(['POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked'], body);
  for (const body of [
    `1;${'e'.repeat(17 * 1024)}${CRLF}a${CRLF}0${CRLF}${CRLF}`,
    `1;e="${'q'.repeat(17 * 1024)}"${CRLF}a${CRLF}0${CRLF}${CRLF}`,
    `1${CRLF}a${CRLF}0;${'e'.repeat(17 * 1024)}${CRLF}${CRLF}`,
  ]) {
    const r = await sendOnce(chunked(body));
    assert.equal(r.status, 400);
    assert.ok(r.closed);
    assert.equal(edge.spy.byteCount, 0);
  }
  const under = await sendOnce(chunked(`1;${'e'.repeat(15 * 1024)}${CRLF}a${CRLF}0${CRLF}${CRLF}`));
  assert.equal(under.status, 200);
  assert.deepEqual(edge.spy.fatal, []);
  assert.equal(edge.spy.requests[0]?.body.toString(), 'a');
});

test('an HTTP/2 body over the limit gets 413 and the app sees no request', async () => {
  edge.spy.reset();
  const session = h2connect(`https://127.0.0.1:${edge.port}`, { rejectUnauthorized: false });
  session.on('error', () => {});
  const settings = await new Promise<{ maxConcurrentStreams?: number }>((resolve) =>
    session.once('remoteSettings', resolve),
  );
  assert.equal(settings.maxConcurrentStreams, 100, 'the stream limit is advertised');
  const stream = session.request({ ':method': 'POST', ':path': '/' });
  stream.end(Buffer.alloc(1500, 'x'));
  const status = await new Promise<number>((resolve) =>
    stream.once('response', (h) => resolve(Number(h[':status']))),
  );
  stream.resume();
  session.close();
  assert.equal(status, 413);
  assert.equal(edge.spy.requests.length, 0);
});

test('slow headers are answered 408 and closed, even while bytes keep trickling in', async () => {
  const x = await exchange(edge.port);
  const head = 'GET / HTTP/1.1\r\nHost: a.test\r\nX-Slow: ';
  x.socket.write(head);
  // One byte every 50 ms: a slowloris client that never finishes its headers.
  const drip = setInterval(() => x.socket.writable && x.socket.write('a'), 50);
  const res = await x.settle(1, 10_000);
  clearInterval(drip);
  await x.close();
  assert.equal(res.responses[0]?.status, 408);
  assert.ok(edge.events.some((e) => e.msg === 'connection rejected' && e.status === 408));
});

test('a body that stalls is answered 408 and closed; the app gets no whole request', async () => {
  edge.spy.reset();
  const x = await exchange(edge.port);
  x.socket.write(req(['POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked'], '5\r\nab'));
  const res = await x.settle(2, 10_000);
  await x.close();
  await edge.spy.quiet();
  assert.equal(res.responses[0]?.status, 408);
  assert.ok(res.closed);
  assert.equal(edge.spy.requests.length, 0);
});

test('an idle keep-alive connection is closed', async () => {
  const x = await exchange(edge.port);
  x.socket.write(req(['GET / HTTP/1.1', 'Host: a.test']));
  const first = await x.settle(1);
  assert.equal(first.responses[0]?.status, 200);
  const res = await x.settle(2, 10_000);
  assert.ok(res.closed, 'closed after the keep-alive timeout');
  await x.close();
});

test('connections over the cap are closed at accept and logged', async () => {
  const capped = await startEdge({ maxConnections: 3 });
  try {
    const held = await Promise.all([1, 2, 3].map(() => openH1(capped.port)));
    const refused = await openH1(capped.port).then(
      (s) => new Promise<boolean>((resolve) => s.once('close', () => resolve(true))),
      () => true,
    );
    assert.ok(refused);
    assert.deepEqual(capped.ingress.rejections, { MAX_CONNECTIONS: 1 });
    for (const s of held) s.destroy();
  } finally {
    await capped.stop();
  }
});

test('an HTTP/2 session with no open stream is closed after the keep-alive timeout', async () => {
  const { H2Raw, getFields } = await import('./h2-crafter.ts');
  // A client that opens a session and sends nothing, however many PINGs it might add.
  const silent = await H2Raw.open(edge.port);
  assert.ok(await silent.until(() => silent.goaway !== undefined || silent.closed, 10_000));
  silent.close();
  // After a request, the idle session also closes.
  const used = await H2Raw.open(edge.port);
  await used.send(used.headers(1, getFields('/once')));
  assert.ok(await used.until(() => used.outcome(1).status === 200));
  assert.ok(await used.until(() => used.goaway !== undefined || used.closed, 10_000));
  used.close();
});

test('an HTTP/2 stream waiting on a slow app keeps its session open past the keep-alive', async () => {
  const { H2Raw, getFields } = await import('./h2-crafter.ts');
  // The app streams its body over 4 keep-alive periods, a byte every 100 ms (so the upstream
  // timeout never fires).
  edge.spy.respond = (r, s) => {
    if (r.target !== '/slow') return okResponder(r, s);
    s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
    let n = 0;
    const tick = setInterval(() => {
      if (!s.writable) clearInterval(tick);
      else if (++n <= 12) s.write('1\r\nx\r\n');
      else {
        clearInterval(tick);
        s.write('0\r\n\r\n');
      }
    }, 100);
    return null;
  };
  try {
    const h = await H2Raw.open(edge.port);
    await h.send(h.headers(1, getFields('/slow')));
    assert.ok(await h.until(() => h.outcome(1).status === 200, 10_000));
    // The body's END_STREAM arrives before any GOAWAY.
    await h.until(
      () => h.frames.some((f) => f.stream === 1 && f.type === 0 && (f.flags & 1) === 1),
      10_000,
    );
    const endIdx = h.frames.findIndex((f) => f.stream === 1 && f.type === 0 && (f.flags & 1) === 1);
    const goIdx = h.frames.findIndex((f) => f.type === 7);
    assert.ok(endIdx >= 0, 'the response completed');
    assert.ok(goIdx < 0 || goIdx > endIdx, 'no GOAWAY before the response ended');
    h.close();
  } finally {
    edge.spy.respond = okResponder;
  }
});

test('an app that stalls mid-body: the response is cut, never passed on as complete', async () => {
  const { H2Raw, getFields } = await import('./h2-crafter.ts');
  edge.spy.respond = (r, s) => {
    if (r.target !== '/half') return okResponder(r, s);
    s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab');
    return null;
  };
  try {
    const x = await exchange(edge.port);
    x.socket.write(req(['GET /half HTTP/1.1', 'Host: a.test']));
    const r1 = await x.settle(1, 10_000);
    await x.close();
    assert.equal(r1.responses.length, 0, 'HTTP/1.1: no complete response');
    assert.ok(r1.closed, 'HTTP/1.1: the connection was closed');
    const h = await H2Raw.open(edge.port);
    await h.send(h.headers(1, getFields('/half')));
    assert.ok(await h.until(() => h.frames.some((f) => f.stream === 1 && f.type === 3), 10_000));
    const ended = h.frames.some((f) => f.stream === 1 && f.type === 0 && (f.flags & 1) === 1);
    assert.equal(ended, false, 'HTTP/2: reset, no END_STREAM');
    h.close();
  } finally {
    edge.spy.respond = okResponder;
  }
});
