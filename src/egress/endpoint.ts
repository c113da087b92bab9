// One endpoint of a service: its connection pool (keep-alive, HTTP/2 by ALPN), its requests in
// flight (for least-request), passive outlier ejection and the optional active health check.
import type { LookupFunction, Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { buildConnector, errors, Pool } from 'undici';
import type { EgressServiceSettings, EndpointSettings } from '../config/settings-egress.ts';

/** TLS material read from the service's files, given to every endpoint's pool. */
export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  verify: boolean;
}

/** Called when an endpoint is ejected or comes back: for the log and the counters. */
export type EndpointEvent = (
  ep: Endpoint,
  what: 'ejected' | 'returned' | 'unhealthy' | 'healthy',
  ms?: number,
) => void;

/**
 * undici's connector with the connect stage (TCP and the TLS handshake) bounded by a timer of
 * Pillion's own: undici's connect timer runs on a clock that ticks every half second, so a
 * 300 ms `connect` ended at about 1 s. A connection not made in `ms` is destroyed and the
 * request fails as undici's own connect timeout does (UND_ERR_CONNECT_TIMEOUT: nothing was sent).
 */
export function timedConnector(
  opts: buildConnector.BuildOptions,
  ms: number,
): buildConnector.connector {
  const base = buildConnector({ ...opts, timeout: 0 });
  return (o, cb) => {
    let settled = false;
    let socket: Socket | undefined;
    // Started before the socket is made: tls.connect builds its secure context (the CA bundle
    // parsed) before it returns, and that time is part of the connect stage.
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      socket?.destroy();
      cb(
        new errors.ConnectTimeoutError(
          `Connect Timeout Error (attempted address: ${o.hostname}:${o.port}, timeout: ${ms}ms)`,
        ),
        null,
      );
    }, ms);
    // The socket is returned to the client, which destroys it when no request waits any more.
    socket = base(o, (err, sock) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) cb(err, null);
      else cb(null, sock as Socket);
    }) as unknown as Socket;
    return socket;
  };
}

export class Endpoint {
  readonly url: string;
  /** `host:port`, as the access line names the endpoint that answered. */
  readonly hostPort: string;
  readonly pool: Pool;
  /** Requests in flight here (least-request balancing). */
  active = 0;
  #failures = 0;
  /** Ejections in a row: each is longer, up to the cap. */
  #ejectedInRow = 0;
  #ejectedUntil = 0;
  #healthy = true;
  #checks = 0;
  #healthTimer: NodeJS.Timeout | undefined;
  readonly #svc: EgressServiceSettings;
  readonly #onEvent: EndpointEvent;

  constructor(
    ep: EndpointSettings,
    svc: EgressServiceSettings,
    tls: TlsMaterial,
    onEvent: EndpointEvent,
    lookup: LookupFunction,
  ) {
    this.url = ep.url;
    this.hostPort = ep.host.includes(':') ? `[${ep.host}]:${ep.port}` : `${ep.host}:${ep.port}`;
    this.#svc = svc;
    this.#onEvent = onEvent;
    const connect: ConnectionOptions = {
      // Each new connection resolves the name through this (dns.lookup unless the wiring gives
      // another): with clientTtl below, that is the re-resolution after `dns_ttl`.
      lookup,
      // Verification is on unless `tls.verify: false` says otherwise; a failed check is a 502.
      rejectUnauthorized: tls.verify,
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.cert ? { cert: tls.cert } : {}),
      ...(tls.key ? { key: tls.key } : {}),
      ...(tls.servername ? { servername: tls.servername } : {}),
    };
    this.pool = new Pool(ep.origin, {
      connect: timedConnector({ ...connect, allowH2: ep.tls }, svc.connectTimeoutMs),
      allowH2: ep.tls,
      // A connection older than the DNS TTL is closed once idle, so the name is resolved again.
      clientTtl: svc.dnsTtlMs,
      keepAliveTimeout: 4000,
      headersTimeout: 0,
      bodyTimeout: svc.perTryTimeoutMs,
    });
    if (svc.health) this.#startHealth(svc.health);
  }

  /** Neither ejected nor failing its health check. */
  available(now: number): boolean {
    return this.#healthy && now >= this.#ejectedUntil;
  }

  /** An attempt's outcome: a 5xx or a failed connection counts toward ejection, else resets it. */
  record(failed: boolean, now: number): void {
    if (!failed) {
      this.#failures = 0;
      if (now >= this.#ejectedUntil) this.#ejectedInRow = 0;
      return;
    }
    if (++this.#failures < this.#svc.outlier.consecutiveFailures || now < this.#ejectedUntil)
      return;
    this.#failures = 0;
    this.#ejectedInRow++;
    const o = this.#svc.outlier;
    const ms = Math.min(o.maxEjectionMs, o.ejectionMs * this.#ejectedInRow);
    this.#ejectedUntil = now + ms;
    this.#onEvent(this, 'ejected', ms);
  }

  #startHealth(h: NonNullable<EgressServiceSettings['health']>): void {
    const check = async (): Promise<void> => {
      let ok = false;
      try {
        const r = await this.pool.request({
          method: 'GET',
          path: h.path,
          signal: AbortSignal.timeout(h.timeoutMs),
        });
        await r.body.dump();
        ok = r.statusCode >= 200 && r.statusCode < 300;
      } catch {
        ok = false;
      }
      // Counts checks in a row with the same result; the state flips at the configured count.
      if (ok === this.#healthy) this.#checks = 0;
      else if (++this.#checks >= (ok ? h.healthy : h.unhealthy)) {
        this.#healthy = ok;
        this.#checks = 0;
        this.#onEvent(this, ok ? 'healthy' : 'unhealthy');
      }
      if (this.#healthTimer) this.#healthTimer = setTimeout(check, h.intervalMs).unref();
    };
    this.#healthTimer = setTimeout(check, 0).unref();
  }

  /** Stops the health check; the pool closes once its requests in flight are done. */
  async close(): Promise<void> {
    clearTimeout(this.#healthTimer);
    this.#healthTimer = undefined;
    await this.pool.close();
  }

  /** Stops at once: requests still in flight fail. */
  async destroy(): Promise<void> {
    clearTimeout(this.#healthTimer);
    this.#healthTimer = undefined;
    await this.pool.destroy();
  }
}
