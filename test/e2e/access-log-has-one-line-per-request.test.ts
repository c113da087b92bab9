import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { request } from 'node:https';
import { test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { APP_CMD, eventually, h1Request, h2Request, startPillion } from './harness.ts';

/** Sends raw bytes over TLS (HTTP/1.1) and returns the status of the answer, 0 if none. */
function rawStatus(port: number, bytes: string): Promise<number> {
  return new Promise((resolve) => {
    let got = '';
    const s = tlsConnect(
      { host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] },
      () => s.write(bytes),
    );
    s.setEncoding('latin1');
    s.on('data', (c) => {
      got += c;
    });
    s.on('error', () => {});
    s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0)));
  });
}

test('one access line per request: 200s, 503 before ready, 502 from the proxy, 499 on abort, 4xx from the parser', async (t) => {
  const p = startPillion(
    ['run', '--listen', '127.0.0.1:0', '--ready-timeout', '200ms', '--', ...APP_CMD],
    {
      env: { APP_LISTEN_DELAY_MS: '2000' },
    },
  );
  t.after(() => p.kill());
  const port = await p.port();
  const sent: number[] = [];
  // Before the app listens: each request waits 200 ms, then 503.
  for (const r of await Promise.all(Array.from({ length: 5 }, () => h1Request(port, '/early'))))
    sent.push(r.status);
  await p.ready();
  for (let i = 0; i < 40; i++) sent.push((await h1Request(port, `/h1/${i}`)).status);
  for (let i = 0; i < 5; i++) sent.push((await h1Request(port, '/reset')).status);
  const session = connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  t.after(() => session.destroy());
  for (let i = 0; i < 20; i++) sent.push((await h2Request(session, `/h2/${i}`)).status);
  for (let i = 0; i < 5; i++) sent.push((await h2Request(session, '/reset')).status);
  session.close();
  // Clients that give up while the app is still answering.
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve) => {
      const req = request({
        host: '127.0.0.1',
        port,
        path: '/slow?ms=3000',
        rejectUnauthorized: false,
        agent: false,
      });
      req.on('error', () => resolve());
      req.end();
      setTimeout(() => req.destroy(), 200);
    });
    sent.push(499);
  }
  // Refused by the parser or the edge rules before any byte reaches the app.
  const malformed = [
    'GET / HTTP/1.1\r\nHost: a\r\nBad Header Name: x\r\n\r\n',
    `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`,
    'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n',
    'GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\nHost: a\r\n\r\n0\r\n\r\n',
  ];
  const parserStatuses: number[] = [];
  for (const bytes of malformed) parserStatuses.push(await rawStatus(port, bytes));
  assert.ok(
    parserStatuses.every((st) => st >= 400 && st < 500),
    String(parserStatuses),
  );
  sent.push(...parserStatuses);
  const access = () => p.lines.filter((l) => l.source === 'access');
  await eventually(
    () => access().length >= sent.length,
    10_000,
    'an access line for every request',
  );
  p.proc.kill('SIGTERM');
  await p.exited;
  const lines = access();
  assert.equal(lines.length, sent.length);
  const histogram = (xs: number[]): Record<number, number> => {
    const h: Record<number, number> = {};
    for (const x of xs) h[x] = (h[x] ?? 0) + 1;
    return h;
  };
  const refused = histogram(parserStatuses);
  assert.deepEqual(histogram(sent), { 200: 60, 499: 3, 502: 10, 503: 5, ...refused });
  assert.deepEqual(histogram(lines.map((l) => Number(l.status))), histogram(sent));
  // The parser's refusals name no method or path of the client's: only `-` and the code.
  const parserLines = lines.filter((l) => l.path === '-');
  assert.equal(parserLines.length, parserStatuses.length);
  for (const l of parserLines) assert.match(String(l.error), /^PILLION_/);
  for (const l of lines.filter((x) => Number(x.status) >= 500)) {
    assert.equal(l.level, 'error');
    assert.ok(l.error, JSON.stringify(l));
  }
});
