// WebSocket over HTTP/2 (RFC 8441): an extended CONNECT stream with `:protocol: websocket`
// becomes an HTTP/1.1 Upgrade to the app on a connection of its own. Only the app's 101, with
// the Sec-WebSocket-Accept its key calls for, opens a tunnel (answered 200 on the stream); any
// other answer is passed on as a plain HTTP/2 response.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { type IncomingHttpHeaders, request } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ErrorCode } from '../core/errors.ts';
import { appTimeout, statusOf, upstreamErrorCode } from './error-status.ts';
import type { Target } from './guard.ts';
import { downstreamHeaders, upstreamHeaders } from './headers.ts';
import type { TunnelDeps } from './websocket.ts';
import type { TunnelClient, TunnelHooks } from './ws-tunnel.ts';

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

export type OpenTunnel = (
  client: TunnelClient,
  app: Socket,
  appEarly: Buffer,
  hooks: TunnelHooks,
) => void;

/** Serves one extended CONNECT stream that passed the guard. */
export function handleH2WebSocket(
  deps: TunnelDeps,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  target: Target,
  open: OpenTunnel,
): void {
  const start = performance.now();
  const requestId = randomUUID();
  const remote = stream.session?.socket?.remoteAddress ?? '';
  let status = 0;
  let bytes = 0;
  let error: string | undefined;
  const log = (): void =>
    deps.accessLog({
      method: 'CONNECT',
      path: target.path,
      status,
      durationMs: performance.now() - start,
      bytes,
      protocol: 'HTTP/2',
      remote,
      requestId,
      error,
    });
  stream.on('error', () => {});
  const refuse = (code: ErrorCode): void => {
    status = statusOf(code);
    error = code;
    if (!stream.destroyed && !stream.headersSent) {
      stream.respond({ ':status': status, 'content-type': 'text/plain; charset=utf-8' });
      stream.end(`${status}\n`);
    } else stream.destroy();
    log();
  };
  const up = deps.upstream();
  if (!up) {
    refuse(ErrorCode.APP_NOT_READY);
    return;
  }
  const key = randomBytes(16).toString('base64');
  const out = upstreamHeaders(headers, {
    remote,
    host: target.authority,
    requestId,
    forwardedFor: deps.limits.forwardedFor,
  });
  out.connection = 'Upgrade';
  out.upgrade = 'websocket';
  out['sec-websocket-key'] = key;
  out['sec-websocket-version'] = headers['sec-websocket-version'] ?? '13';
  const req = request({
    host: up.host,
    port: up.port,
    method: 'GET',
    path: target.path,
    headers: out,
    setHost: false,
    agent: false,
  });
  req.setTimeout(deps.limits.upstreamTimeoutMs, () => req.destroy(appTimeout()));
  req.on('error', (err: NodeJS.ErrnoException) => {
    if (status === 0) refuse(upstreamErrorCode(err));
  });
  stream.once('close', () => {
    if (status === 0) req.destroy();
  });
  req.on('response', (res) => {
    // Not 101: a plain HTTP/2 response; no tunnel is opened.
    status = res.statusCode ?? 502;
    const h = downstreamHeaders(res.headers);
    for (const n of H1_ONLY) delete h[n];
    if (stream.destroyed) {
      res.destroy();
      return;
    }
    stream.respond({ ...h, ':status': status });
    res.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    res.pipe(stream);
    res.on('error', () => stream.destroy());
    stream.once('close', () => {
      res.destroy();
      log();
    });
  });
  req.on('upgrade', (res, app, appEarly) => {
    if (res.headers['sec-websocket-accept'] !== acceptFor(key) || stream.destroyed) {
      app.destroy();
      refuse(ErrorCode.APP_BAD_RESPONSE);
      return;
    }
    status = 200;
    const h = downstreamHeaders(res.headers);
    for (const n of H1_ONLY) delete h[n];
    stream.respond({ ...h, ':status': 200 });
    open(stream, app, appEarly, {
      count: (n) => {
        bytes += n;
      },
      onOver: (kind) => {
        error = ErrorCode.WS_MESSAGE_TOO_LARGE;
        deps.reject(kind === 'frame' ? 'WS_FRAME_TOO_LARGE' : 'WS_MESSAGE_TOO_LARGE', remote, {
          close_code: 1009,
          protocol: 'HTTP/2',
          limit:
            kind === 'frame'
              ? deps.limits.websocketMaxFrameBytes
              : deps.limits.websocketMaxMessageBytes,
        });
      },
      onClose: log,
    });
  });
  req.end();
}
