// WebSocket over HTTP/1.1: the upgrade request is checked and re-serialised like any other
// (ws-upgrade.ts, the path HTTP/2 extended CONNECT takes too); only the app's 101 opens a
// tunnel, which carries frames untouched both ways. A non-101 answer is passed on and the
// connection closed, so no bytes after it are ever tunnelled. Open tunnels are tracked here.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { ErrorCode } from '../core/errors.ts';
import { type ClientCertHeader, downstreamHeaders } from '../http/headers.ts';
import { errorBodyBytes, rawErrorResponse } from './error-status.ts';
import { headersObject } from './exchange.ts';
import type { H1Head, Target } from './guard.ts';
import { h2Side } from './ws-h2.ts';
import { type TunnelClient, type TunnelHooks, WsTunnel } from './ws-tunnel.ts';
import { type TunnelDeps, type UpgradeSide, upgradeToApp } from './ws-upgrade.ts';

export type { TunnelDeps } from './ws-upgrade.ts';

/** Serialises a response head for a socket no longer owned by the HTTP engine. */
function head(status: number, message: string, headers: Record<string, unknown>): string {
  let out = `HTTP/1.1 ${status} ${message}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) out += `${name}: ${v}\r\n`;
  }
  return `${out}\r\n`;
}

/** The HTTP/1.1 side of a WebSocket handshake: the client's TLS socket. */
function h1Side(
  req: H1Head,
  client: Socket,
  early: Buffer,
  clientCert: ClientCertHeader | undefined,
): UpgradeSide {
  return {
    method: 'GET',
    protocol: `HTTP/${req.version}`,
    remote: client.remoteAddress ?? '',
    clientCert,
    early,
    client,
    extra: {},
    openStatus: 101,
    refuse(code: ErrorCode): number {
      client.end(rawErrorResponse(code), () => client.destroy());
      return errorBodyBytes(code);
    },
    plain(res: IncomingMessage, count: (n: number) => void): void {
      const h = downstreamHeaders(res.headers);
      delete h['content-length'];
      h.connection = 'close';
      client.write(head(res.statusCode ?? 502, res.statusMessage ?? '', h));
      res.on('data', (c: Buffer) => count(c.length));
      // pipe() ends the client's side once the body is written; destroying it at the app's
      // 'end' dropped the body still in the TLS socket's write buffer.
      res.pipe(client);
      client.once('finish', () => client.destroy());
      res.on('error', () => client.destroy());
    },
    accept(res: IncomingMessage): boolean {
      const h = downstreamHeaders(res.headers);
      h.connection = 'Upgrade';
      h.upgrade = 'websocket';
      client.write(head(101, 'Switching Protocols', h));
      return true;
    },
  };
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
    clientCert?: ClientCertHeader,
  ): void => {
    client.on('error', () => {});
    // An upgrade request carries no body (RFC 6455 §4.1); one that claims one is refused.
    const hasBody = req.transferEncoding !== undefined || (req.contentLength ?? '0') !== '0';
    const refused =
      typeof verdict === 'string'
        ? verdict
        : hasBody
          ? ErrorCode.REQUEST_INVALID
          : draining
            ? ErrorCode.DRAINING
            : undefined;
    upgradeToApp(
      this.#deps,
      h1Side(req, client, early, clientCert),
      typeof verdict === 'string' ? undefined : verdict,
      headersObject(req.raw),
      refused,
      this.#track,
    );
  };

  /** An extended CONNECT stream (RFC 8441) that passed the guard. */
  handleH2 = (
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    target: Target,
    clientCert?: ClientCertHeader,
  ): void => {
    const side = h2Side(stream, headers, clientCert);
    upgradeToApp(this.#deps, side, target, headers, undefined, this.#track);
  };

  #track = (
    client: TunnelClient,
    app: Socket,
    early: Buffer,
    appEarly: Buffer,
    hooks: TunnelHooks,
  ): void => {
    const t = new WsTunnel(client, app, { client: early, app: appEarly }, this.#deps.limits, {
      ...hooks,
      onClose: (end) => {
        this.#open.delete(t);
        hooks.onClose(end);
      },
    });
    this.#open.add(t);
  };

  /**
   * Drain: each tunnel gets close code 1001 (going away) both ways, put between frames, then
   * its sockets close once the peers answer or after `graceMs`.
   */
  closeAll(graceMs = 1000): void {
    for (const t of this.#open) t.goAway(graceMs);
  }
}
