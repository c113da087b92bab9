// B4: a body that trickles in (a slow-body attack) is cut like one that stops, while a body
// sent at an ordinary pace passes. Small windows in the test; the defaults are 30 s and 1 KiB.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from 'node:tls';
import {
  APP_CMD,
  eventually,
  h1Request,
  readEvents,
  startPillion,
  tempDir,
} from '../e2e/harness.ts';

/** Sends a POST head, then `piece` bytes every `everyMs` until the connection closes. */
function trickle(port: number, piece: number, everyMs: number): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    let sent = 0;
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      s.write('POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n');
      // Bounded: at most 200 pieces, far more than one window needs.
      const timer = setInterval(() => {
        if (sent >= 200 || s.destroyed) clearInterval(timer);
        else {
          s.write('x'.repeat(piece));
          sent += 1;
        }
      }, everyMs);
      s.on('close', () => clearInterval(timer));
    });
    s.setEncoding('latin1');
    s.on('data', (c) => {
      got += c;
    });
    s.on('error', () => {});
    s.on('close', () => resolve(got.split('\r\n')[0]));
  });
}

test('a trickling request body is answered 408 and cut; an ordinary one passes', async (t) => {
  const dir = tempDir();
  const events = join(dir, 'events');
  const file = join(dir, 'pillion.yaml');
  writeFileSync(
    file,
    `app:\n  command: ${JSON.stringify(APP_CMD)}\ningress:\n  listen: 127.0.0.1:0\n  limits:\n    body_idle_timeout: 600ms\n    body_min_bytes: 1KiB\n`,
  );
  const p = startPillion(['run', '--config', file], { env: { APP_EVENTS: events } });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  // 8 bytes every 100 ms: never idle for a window, but ~48 bytes a window.
  assert.equal(await trickle(port, 8, 100), 'HTTP/1.1 408 Request Timeout');
  const ok = await h1Request(port, '/upload', { method: 'POST', body: 'y'.repeat(50_000) });
  assert.equal(ok.status, 200);
  assert.equal(ok.body, '50000\n');
  // The access line is written as the exchange closes, and may come just after the response.
  const access = (): unknown[] =>
    p.lines.filter((l) => l.source === 'access').map((l) => [l.path, l.status]);
  await eventually(() => access().length >= 2, 10_000, 'two access lines');
  assert.deepEqual(access(), [
    ['/upload', 408],
    ['/upload', 200],
  ]);
  assert.ok(readEvents(events).some((e) => e.startsWith('request POST /upload')));
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
