import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from './chaos.ts';
import { APP_CMD, eventually, h1Request, readEvents, startPillion, tempDir } from './harness.ts';

test('a slow-starting app: requests sent before it listens wait, all succeed, each reaches it once', async (t) => {
  const events = join(tempDir(), 'events');
  const appPort = await freePort();
  const p = startPillion(
    ['run', '--listen', '127.0.0.1:0', '--app-port', String(appPort), '--', ...APP_CMD],
    { env: { APP_EVENTS: events, APP_LISTEN_DELAY_MS: '1500', PORT: String(appPort) } },
  );
  t.after(() => p.kill());
  const port = await p.port();
  const ids = Array.from({ length: 20 }, (_, i) => `early-${i}`);
  const replies = ids.map((id) => h1Request(port, '/', { headers: { 'x-request-id': id } }));
  for (const r of await Promise.all(replies)) assert.equal(r.status, 200);
  const got = readEvents(events);
  for (const id of ids) assert.equal(got.filter((e) => e.endsWith(` ${id}`)).length, 1, id);
  // Compared by the time each line was made: Pillion's own events and access lines may leave
  // its output queue in either order when stdout is busy.
  const readyAt = p.lines.find((l) => l.msg === 'app ready')?.time;
  const access = () => p.lines.filter((l) => l.source === 'access');
  await eventually(() => access().length === ids.length, 10_000, 'an access line per request');
  const accessTimes = access().map((l) => String(l.time));
  assert.ok(readyAt, 'app ready is logged');
  assert.equal(accessTimes.length, ids.length);
  for (const at of accessTimes) assert.ok(String(readyAt) <= at, 'ready before any answer');
  // Every request reached the app after it listened.
  const listenedAt = got.findIndex((e) => e.startsWith('listening'));
  assert.ok(listenedAt >= 0 && got.findIndex((e) => e.startsWith('request ')) > listenedAt);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
