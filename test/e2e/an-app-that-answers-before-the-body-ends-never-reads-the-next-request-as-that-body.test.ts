// An app may answer a request before its body has all arrived (an error page, a redirect, a
// handler that never reads it). The app is then still reading that body on its connection: a
// request Pillion sent next on it would be read as the rest of the body, and what was left of
// it as a request of its own (a desync: the client who sent the body gets another client's
// request, its cookies included, into it). Such a connection is closed, never reused.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { connect } from 'node:tls';
import { APP_CMD, eventually, h1Request, startPillion, tempDir } from './harness.ts';

test('a POST answered before its body ended leaves its app connection; the next request reaches the app whole', async (t) => {
  const events = `${tempDir()}/events`;
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', ...APP_CMD], {
    env: { APP_EVENTS: events },
  });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  // Warm the pool: one connection to the app, idle, that the POST below takes.
  assert.equal((await h1Request(port, '/warm')).status, 200);

  // 50 bytes promised, 10 sent; the fixture app answers `/` at once without reading.
  const slow = connect({
    host: '127.0.0.1',
    port,
    rejectUnauthorized: false,
    ALPNProtocols: ['http/1.1'],
  });
  t.after(() => slow.destroy());
  slow.on('error', () => {});
  let got = '';
  slow.setEncoding('latin1');
  slow.on('data', (c: string) => {
    got += c;
  });
  await new Promise((r) => slow.once('secureConnect', r));
  slow.write('POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 50\r\n\r\n0123456789');
  await eventually(() => /\r\n\r\nhello from \d+\n$/.test(got), 30_000, 'the early answer');
  assert.match(got, /^HTTP\/1\.1 200 /);

  // The next requests: each reaches the app as the request it is, and gets its own answer.
  for (let i = 0; i < 3; i++) {
    const id = `after-${i}-${process.pid}`;
    const r = await h1Request(port, '/headers', {
      headers: { 'x-request-id': id, cookie: `secret=${id}` },
    });
    assert.equal(r.status, 200, r.body);
    assert.equal(JSON.parse(r.body)['x-request-id'], id);
  }
  const seen = readFileSync(events, 'utf8').split('\n');
  assert.deepEqual(
    seen.filter((l) => l.startsWith('request ')).map((l) => l.split(' ').slice(0, 3).join(' ')),
    [
      'request GET /warm',
      'request POST /',
      'request GET /headers',
      'request GET /headers',
      'request GET /headers',
    ],
  );
  // The POST's body is still owed: the client may send it, and nothing reaches the app.
  slow.write('x'.repeat(40));
  assert.equal((await h1Request(port, '/last')).status, 200);
});
