// B8: cases rebuilt from the Autobahn WebSocket suite's categories 1–7 and 9 (framing, pings,
// reserved bits, opcodes, fragmentation, UTF-8, close handling, bounded limits), sent as exact
// masked bytes to a `ws` echo app, once straight to it and once through Pillion. The verdict is
// differential: every byte the app answers reaches the client through Pillion exactly as it
// does directly, and the app's close code is the one the protocol calls for.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { type Edge, startEdge } from './edge-harness.ts';
import { type Case, cases } from './ws-autobahn-cases.ts';
import { acceptFor, frame, runCase, upgradeRaw, WS_KEY } from './ws-raw-client.ts';

let app: Server;
let wss: WebSocketServer;
let appPort = 0;
let edge: Edge;

before(async () => {
  app = createServer((_req, res) => res.end('plain'));
  // An echo app as Autobahn's fuzzing client expects: no extensions, text stays text.
  wss = new WebSocketServer({ server: app, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    // Protocol errors are what many cases are for; ws closes with their code.
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  appPort = (app.address() as { port: number }).port;
  edge = await startEdge(undefined, undefined, appPort);
});
after(async () => {
  await edge.stop();
  for (const c of wss.clients) c.terminate();
  wss.close();
  await new Promise((r) => app.close(r));
});

async function play(c: Case, throughPillion: boolean) {
  const port = throughPillion ? edge.port : appPort;
  const { sock, head, rest } = await upgradeRaw(port, throughPillion);
  assert.match(head, /^HTTP\/1\.1 101 /);
  assert.match(
    head,
    new RegExp(`sec-websocket-accept: ${acceptFor(WS_KEY).replace(/[+/]/g, '\\$&')}`, 'i'),
  );
  return runCase(sock, rest, Buffer.concat(c.frames.map(frame)), c.chop ?? 0, c.answer);
}

test(`${cases.length} Autobahn-derived cases: the app's answer reaches the client byte-identical through Pillion`, async (t) => {
  for (const c of cases) {
    await t.test(c.id, async () => {
      const direct = await play(c, false);
      const via = await play(c, true);
      assert.ok(direct.bytes.length > 0, 'the app answered');
      if (c.want !== undefined) assert.equal(direct.closeCode, c.want, 'close code from the app');
      assert.notEqual(direct.closeCode, undefined, 'the app closed with a close frame');
      assert.equal(via.bytes.length, direct.bytes.length, 'as many bytes through Pillion');
      assert.ok(via.bytes.equals(direct.bytes), 'the same bytes through Pillion');
    });
  }
});
