// TLS clients for the mTLS tests: one request over a fresh connection with a given client
// certificate, and what came back (the app's view of the headers, or nothing at all).
import { connect as h2connect } from 'node:http2';
import { connect, type TLSSocket } from 'node:tls';
import type { Issued } from '../fixtures/client-pki.ts';

/** A chunked body, whole (the test's responses are small and complete). */
function unchunk(raw: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    const size = Number.parseInt(raw.slice(at, eol), 16);
    if (!(size > 0)) return out;
    out += raw.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

/** An identity a client makes up; Pillion must never pass it on. */
export const FORGED = 'Hash=forged;Subject="CN=admin"';

export interface Outcome {
  /** The app's view of the request's headers, when an HTTP response came. */
  headers?: Record<string, string>;
  /** Bytes the client received before the connection closed. */
  bytes: number;
  error?: string;
  reused: boolean;
  session?: Buffer;
}

/**
 * One HTTP/1.1 GET /headers over a fresh TLS connection with `creds` (certificate + chain);
 * with `upgrade`, as a WebSocket handshake (the app answers it as plain HTTP, with the headers
 * it got on the WebSocket path).
 */
export function h1(
  port: number,
  creds: Issued | undefined,
  opts: { session?: Buffer | undefined; upgrade?: boolean; path?: string } = {},
): Promise<Outcome> {
  const { session, upgrade = false, path = '/headers' } = opts;
  return new Promise((resolve) => {
    let data = Buffer.alloc(0);
    let error: string | undefined;
    let reused = false;
    let got: Buffer | undefined;
    const s: TLSSocket = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
      ...(creds ? { cert: creds.cert, key: creds.key } : {}),
      ...(session ? { session } : {}),
    });
    const timer = setTimeout(() => s.destroy(new Error('no end within 10 s')), 10_000);
    s.on('session', (b: Buffer) => {
      got ??= b;
    });
    s.on('secureConnect', () => {
      reused = s.isSessionReused();
      const ws = upgrade
        ? 'connection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
        : 'connection: close\r\n';
      s.write(
        `GET ${path} HTTP/1.1\r\nhost: localhost\r\nx-forwarded-client-cert: ${FORGED}\r\n${ws}\r\n`,
      );
    });
    s.on('data', (c: Buffer) => {
      data = Buffer.concat([data, c]);
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    s.on('close', () => {
      clearTimeout(timer);
      const text = data.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const raw = text.slice(end + 4);
      const body = /\r\ntransfer-encoding: chunked\r\n/i.test(text.slice(0, end + 2))
        ? unchunk(raw)
        : raw;
      const ok = text.startsWith('HTTP/1.1 200');
      resolve({
        bytes: data.length,
        reused,
        ...(ok ? { headers: JSON.parse(body) } : {}),
        ...(error ? { error } : {}),
        ...(got ? { session: got } : {}),
      });
    });
  });
}

/** The same over HTTP/2. */
export function h2(port: number, creds: Issued | undefined, path = '/headers'): Promise<Outcome> {
  return new Promise((resolve) => {
    const session = h2connect(`https://127.0.0.1:${port}`, {
      rejectUnauthorized: false,
      servername: 'localhost',
      ...(creds ? { cert: creds.cert, key: creds.key } : {}),
    });
    const timer = setTimeout(() => session.destroy(new Error('no end within 10 s')), 10_000);
    let error: string | undefined;
    let body = '';
    session.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    const req = session.request({ ':path': path, 'x-forwarded-client-cert': FORGED });
    req.on('error', (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message;
    });
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('close', () => {
      clearTimeout(timer);
      session.close();
      resolve({
        bytes: body.length,
        reused: false,
        ...(body ? { headers: JSON.parse(body) } : {}),
        ...(error ? { error } : {}),
      });
    });
    req.end();
  });
}
