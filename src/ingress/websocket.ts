// WebSocket over HTTP/1.1: the upgrade request is checked and re-serialised like any other;
// only the app's 101 opens a tunnel, which carries frames untouched both ways. A non-101 answer
// is passed on and the connection closed, so no bytes after it are ever tunnelled. HTTP/2
// extended CONNECT (ws-h2.ts) opens the same kind of tunnel (ws-tunnel.ts), tracked here too.
import { type IncomingHttpHeaders, request } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ErrorCode } from '../core/errors.ts';
import type { AccessLog } from '../logs/access-log.ts';
import {
  appTimeout,
  errorBodyBytes,
  rawErrorResponse,
  statusOf,
  upstreamErrorCode,
} from './error-status.ts';
import { headersObject } from './exchange.ts';
import type { H1Head, Target } from './guard.ts';
import { downstreamHeaders, upstreamHeaders } from './headers.ts';
import type { EdgeLimits } from './limits.ts';
import type { Upstream } from './proxy.ts';
import { handleH2WebSocket } from './ws-h2.ts';
import { type TunnelClient, type TunnelHooks, WsTunnel } from './ws-tunnel.ts';

export interface TunnelDeps {
  upstream(): Upstream | undefined;
  accessLog: AccessLog;
  limits: EdgeLimits;
  /** Logs and counts one connection-level rejection (a frame or message over the caps). */
  reject(reason: string, remote: string | undefined, fields?: Record<string, unknown>): void;
}

/** Serialises a response head for a socket no longer owned by the HTTP server. */
function head(status: number, message: string, headers: Record<string, unknown>): string {
  let out = `HTTP/1.1 ${status} ${message}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) out += `${name}: ${v}\r\n`;
  }
  return `${out}\r\n`;
}

export class WebSocketTunnels {
  readonly #deps: TunnelDeps;
  readonly #open = new Set<WsTunnel>();

  constructor(deps: TunnelDeps) {
    this.#deps = deps;
  }

  get size(): number {
    return this.#open.size;
  }

  /**
   * A WebSocket upgrade read by the HTTP/1.1 engine: `verdict` is the guard's target, or the
   * code it was refused with. `early` holds the client's bytes read after the head.
   */
  handle = (
    req: H1Head,
    verdict: Target | ErrorCode,
    client: Socket,
    early: Buffer,
    draining: boolean,
  ): void => {
    const start = performance.now();
    const lim = this.#deps.limits;
    let status = 0;
    let bytes = 0;
    let error: string | undefined;
    const requestId = crypto.randomUUID();
    const log = (): void =>
      this.#deps.accessLog({
        method: 'GET',
        path: typeof verdict === 'string' ? '-' : verdict.path,
        status,
        durationMs: performance.now() - start,
        bytes,
        protocol: `HTTP/${req.version}`,
        remote: client.remoteAddress ?? '',
        requestId,
        error,
      });
    const refuse = (code: ErrorCode): void => {
      status = statusOf(code);
      error = code;
      bytes = errorBodyBytes(code);
      client.end(rawErrorResponse(code), () => client.destroy());
      log();
    };
    client.on('error', () => {});
    // An upgrade request carries no body (RFC 6455 §4.1); one that claims one is refused.
    const hasBody = req.transferEncoding !== undefined || (req.contentLength ?? '0') !== '0';
    if (typeof verdict === 'string' || hasBody) {
      refuse(typeof verdict === 'string' ? verdict : ErrorCode.REQUEST_INVALID);
      return;
    }
    if (draining) {
      refuse(ErrorCode.DRAINING);
      return;
    }
    const up = this.#deps.upstream();
    if (!up) {
      refuse(ErrorCode.APP_NOT_READY);
      return;
    }
    const target = verdict;
    const headers = upstreamHeaders(headersObject(req.raw), {
      remote: client.remoteAddress ?? '',
      host: target.authority,
      requestId,
      forwardedFor: lim.forwardedFor,
    });
    headers.connection = 'Upgrade';
    headers.upgrade = 'websocket';
    const out = request({
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
    client.once('close', () => {
      if (status === 0) out.destroy();
    });
    out.on('response', (res) => {
      // Not 101: plain HTTP, then the connection closes; no tunnel is opened.
      status = res.statusCode ?? 502;
      const h = downstreamHeaders(res.headers);
      delete h['content-length'];
      h.connection = 'close';
      client.write(head(status, res.statusMessage ?? '', h));
      res.on('data', (c: Buffer) => {
        bytes += c.length;
      });
      res.pipe(client);
      res.on('end', () => client.destroy());
      res.on('error', () => client.destroy());
      client.once('close', log);
    });
    out.on('upgrade', (res, app, appEarly) => {
      status = 101;
      const h = downstreamHeaders(res.headers);
      h.connection = 'Upgrade';
      h.upgrade = 'websocket';
      client.write(head(101, 'Switching Protocols', h));
      this.#track(client, app, early, appEarly, {
        onClose: log,
        count: (n) => {
          bytes += n;
        },
        onOver: (kind) => {
          error = ErrorCode.WS_MESSAGE_TOO_LARGE;
          this.#deps.reject(
            kind === 'frame' ? 'WS_FRAME_TOO_LARGE' : 'WS_MESSAGE_TOO_LARGE',
            client.remoteAddress,
            {
              close_code: 1009,
              limit: kind === 'frame' ? lim.websocketMaxFrameBytes : lim.websocketMaxMessageBytes,
            },
          );
        },
      });
    });
    out.end();
  };

  /** An extended CONNECT stream (RFC 8441) that passed the guard. */
  handleH2 = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, target: Target): void =>
    handleH2WebSocket(this.#deps, stream, headers, target, (client, app, appEarly, hooks) =>
      this.#track(client, app, Buffer.alloc(0), appEarly, hooks),
    );

  #track(
    client: TunnelClient,
    app: Socket,
    early: Buffer,
    appEarly: Buffer,
    hooks: TunnelHooks,
  ): void {
    const t = new WsTunnel(client, app, { client: early, app: appEarly }, this.#deps.limits, {
      ...hooks,
      onClose: () => {
        this.#open.delete(t);
        hooks.onClose();
      },
    });
    this.#open.add(t);
  }

  /**
   * Drain: each tunnel gets close code 1001 (going away) both ways, put between frames, then
   * its sockets close once the peers answer or after `graceMs`.
   */
  closeAll(graceMs = 1000): void {
    for (const t of this.#open) t.goAway(graceMs);
  }
}
