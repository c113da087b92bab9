// The egress concern: the local plain-HTTP port through which the app reaches named services
// (TLS, timeouts, retries, balancing, ejection). The app's lifecycle and the logs are not its.
import type { Server } from 'node:http';
import type { LookupFunction, Socket } from 'node:net';
import type { Agent } from 'undici';
import type { EgressSettings } from '../config/settings-egress.ts';
import type { Concern, Prepared } from '../core/concern.ts';
import { ErrorCode, PillionError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { AccessLog } from '../logs/access-log.ts';
import { forward } from './forward.ts';
import { type ProxyDeps, proxyConnect, proxyRequest } from './forward-proxy.ts';
import type { Service, ServiceStats } from './service.ts';

/** undici and the pools load only when the port is on: a Pillion without egress starts as fast as before. */
const load = () => import('./service.ts');

export interface EgressOptions {
  settings: EgressSettings;
  accessLog: AccessLog;
  log: Logger;
  /**
   * How endpoint host names are resolved, once per new connection (`dns_ttl` recycles
   * connections, so a changed answer is used after it). Default `dns.lookup`; a test or an
   * embedder may give its own.
   */
  lookup?: LookupFunction;
}

/** A 400 for what node:http could not parse: nothing of it is sent on. */
const BAD_REQUEST =
  'HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: text/plain\r\nx-pillion-error: PILLION_REQUEST_INVALID\r\ncontent-length: 31\r\n\r\nBad Request: malformed request\n';

export class Egress implements Concern<EgressSettings> {
  readonly name = 'egress';
  #settings: EgressSettings;
  #services: Map<string, Service> = new Map();
  readonly #log: Logger;
  readonly #accessLog: AccessLog;
  readonly #lookup: LookupFunction | undefined;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  #address: { host: string; port: number } | undefined;
  /** Forward-proxy mode's connections to allowed hosts (plain HTTP, keep-alive), once started. */
  #agent: Agent | undefined;

  constructor(o: EgressOptions) {
    this.#settings = o.settings;
    this.#log = o.log;
    this.#accessLog = o.accessLog;
    this.#lookup = o.lookup;
  }

  /** Off unless services or the forward proxy are configured: then no port is taken. */
  get enabled(): boolean {
    return this.#settings.services.length > 0 || this.#settings.forwardProxy !== undefined;
  }

  /** The port is open (it was on at start). */
  get running(): boolean {
    return this.#server !== undefined;
  }

  /** Where the app sends its requests, once started: `http://127.0.0.1:14001`. */
  get url(): string | undefined {
    const a = this.#address;
    if (!a) return undefined;
    return `http://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
  }

  /** The variables the app is started with. */
  env(): Record<string, string> {
    const url = this.url;
    if (!url) return {};
    if (!this.#settings.forwardProxy) return { PILLION_EGRESS_URL: url };
    // Both spellings: curl and Python read the lower-case ones, many others the upper-case.
    // Calls to the egress port itself (PILLION_EGRESS_URL) go direct, not through the proxy.
    const noProxy = process.env.NO_PROXY ?? process.env.no_proxy ?? 'localhost,127.0.0.1,::1';
    return {
      PILLION_EGRESS_URL: url,
      HTTP_PROXY: url,
      HTTPS_PROXY: url,
      http_proxy: url,
      https_proxy: url,
      NO_PROXY: noProxy,
      no_proxy: noProxy,
    };
  }

  async start(): Promise<void> {
    if (!this.enabled) return;
    const { buildServices } = await load();
    this.#services = await buildServices(
      this.#settings.services,
      new Map(),
      this.#log,
      this.#lookup,
    );
    const { Agent } = await import('undici');
    const agent = new Agent({ keepAliveTimeout: 4000 });
    this.#agent = agent;
    const proxy: ProxyDeps = {
      allow: () => this.#settings.forwardProxy?.allow ?? [],
      agent,
      accessLog: this.#accessLog,
    };
    // An ESM import of node:http loads Node's bundled undici (~50 ms of a start): taken here.
    const server = process
      .getBuiltinModule('node:http')
      .createServer({ keepAliveTimeout: 5000 }, (req, res) => {
        const absolute = !(req.url as string).startsWith('/');
        if (absolute && this.#settings.forwardProxy) {
          proxyRequest(req, res, proxy).catch(() => res.destroy());
          return;
        }
        forward(req, res, {
          services: () => this.#services,
          accessLog: this.#accessLog,
          log: this.#log,
        }).catch((err) => {
          this.#log.error('egress request failed unexpectedly', { error: String(err) });
          res.destroy();
        });
      });
    server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end(BAD_REQUEST);
      else socket.destroy();
    });
    // Without the forward proxy a CONNECT is refused and nothing is opened.
    server.on('connect', (req, socket: Socket, head: Buffer) => {
      if (this.#settings.forwardProxy) proxyConnect(req, socket, head, proxy);
      else socket.end(BAD_REQUEST);
    });
    const { host, port } = this.#settings;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new PillionError(
            ErrorCode.LISTEN_FAILED,
            `egress.listen: cannot listen on ${host}:${port} (${err.code}); choose another port or stop what uses it`,
            { cause: err },
          ),
        ),
      );
      server.listen(port, host, () => resolve());
    });
    this.#server = server;
    const a = server.address();
    if (a && typeof a === 'object') this.#address = { host: a.address, port: a.port };
    this.#log.info(`egress port ${this.url}`, {
      url: this.url,
      services: [...this.#services.keys()],
    });
  }

  /** Closes the port; requests in flight finish until the deadline, then are cut. */
  async stop(deadline: AbortSignal): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server) {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      const cut = () => {
        for (const s of this.#sockets) s.destroy();
      };
      deadline.addEventListener('abort', cut, { once: true });
      if (deadline.aborted) cut();
      await closed;
      deadline.removeEventListener('abort', cut);
    }
    await Promise.all([
      this.#agent?.destroy(),
      ...[...this.#services.values()].flatMap((s) => s.endpoints.map((e) => e.destroy())),
    ]);
  }

  /**
   * A reload of `egress.services`: the new set is built (its TLS files read) before anything
   * changes; commit swaps it in, and the old set closes once its requests in flight are done.
   */
  async prepare(next: EgressSettings): Promise<Prepared> {
    if (!this.#server) {
      // Off at start: the port opens at the next start (the app was told no URL).
      return { commit: () => {}, abort: async () => {} };
    }
    const { buildServices } = await load();
    const built = await buildServices(next.services, this.#services, this.#log, this.#lookup);
    return {
      commit: () => {
        const old = this.#services;
        this.#services = built;
        const { forwardProxy } = next;
        this.#settings = {
          ...this.#settings,
          services: next.services,
          ...(forwardProxy ? { forwardProxy } : {}),
        };
        for (const s of old.values()) for (const e of s.endpoints) void e.close().catch(() => {});
      },
      abort: async () => {
        await Promise.all([...built.values()].flatMap((s) => s.endpoints.map((e) => e.destroy())));
      },
    };
  }

  /** Per-service counters for the metrics concern: requests, latency, retries, timeouts, ejections, connections. */
  stats(): Record<string, ServiceStats> {
    const out: Record<string, ServiceStats> = {};
    for (const [name, s] of this.#services)
      out[name] = { ...s.stats, openConnections: s.openConnections() };
    return out;
  }
}
