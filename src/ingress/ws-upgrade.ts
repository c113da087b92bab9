// The one WebSocket handshake path to the app, for an HTTP/1.1 upgrade (websocket.ts) and an
// HTTP/2 extended CONNECT (ws-h2.ts) alike: the request is checked and re-serialised like any
// other (forwarding fields as configured), only the app's 101 opens a tunnel, any other answer
// is passed on as plain HTTP, and the access line has the status the client really got.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ErrorCode } from '../core/errors.ts';
import { type ClientCertHeader, upstreamHeaders } from '../http/headers.ts';
import { newRequestId } from '../http/trace.ts';
import type { AccessLog } from '../logs/access-log.ts';
import { appTimeout, statusOf, upstreamErrorCode } from './error-status.ts';
import type { Target } from './guard.ts';
import type { EdgeLimits } from './limits.ts';
import type { TraceStart } from './proxy.ts';
import type { Upstream } from './upstream-pool.ts';
import type { TunnelClient, TunnelEnd, TunnelHooks } from './ws-tunnel.ts';

export interface TunnelDeps {
  upstream(): Upstream | undefined;
  accessLog: AccessLog;
  limits: EdgeLimits;
  /** W3C trace context, as for any request (proxy.ts ProxyDeps.trace). */
  trace?: TraceStart | undefined;
  /** Logs and counts one connection-level rejection (a frame or message over the caps). */
  reject(reason: string, remote: string | undefined, fields?: Record<string, unknown>): void;
}

/** Opens a tunnel between a client side and the app's upgraded socket. */
export type OpenTunnel = (
  client: TunnelClient,
  app: Socket,
  clientEarly: Buffer,
  appEarly: Buffer,
  hooks: TunnelHooks,
) => void;

/** What differs between an HTTP/1.1 socket and an HTTP/2 stream asking for a WebSocket. */
export interface UpgradeSide {
  readonly method: string;
  readonly protocol: string;
  readonly remote: string;
  /** mTLS: the connection's verified client certificate (tls/client-auth.ts). */
  readonly clientCert: ClientCertHeader | undefined;
  /** The client's bytes read after its request, for the tunnel. */
  readonly early: Buffer;
  readonly client: TunnelClient;
  /** Extra fields for the app's handshake (HTTP/2: the key it makes up). */
  readonly extra: Record<string, string>;
  /** Answers the client with the error for `code`; the body bytes sent. */
  refuse(code: ErrorCode): number;
  /** The app answered without upgrading: passed on as plain HTTP, then the side closes. */
  plain(res: IncomingMessage, count: (n: number) => void): void;
  /** The app's 101: answers the client, or false when it cannot be passed on (a 502). */
  accept(res: IncomingMessage): boolean;
  /** The status the client is sent when the tunnel opens. */
  readonly openStatus: number;
}

/**
 * Serves one WebSocket request that passed the guard (`refused` otherwise): to the app over
 * a connection of its own, then a tunnel on its 101.
 */
export function upgradeToApp(
  deps: TunnelDeps,
  side: UpgradeSide,
  target: Target | undefined,
  fields: IncomingHttpHeaders,
  refused: ErrorCode | undefined,
  open: OpenTunnel,
): void {
  const start = performance.now();
  const requestId = newRequestId();
  const lim = deps.limits;
  let status = 0;
  let bytes = 0;
  let error: string | undefined;
  let tunnel: TunnelEnd | undefined;
  // The upgrade carries trace context like any request; the span lasts until the tunnel closes.
  const trace = deps.trace?.(one(fields.traceparent), one(fields.tracestate));
  const log = (): void =>
    deps.accessLog({
      method: side.method,
      path: target?.path ?? '-',
      status,
      durationMs: performance.now() - start,
      bytes,
      protocol: side.protocol,
      remote: side.remote,
      requestId,
      error,
      trace,
      tunnel,
    });
  const refuse = (code: ErrorCode): void => {
    status = statusOf(code);
    error = code;
    bytes = side.refuse(code);
    log();
  };
  const up = refused || !target ? undefined : deps.upstream();
  if (refused || !target || !up) {
    refuse(refused ?? (target ? ErrorCode.APP_NOT_READY : ErrorCode.REQUEST_INVALID));
    return;
  }
  const headers = upstreamHeaders(fields, {
    remote: side.remote,
    host: target.authority,
    requestId,
    forwardedFor: lim.forwardedFor,
    trace,
    clientCert: side.clientCert,
  });
  headers.connection = 'Upgrade';
  headers.upgrade = 'websocket';
  Object.assign(headers, side.extra);
  // An ESM import of node:http loads Node's bundled undici (~50 ms of a start): taken here.
  const out = process.getBuiltinModule('node:http').request({
    host: up.host,
    port: up.port,
    method: 'GET',
    path: target.path,
    headers,
    setHost: false,
    agent: false,
  });
  out.setTimeout(lim.upstreamTimeoutMs, () => out.destroy(appTimeout()));
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (status === 0) refuse(upstreamErrorCode(err));
  });
  side.client.once('close', () => {
    if (status === 0) out.destroy();
  });
  out.on('response', (res) => {
    // Not 101: plain HTTP; no tunnel is opened.
    status = res.statusCode ?? 502;
    side.client.once('close', log);
    side.plain(res, (n) => {
      bytes += n;
    });
  });
  out.on('upgrade', (res, app, appEarly) => {
    if (!side.accept(res)) {
      app.destroy();
      refuse(ErrorCode.APP_BAD_RESPONSE);
      return;
    }
    status = side.openStatus;
    open(side.client, app, side.early, appEarly, {
      count: (n) => {
        bytes += n;
      },
      onOver: (kind) => {
        error = ErrorCode.WS_MESSAGE_TOO_LARGE;
        deps.reject(kind === 'frame' ? 'WS_FRAME_TOO_LARGE' : 'WS_MESSAGE_TOO_LARGE', side.remote, {
          close_code: 1009,
          protocol: side.protocol,
          limit: kind === 'frame' ? lim.websocketMaxFrameBytes : lim.websocketMaxMessageBytes,
        });
      },
      onClose: (end) => {
        tunnel = end;
        log();
      },
    });
  });
  out.end();
}

/** A field's first value (traceparent and tracestate are single fields). */
function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
