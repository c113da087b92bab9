// A raw-socket HTTP/1.1 client over TLS for edge tests: it writes exact bytes (whole, one byte
// per write, or in seeded random fragments) and reads back whatever responses come, byte-exact.
import { connect, type TLSSocket } from 'node:tls';
import { rng } from '../fixtures/rng.ts';

export type WriteMode = 'whole' | 'bytes' | 'fragments';
export const WRITE_MODES: WriteMode[] = ['whole', 'bytes', 'fragments'];

export interface RawResponse {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

export interface RawResult {
  responses: RawResponse[];
  /** True when the server closed the connection. */
  closed: boolean;
  raw: Buffer;
}

/** The last TLS session ticket each port gave, for clients that resume. */
const tickets = new Map<number, Buffer>();

/**
 * A TLS connection to Pillion speaking HTTP/1.1. With `resume`, the connection resumes the
 * port's last TLS session when it has one (a lighter handshake; HTTP sees a new connection
 * all the same), for tests that open thousands of connections.
 */
export function openH1(port: number, resume = false): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const session = resume ? tickets.get(port) : undefined;
    const s = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
      ...(session ? { session } : {}),
    });
    if (resume) s.on('session', (t: Buffer) => tickets.set(port, t));
    s.once('secureConnect', () => {
      s.setNoDelay(true);
      resolve(s);
    });
    s.once('error', reject);
  });
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Writes `bytes` the chosen way; each piece is its own TLS record. */
export async function writeAs(
  s: TLSSocket,
  bytes: Buffer,
  mode: WriteMode,
  seed = 1,
): Promise<void> {
  if (mode === 'whole') {
    s.write(bytes);
    return;
  }
  const next = rng(seed);
  let i = 0;
  while (i < bytes.length && !s.destroyed) {
    const n = mode === 'bytes' ? 1 : 1 + Math.floor(next() * 7);
    s.write(bytes.subarray(i, i + n));
    i += n;
    await tick();
  }
}

/** Parses whole responses from the front of `buf`; returns them and how many bytes they used. */
export function parseResponses(
  buf: Buffer,
  closed: boolean,
  headFirst = false,
): { list: RawResponse[]; used: number } {
  const list: RawResponse[] = [];
  let off = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', off);
    if (end < 0) break;
    const lines = buf.subarray(off, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '');
    if (!m) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
    const status = Number(m[1]);
    const headers = lines.slice(1).map((l): [string, string] => {
      const c = l.indexOf(':');
      return [l.slice(0, c).toLowerCase(), l.slice(c + 1).trim()];
    });
    let p = end + 4;
    if (status < 200) {
      off = p;
      continue; // 100 Continue and friends: a final response follows
    }
    const cl = headers.find(([k]) => k === 'content-length');
    const te = headers.find(([k]) => k === 'transfer-encoding');
    let body: Buffer;
    if (status === 204 || status === 304 || (headFirst && list.length === 0))
      body = Buffer.alloc(0);
    else if (te) {
      const parts: Buffer[] = [];
      let complete = false;
      for (;;) {
        const le = buf.indexOf('\r\n', p);
        if (le < 0) break;
        const size = Number.parseInt(buf.subarray(p, le).toString('latin1'), 16);
        if (size === 0) {
          const tEnd = buf.indexOf('\r\n\r\n', Math.max(le - 2, p));
          if (tEnd < 0) break;
          p = tEnd + 4;
          complete = true;
          break;
        }
        if (buf.length < le + 2 + size + 2) break;
        parts.push(buf.subarray(le + 2, le + 2 + size));
        p = le + 2 + size + 2;
      }
      if (!complete) break;
      body = Buffer.concat(parts);
    } else if (cl) {
      const n = Number(cl[1]);
      if (buf.length < p + n) break;
      body = buf.subarray(p, p + n);
      p += n;
    } else {
      if (!closed) break;
      body = buf.subarray(p);
      p = buf.length;
    }
    list.push({ status, headers, body: Buffer.from(body) });
    off = p;
  }
  return { list, used: off };
}

export interface Exchange {
  socket: TLSSocket;
  /** Resolves once `n` responses arrived, or the server closed, or `quietMs` passed with no byte. */
  settle(n: number, quietMs?: number): Promise<RawResult>;
  close(): Promise<void>;
}

/** Opens a connection and collects everything the server sends on it. */
export async function exchange(port: number, headFirst = false, resume = false): Promise<Exchange> {
  const socket = await openH1(port, resume);
  const chunks: Buffer[] = [];
  let closed = false;
  let bump = (): void => {};
  socket.on('data', (c: Buffer) => {
    chunks.push(c);
    bump();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
    bump();
  });
  const result = (): RawResult => {
    const raw = Buffer.concat(chunks);
    return { responses: parseResponses(raw, closed, headFirst).list, closed, raw };
  };
  return {
    socket,
    settle: (n, quietMs = 400) =>
      new Promise((resolve) => {
        let timer: NodeJS.Timeout;
        const check = (): void => {
          clearTimeout(timer);
          const r = result();
          if (closed || r.responses.length >= n) {
            bump = () => {};
            resolve(r);
            return;
          }
          timer = setTimeout(() => {
            bump = () => {};
            resolve(result());
          }, quietMs);
        };
        bump = check;
        check();
      }),
    close: () =>
      new Promise((resolve) => {
        if (closed) resolve();
        else {
          socket.once('close', () => resolve());
          socket.destroy();
        }
      }),
  };
}
