// The admin API's log views: recent lines as a JSON array, and new lines as Server-Sent
// Events read with fetch (the browser's way: EventSource cannot send the token).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminJson } from './admin-client.ts';
import { APP_CMD, h1Request, startPillion } from './harness.ts';

test('recent log lines and a live tail over Server-Sent Events', async (t) => {
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', ...APP_CMD], { bin: true });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const admin = await p.admin();
  const recent = await adminJson<Record<string, unknown>[]>(admin, '/api/v1/logs?n=500');
  assert.ok(
    recent.some((l) => l.msg === 'app ready'),
    'the start-up lines are there',
  );
  assert.ok(recent.length <= 500);
  assert.equal((await adminJson<unknown[]>(admin, '/api/v1/logs?n=2')).length, 2);

  const abort = new AbortController();
  t.after(() => abort.abort());
  const res = await fetch(`http://${admin.host}:${admin.port}/api/v1/logs/stream`, {
    headers: { authorization: `Bearer ${admin.token}` },
    signal: abort.signal,
  });
  assert.equal(res.status, 200);
  assert.match(String(res.headers.get('content-type')), /^text\/event-stream/);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  // The stream is open (its first comment came) before the request whose line it must show.
  let text = decoder.decode((await reader.read()).value);
  assert.match(text, /^: pillion log stream/);
  assert.equal((await h1Request(port, '/tail-me')).status, 200);
  const deadline = Date.now() + 10_000;
  while (!text.includes('"path":"/tail-me"') && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  const event = text.split('\n\n').find((e) => e.includes('"path":"/tail-me"'));
  assert.ok(event, text);
  const line = JSON.parse(event.replace(/^data: /, ''));
  assert.equal(line.source, 'access');
  assert.equal(line.status, 200);
  abort.abort();
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
