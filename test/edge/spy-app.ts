// A raw-socket "app" for edge tests: it records every byte Pillion sends it, parses each
// connection with the strict parser, and answers each request (or what a test scripts instead).
import { createServer, type Server, type Socket } from 'node:net';
import { type ParsedRequest, StrictRequestParser } from './strict-parser.ts';

export interface SpyConnection {
  bytes: Buffer[];
  requests: ParsedRequest[];
  parser: StrictRequestParser;
  closed: boolean;
}

/** What to write back for a request; null leaves it unanswered (a stalled app). */
export type SpyResponder = (req: ParsedRequest, socket: Socket) => Buffer | string | null;

export const okResponder: SpyResponder = (req) =>
  req.method === 'HEAD'
    ? 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n'
    : 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

export class SpyApp {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  connections: SpyConnection[] = [];
  respond: SpyResponder = okResponder;
  port = 0;

  constructor() {
    this.#server = createServer((socket) => {
      this.#sockets.add(socket);
      const conn: SpyConnection = {
        bytes: [],
        requests: [],
        parser: new StrictRequestParser(),
        closed: false,
      };
      this.connections.push(conn);
      socket.on('data', (chunk: Buffer) => {
        conn.bytes.push(chunk);
        for (const req of conn.parser.push(chunk)) {
          conn.requests.push(req);
          const answer = this.respond(req, socket);
          if (answer !== null && !socket.destroyed) socket.write(answer);
        }
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        conn.closed = true;
        this.#sockets.delete(socket);
      });
    });
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const addr = this.#server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this.port;
  }

  /** Forgets what was recorded so far (open connections keep being recorded afresh). */
  reset(): void {
    for (const c of this.connections) c.bytes = [];
    this.connections = this.connections.filter((c) => !c.closed);
    for (const c of this.connections) c.requests = [];
  }

  get requests(): ParsedRequest[] {
    return this.connections.flatMap((c) => c.requests);
  }

  get byteCount(): number {
    return this.connections.reduce((n, c) => n + c.bytes.reduce((m, b) => m + b.length, 0), 0);
  }

  /** Framing errors or unfinished messages seen on any connection. */
  get fatal(): string[] {
    return this.connections.flatMap((c) => (c.parser.fatal ? [c.parser.fatal] : []));
  }

  get openSockets(): number {
    return this.#sockets.size;
  }

  /** Waits (bounded) until no open connection holds part of a message, so a run's bytes are in. */
  async quiet(maxMs = 1000): Promise<void> {
    const until = Date.now() + maxMs;
    let last = this.byteCount;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 5));
      const now = this.byteCount;
      if (now === last && !this.connections.some((c) => !c.closed && c.parser.partial)) return;
      last = now;
    }
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
