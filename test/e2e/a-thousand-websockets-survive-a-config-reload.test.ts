// B8: 1,000 WebSockets open through the real CLI to a `ws` echo app; the config file is
// rewritten twice (a live change, then one that waits for the next start); every tunnel still
// echoes afterwards and none was closed.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { startPillion, tempDir } from './harness.ts';

const WS_APP = fileURLToPath(new URL('../fixtures/ws-echo-app.ts', import.meta.url));
const TUNNELS = 1000;
/** Connections opened at once while building up. */
const BATCH = 50;

function open(port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/echo`, {
      rejectUnauthorized: false,
      perMessageDeflate: false,
    });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Sends `text` on every socket; resolves with how many echoed it back within `waitMs`. */
async function echoAll(sockets: WebSocket[], text: (i: number) => string, waitMs = 20_000) {
  let echoed = 0;
  await Promise.all(
    sockets.map(
      (ws, i) =>
        new Promise<void>((resolve) => {
          const t = setTimeout(resolve, waitMs);
          ws.once('message', (data) => {
            clearTimeout(t);
            if (String(data) === text(i)) echoed++;
            resolve();
          });
          ws.send(text(i));
        }),
    ),
  );
  return echoed;
}

test('1,000 open WebSockets keep echoing across config reloads', async (t) => {
  const dir = tempDir();
  const cfgFile = join(dir, 'pillion.yaml');
  const config = (generation: number, extra = '') =>
    [
      'app:',
      `  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(WS_APP)}]`,
      `  config: { generation: ${generation} }`,
      'ingress:',
      '  listen: 127.0.0.1:0',
      extra,
      '',
    ].join('\n');
  writeFileSync(cfgFile, config(0));
  const p = startPillion(['run', '--config', cfgFile]);
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();

  const sockets: WebSocket[] = [];
  const closes: number[] = [];
  t.after(() => {
    for (const ws of sockets) ws.terminate();
  });
  const t0 = Date.now();
  for (let i = 0; i < TUNNELS; i += BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(BATCH, TUNNELS - i) }, () => open(port)),
    );
    for (const ws of batch) ws.once('close', (code) => closes.push(code));
    sockets.push(...batch);
  }
  t.diagnostic(`${TUNNELS} tunnels opened in ${Date.now() - t0} ms`);
  assert.equal(await echoAll(sockets, (i) => `before ${i}`), TUNNELS);

  // A change applied live (the app's config, the drain timeout).
  writeFileSync(cfgFile, config(1, 'drain:\n  timeout: 20s'));
  await p.waitForLog((l) => l.msg === 'config reloaded', 'the reload');
  const t1 = Date.now();
  assert.equal(await echoAll(sockets, (i) => `after reload ${i}`), TUNNELS);
  t.diagnostic(`${TUNNELS} echoes after the reload in ${Date.now() - t1} ms`);

  // An edge limit, applied live to new connections: named, and no open tunnel is cut.
  writeFileSync(
    cfgFile,
    config(2, 'drain:\n  timeout: 20s\n').replace(
      '  listen: 127.0.0.1:0',
      '  listen: 127.0.0.1:0\n  limits: { websocket_max_message_bytes: 1MiB }',
    ),
  );
  const applied = await p.waitForLog(
    (l) =>
      l.msg === 'config applied' &&
      (l.fields as string[]).includes('ingress.limits.websocket_max_message_bytes'),
    'the limit applied',
  );
  assert.deepEqual(applied.fields, ['app.config', 'ingress.limits.websocket_max_message_bytes']);
  assert.equal(await echoAll(sockets, (i) => `after second reload ${i}`), TUNNELS);
  assert.deepEqual(closes, [], 'no tunnel was closed');
  assert.equal(
    sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length,
    TUNNELS,
    'every tunnel is still open',
  );

  // And drain still closes them all with 1001.
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
  for (let i = 0; i < 500 && closes.length < TUNNELS; i++)
    await new Promise((r) => setTimeout(r, 10));
  assert.equal(closes.length, TUNNELS);
  assert.deepEqual([...new Set(closes)], [1001]);
});
