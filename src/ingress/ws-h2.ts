// WebSocket over HTTP/2 (RFC 8441): an extended CONNECT stream with `:protocol: websocket`
// becomes an HTTP/1.1 Upgrade to the app on a connection of its own (ws-upgrade.ts). Only the
// app's 101, with the Sec-WebSocket-Accept its key calls for, opens a tunnel (answered 200 on
// the stream); any other answer is passed on as a plain HTTP/2 response.
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { ErrorCode } from '../core/errors.ts';
import { type ClientCertHeader, downstreamHeaders } from '../http/headers.ts';
import { errorBodyBytes, statusOf, textOf } from './error-status.ts';
import { errorText } from './exchange.ts';
import type { UpgradeSide } from './ws-upgrade.ts';

/** True for an extended CONNECT asking for a WebSocket (RFC 8441 §4). */
export function isH2WebSocket(headers: IncomingHttpHeaders): boolean {
  return headers[':method'] === 'CONNECT' && headers[':protocol'] === 'websocket';
}

/** The Sec-WebSocket-Accept an app must answer `key` with (RFC 6455 §4.2.2). */
export function acceptFor(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

/** Fields of the HTTP/1.1 handshake that have no place in an HTTP/2 response (RFC 8441 §5). */
const H1_ONLY = ['sec-websocket-accept', 'content-length'];

/** The HTTP/2 side of a WebSocket handshake: an extended CONNECT stream. */
export function h2Side(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  clientCert?: ClientCertHeader,
): UpgradeSide {
  // RFC 8441 has no key on the client's side: Pillion makes one up for the app's handshake.
  const key = randomBytes(16).toString('base64');
  stream.on('error', () => {});
  const fields = (res: IncomingMessage): Record<string, string | string[] | undefined> => {
    const h = downstreamHeaders(res.headers);
    for (const n of H1_ONLY) delete h[n];
    return h as Record<string, string | string[] | undefined>;
  };
  return {
    method: 'CONNECT',
    protocol: 'HTTP/2',
    remote: stream.session?.socket?.remoteAddress ?? '',
    clientCert,
    early: Buffer.alloc(0),
    client: stream,
    extra: {
      'sec-websocket-key': key,
      'sec-websocket-version': (headers['sec-websocket-version'] as string | undefined) ?? '13',
    },
    openStatus: 200,
    refuse(code: ErrorCode): number {
      const status = statusOf(code);
      if (!stream.destroyed && !stream.headersSent) {
        stream.respond({ ':status': status, 'content-type': 'text/plain; charset=utf-8' });
        stream.end(errorText(status, textOf(code)));
        return errorBodyBytes(code);
      }
      stream.destroy();
      return 0;
    },
    plain(res: IncomingMessage, count: (n: number) => void): void {
      if (stream.destroyed) {
        res.destroy();
        return;
      }
      stream.respond({ ...fields(res), ':status': res.statusCode ?? 502 });
      res.on('data', (c: Buffer) => count(c.length));
      res.pipe(stream);
      res.on('error', () => stream.destroy());
      stream.once('close', () => res.destroy());
    },
    accept(res: IncomingMessage): boolean {
      if (res.headers['sec-websocket-accept'] !== acceptFor(key) || stream.destroyed) return false;
      stream.respond({ ...fields(res), ':status': 200 });
      return true;
    },
  };
}
