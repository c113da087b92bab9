// A TLS upstream on loopback that fails on command: refuse, reset before or in the middle of
// its answer, stall, answer 503 with Retry-After. It records every request it gets, and counts
// the connections it accepted.
import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Pair, TestPki } from './certs.ts';

export type Mode =
  | 'ok'
  | 'slow'
  | 'reset'
  | 'reset-mid'
  | 'stall'
  | '503'
  | '503-retry-after'
  | '500';

export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  /** The client's port of the connection the request came on: the same on a reused connection. */
  remotePort: number;
  /** The SNI name the client sent, if any. */
  servername: string | false | null;
}

export interface Upstream {
  name: string;
  port: number;
  url: string;
  mode: Mode;
  /** `Retry-After` sent in mode 503-retry-after. */
  retryAfter: string;
  seen: Seen[];
  /** TLS connections accepted since start. */
  connections: number;
  /** Closes the listener: connections are refused until `reopen`. */
  refuse(): Promise<void>;
  reopen(): Promise<void>;
  close(): Promise<void>;
}

export async function startUpstream(
  name: string,
  pki: TestPki,
  opts: { pair?: Pair; requireClientCert?: boolean; h2?: boolean } = {},
): Promise<Upstream> {
  const pair = opts.pair ?? pki.server;
  const sockets = new Set<Socket>();
  const make = (): Server => {
    const srv = createServer({
      cert: pair.certPem,
      key: pair.keyPem,
      ...(opts.requireClientCert
        ? { ca: pki.ca, requestCert: true, rejectUnauthorized: true }
        : {}),
    });
    srv.on('secureConnection', () => {
      up.connections++;
    });
    srv.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    srv.on('request', (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        up.seen.push({
          method: req.method as string,
          url: req.url as string,
          headers: req.headers,
          body,
          at: Date.now(),
          remotePort: req.socket.remotePort as number,
          servername: (req.socket as TLSSocket).servername,
        });
        switch (up.mode) {
          case 'reset':
            req.socket.destroy();
            return;
          case 'reset-mid':
            res.writeHead(200, { 'content-length': '100000' });
            res.write('x'.repeat(1000), () => setTimeout(() => req.socket.destroy(), 20));
            return;
          case 'stall':
            return;
          case 'slow':
            setTimeout(() => res.end(JSON.stringify({ from: name, slow: true })), 300);
            return;
          case '503':
          case '500':
            res.writeHead(Number(up.mode), { 'content-type': 'text/plain' });
            res.end(`${name} is failing\n`);
            return;
          case '503-retry-after':
            res.writeHead(503, { 'retry-after': up.retryAfter });
            res.end('try later\n');
            return;
          default: {
            const text = JSON.stringify({ from: name, method: req.method, url: req.url, body });
            res.writeHead(200, {
              'content-type': 'application/json',
              'x-upstream': name,
              connection: 'keep-alive',
              'keep-alive': 'timeout=5',
            });
            res.end(text);
          }
        }
      });
    });
    return srv;
  };
  let server = make();
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  await listen(0);
  const port = (server.address() as { port: number }).port;
  const closeServer = async () => {
    const s = server;
    const closed = new Promise<void>((r) => s.close(() => r()));
    for (const sock of sockets) sock.destroy();
    await closed;
  };
  const up: Upstream = {
    name,
    port,
    url: `https://127.0.0.1:${port}`,
    mode: 'ok',
    retryAfter: '1',
    seen: [],
    connections: 0,
    refuse: closeServer,
    reopen: async () => {
      server = make();
      await listen(port);
    },
    close: async () => {
      if (server.listening) await closeServer();
    },
  };
  return up;
}
