// B8: the WebSocket caps come from pillion.yaml; a message over them closes the tunnel with
// 1009, logged once as a rejection and on the access line; nothing of it is echoed back.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { startPillion, tempDir } from './harness.ts';

const WS_APP = fileURLToPath(new URL('../fixtures/ws-echo-app.ts', import.meta.url));

test('ingress.limits.websocket_max_message_bytes: a message over it closes with 1009, logged once', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'pillion.yaml');
  writeFileSync(
    file,
    [
      'app:',
      `  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(WS_APP)}]`,
      'ingress:',
      '  listen: 127.0.0.1:0',
      '  limits:',
      '    websocket_max_message_bytes: 4KiB',
      '',
    ].join('\n'),
  );
  const p = startPillion(['run', '--config', file]);
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const ws = new WebSocket(`wss://127.0.0.1:${port}/`, { rejectUnauthorized: false });
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  const echoed = new Promise<Buffer>((r) => ws.once('message', (d) => r(d as Buffer)));
  ws.send(Buffer.alloc(4096, 1));
  assert.equal((await echoed).length, 4096, 'a message at the cap is echoed');
  const messages: unknown[] = [];
  ws.on('message', (d) => messages.push(d));
  const code = new Promise<number>((r) => ws.once('close', r));
  ws.send(Buffer.alloc(4097, 2));
  assert.equal(await code, 1009);
  assert.deepEqual(messages, [], 'nothing of the message over the cap came back');
  const rejected = await p.waitForLog(
    (l) => l.msg === 'connection rejected' && l.reason === 'WS_MESSAGE_TOO_LARGE',
    'the rejection',
  );
  assert.equal(rejected.code, 'PILLION_CONNECTION_REJECTED');
  assert.equal(rejected.limit, 4096);
  const access = await p.waitForLog(
    (l) => l.source === 'access' && l.status === 101,
    'the access line',
  );
  assert.equal(access.error, 'PILLION_WS_MESSAGE_TOO_LARGE');
  assert.equal(p.lines.filter((l) => l.msg === 'connection rejected').length, 1);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
