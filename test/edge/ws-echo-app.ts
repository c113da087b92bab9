// A `ws` echo app on loopback for the WebSocket tests: echoes every message as it came (text or
// binary), records the close codes it sees, answers an upgrade of `/deny` with a plain 403, and
// serves `plain` to requests that do not upgrade.
import { createServer, type Server } from 'node:http';
import { WebSocketServer } from 'ws';

export interface EchoApp {
  port: number;
  /** Close codes the app received, in order. */
  closeCodes: number[];
  stop(): Promise<void>;
}

export async function startEchoApp(): Promise<EchoApp> {
  const app: Server = createServer((_req, res) => res.end('plain'));
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const closeCodes: number[] = [];
  app.on('upgrade', (req, socket, head) => {
    if (req.url === '/deny') {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\nX-Why: test\r\n\r\ndenied');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {});
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      ws.on('close', (code) => closeCodes.push(code));
    });
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  return {
    port: (app.address() as { port: number }).port,
    closeCodes,
    stop: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise((r) => app.close(r));
    },
  };
}
