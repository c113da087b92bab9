// Plain HTTP where TLS is expected. On the TLS port, the first byte tells: a TLS record starts
// with 0x16 (handshake, RFC 8446 §5.1); anything else gets a plain 400 that says what happened,
// as NGINX answers, and never reaches the app. The optional `ingress.http_redirect` listener
// answers every request with a redirect to the HTTPS port and serves nothing else.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { HandshakeDeadline } from './handshake-deadline.ts';

const TLS_HANDSHAKE_RECORD = 0x16;
const BODY = 'The plain HTTP request was sent to the HTTPS port; use https:// instead.\n';
const PLAIN_400 =
  'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n' +
  `Content-Length: ${Buffer.byteLength(BODY)}\r\nConnection: close\r\n\r\n${BODY}`;
/** Time to flush the 400 before the socket is destroyed. */
const LINGER_MS = 1000;

/**
 * Waits for the connection's first bytes, then hands a TLS connection on with those bytes put
 * back, or answers anything else. The deadline starts here, at accept, and goes on with the
 * TLS connection (handshake-deadline.ts): a silent connection counts as a half-open
 * handshake. One listener and one timer per connection, before any TLS work.
 */
export function peekFirstByte(
  socket: Socket,
  timeoutMs: number,
  tls: (socket: Socket, hello: Buffer, deadline: HandshakeDeadline) => void,
  plain: (socket: Socket) => void,
): void {
  const deadline = new HandshakeDeadline(timeoutMs, () => socket.destroy());
  socket.once('close', () => deadline.clear());
  // Until TLS owns it, an error here (a reset) only closes the socket.
  socket.on('error', noop);
  socket.once('data', (chunk: Buffer) => {
    socket.pause();
    if (chunk[0] === TLS_HANDSHAKE_RECORD) {
      // Read back by the TLS socket as it wraps this one.
      socket.unshift(chunk);
      tls(socket, chunk, deadline);
      return;
    }
    deadline.clear();
    plain(socket);
    answerPlain(socket);
  });
}

function noop(): void {}

/** The 400 for plain HTTP on the TLS port; what else the client sent is read and dropped. */
function answerPlain(socket: Socket): void {
  socket.resume();
  socket.end(PLAIN_400);
  socket.setTimeout(LINGER_MS, () => socket.destroy());
}

/** A Host header value that can go into a Location: a name or address, with an optional port. */
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/;

/** `ingress.http_redirect`: every request gets a redirect to the same host and path over HTTPS. */
export function redirectServer(httpsPort: () => number | undefined): Server {
  // An ESM import of node:http loads Node's bundled undici (~50 ms of a start): taken here.
  return process
    .getBuiltinModule('node:http')
    .createServer(
      { requestTimeout: 10_000, headersTimeout: 10_000 },
      (req: IncomingMessage, res: ServerResponse) => {
        const host = HOST.exec(req.headers.host ?? '')?.[1];
        const port = httpsPort();
        if (!host || port === undefined) {
          res.writeHead(400, { 'content-type': 'text/plain', connection: 'close' });
          res.end('A Host header is needed to redirect to HTTPS.\n');
          return;
        }
        const path = req.url?.startsWith('/') ? req.url : '/';
        const location = `https://${host}${port === 443 ? '' : `:${port}`}${path}`;
        // 301 for GET and HEAD (understood by every client); 308 keeps the method and body.
        const status = req.method === 'GET' || req.method === 'HEAD' ? 301 : 308;
        res.writeHead(status, { location, 'content-length': 0, connection: 'close' });
        res.end();
        req.resume();
      },
    );
}
