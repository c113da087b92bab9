// The admin listener (health, /metrics and the token-guarded JSON API under /api/v1/) and the
// plain probe listener (health and /metrics only). What the endpoints report and do comes
// from functions the Sidecar passes in; this file owns binding, auth and the HTTP surface.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Concern } from '../core/concern.ts';
import { ErrorCode, PillionError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { type Bound, bind, formatBound, parseListen } from './admin-listen.ts';
import { type AdminToken, adminToken, bearerOf, sameSecret } from './admin-token.ts';

/** A log line as the API serves it. */
export type LogLineObject = Record<string, unknown>;

export interface AdminOptions {
  /** `HOST:PORT` or `unix:/path`. */
  listen: string;
  /** False for the default address: when it is taken, run without the admin listener. */
  explicit: boolean;
  /** The probe listener, `HOST:PORT`; none when absent. */
  probes?: string;
  tokenFile?: string;
  stateDir: string;
  tls?: { cert: string; key: string };
  log: Logger;
  /** Pillion and the app ready, and no drain begun; the reason when not. */
  ready: () => { ready: boolean; reason: string | null };
  metrics: (accept: string | undefined) => Promise<{ type: string; body: string }>;
  status: () => unknown;
  stats: () => unknown | Promise<unknown>;
  /** The effective config, secrets redacted. */
  config: () => unknown;
  logs?: {
    recent(n: number): LogLineObject[];
    subscribe(fn: (line: LogLineObject) => void): () => void;
  };
  /** Restarts the app (requests held); resolves with what to answer. */
  restart: () => Promise<ActionResult>;
  /** Begins Pillion's drain and stop, as SIGTERM does. */
  drain: () => ActionResult;
  /** Re-reads the config file as one reload transaction. */
  reload: () => Promise<ActionResult>;
  /**
   * The dashboard's page and assets (no token: they hold no data), to come; undefined, at once,
   * for other paths.
   */
  page?: (path: string, ifNoneMatch: string | undefined) => Promise<PageAnswer> | undefined;
}

/** A dashboard page or asset as the admin listener sends it. */
export interface PageAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** An action's answer: its HTTP status and JSON body. */
export interface ActionResult {
  status: number;
  body: Record<string, unknown>;
}

/** Idle event streams get a comment line this often, so proxies and clients keep them. */
const HEARTBEAT_MS = 15_000;
const MAX_LOG_LINES = 5000;
/** Bytes a log stream may have queued for a slow reader before it is closed. */
const MAX_STREAM_BUFFER = 1 << 20;
const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export class AdminServer implements Concern {
  readonly name = 'admin';
  readonly #opts: AdminOptions;
  /** Asked of every POST beside the token: `GET /api/v1/csrf` hands it to the page. */
  readonly #csrf = randomBytes(24).toString('base64url');
  #token: AdminToken | undefined;
  #admin: Server | undefined;
  #probes: Server | undefined;
  #adminAt: Bound | undefined;
  #probesAt: Bound | undefined;
  /** The Host values the admin listener answers to (DNS rebinding). */
  #hosts = new Set<string>();
  readonly #streams = new Set<ServerResponse>();
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(opts: AdminOptions) {
    this.#opts = opts;
  }

  /** Where the admin listener is bound (`127.0.0.1:PORT`, `unix:/path`); undefined when off. */
  get address(): string | undefined {
    return this.#adminAt && formatBound(this.#adminAt);
  }

  /** Where the probe listener is bound; undefined when off. */
  get probesAddress(): string | undefined {
    return this.#probesAt && formatBound(this.#probesAt);
  }

  /** The file holding the admin token, once started with an admin listener. */
  get tokenFile(): string | undefined {
    return this.#admin ? this.#token?.file : undefined;
  }

  async start(): Promise<void> {
    const o = this.#opts;
    const admin = this.#server((req, res) => this.#handleAdmin(req, res), o.tls);
    try {
      this.#adminAt = await bind(admin, o.listen);
      this.#admin = admin;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (!o.explicit && e.code === 'EADDRINUSE') {
        o.log.warn('the default admin address is taken: running without the admin listener', {
          admin: o.listen,
          hint: 'set admin.listen or --admin to another address (127.0.0.1:0 for any free port)',
        });
      } else throw listenFailed('admin.listen', o.listen, e);
    }
    if (this.#admin) {
      this.#token = adminToken(o.tokenFile, o.stateDir);
      this.#hosts = allowedHosts(this.#adminAt as Bound, o.listen);
    }
    if (o.probes !== undefined) {
      const probes = this.#server((req, res) => this.#handleProbe(req, res));
      try {
        this.#probesAt = await bind(probes, o.probes);
        this.#probes = probes;
      } catch (err) {
        await this.#close(this.#admin);
        this.#admin = undefined;
        throw listenFailed('admin.probes', o.probes, err as NodeJS.ErrnoException);
      }
    }
    this.#heartbeat = setInterval(() => {
      for (const s of this.#streams) s.write(': keep-alive\n\n');
    }, HEARTBEAT_MS);
    this.#heartbeat.unref();
    if (this.#admin || this.#probes)
      o.log.info('admin listening', {
        ...(this.address ? { admin: this.address, token_file: this.tokenFile } : {}),
        ...(this.probesAddress ? { probes: this.probesAddress } : {}),
      });
  }

  async stop(_deadline: AbortSignal): Promise<void> {
    clearInterval(this.#heartbeat);
    for (const s of this.#streams) s.end();
    this.#streams.clear();
    await Promise.all([this.#close(this.#admin), this.#close(this.#probes)]);
  }

  #server(
    handle: (req: IncomingMessage, res: ServerResponse) => void,
    tls?: { cert: string; key: string },
  ): Server {
    const h = (req: IncomingMessage, res: ServerResponse): void => {
      try {
        handle(req, res);
      } catch (err) {
        fail(res, 500, 'PILLION_INTERNAL', (err as Error).message);
      }
    };
    const server = tls
      ? process
          .getBuiltinModule('node:https')
          .createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, h)
      : // An ESM import of node:http loads Node's bundled undici (~50 ms of a start): taken here.
        process.getBuiltinModule('node:http').createServer(h);
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    return server as Server;
  }

  #close(server: Server | undefined): Promise<void> {
    if (!server) return Promise.resolve();
    return new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** /healthz, /readyz and /metrics: the probe listener's whole surface, and no token. */
  #public(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (path !== '/healthz' && path !== '/readyz' && path !== '/metrics') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      fail(res, 405, ErrorCode.ADMIN_METHOD_NOT_ALLOWED, `${path} answers GET`, {
        allow: 'GET, HEAD',
      });
      return true;
    }
    if (path === '/healthz') send(res, 200, { status: 'ok' });
    else if (path === '/readyz') {
      const r = this.#opts.ready();
      send(res, r.ready ? 200 : 503, { ready: r.ready, reason: r.reason });
    } else {
      this.#opts.metrics(req.headers.accept).then(
        ({ type, body }) => {
          res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : body);
        },
        (err: Error) => fail(res, 500, 'PILLION_INTERNAL', err.message),
      );
    }
    return true;
  }

  #handleProbe(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    if (!this.#public(req, res, pathOf(req.url)))
      fail(
        res,
        404,
        ErrorCode.ADMIN_NOT_FOUND,
        'the probe listener serves /healthz, /readyz and /metrics',
      );
  }

  #handleAdmin(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const host = req.headers.host;
    if (host === undefined || !this.#hosts.has(host.toLowerCase())) {
      fail(
        res,
        421,
        ErrorCode.ADMIN_HOST_REFUSED,
        'the admin listener answers only to localhost, 127.0.0.1 or [::1] with its port',
      );
      return;
    }
    // Only origin-form targets name an endpoint: `//x/api/v1/status` is the path `//x/…`, not a
    // URL with the host x, and an absolute-form or `*` target names none.
    const target = req.url ?? '/';
    if (!target.startsWith('/')) {
      fail(
        res,
        404,
        ErrorCode.ADMIN_NOT_FOUND,
        'the admin listener takes origin-form targets (/path)',
      );
      return;
    }
    const url = new URL(`http://admin${target}`);
    if (this.#public(req, res, url.pathname)) return;
    const page =
      req.method === 'GET' || req.method === 'HEAD'
        ? this.#opts.page?.(url.pathname, req.headers['if-none-match'])
        : undefined;
    if (page) {
      page.then(
        (a) => {
          res.writeHead(a.status, a.headers);
          res.end(req.method === 'HEAD' ? undefined : a.body);
        },
        (err: Error) => fail(res, 500, 'PILLION_INTERNAL', err.message),
      );
      return;
    }
    const given = bearerOf(req.headers.authorization);
    if (given === undefined || !sameSecret(given, (this.#token as AdminToken).token)) {
      fail(
        res,
        401,
        ErrorCode.ADMIN_UNAUTHORIZED,
        'send the admin token as Authorization: Bearer TOKEN',
        {
          'www-authenticate': 'Bearer realm="pillion"',
        },
      );
      return;
    }
    this.#api(req, res, url);
  }

  /** The token-guarded API: reads over GET, actions over POST with the CSRF header. */
  #api(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const o = this.#opts;
    const path = url.pathname;
    const reads: Record<string, () => void> = {
      '/api/v1/status': () => send(res, 200, o.status()),
      '/api/v1/stats': () => {
        Promise.resolve()
          .then(o.stats)
          .then(
            (v) => send(res, 200, v),
            (err: Error) => fail(res, 500, 'PILLION_INTERNAL', err.message),
          );
      },
      '/api/v1/config': () => send(res, 200, o.config()),
      '/api/v1/csrf': () => send(res, 200, { csrf: this.#csrf }),
      '/api/v1/logs': () => {
        const n = Number(url.searchParams.get('n') ?? 200);
        const count = Number.isInteger(n) && n > 0 ? Math.min(n, MAX_LOG_LINES) : 200;
        send(res, 200, o.logs?.recent(count) ?? []);
      },
      '/api/v1/logs/stream': () => this.#stream(req, res),
    };
    const actions: Record<string, () => Promise<ActionResult> | ActionResult> = {
      '/api/v1/restart': o.restart,
      '/api/v1/drain': o.drain,
      '/api/v1/reload': o.reload,
    };
    if (Object.hasOwn(reads, path)) {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        fail(res, 405, ErrorCode.ADMIN_METHOD_NOT_ALLOWED, `${path} answers GET`, { allow: 'GET' });
      else reads[path]();
      return;
    }
    if (Object.hasOwn(actions, path)) {
      // No state changes over GET; and a POST needs the CSRF token too, which a page of
      // another origin cannot read (no CORS headers are ever sent) nor send (a custom header).
      if (req.method !== 'POST') {
        fail(res, 405, ErrorCode.ADMIN_METHOD_NOT_ALLOWED, `${path} takes POST`, { allow: 'POST' });
        return;
      }
      const csrf = req.headers['x-pillion-csrf'];
      if (typeof csrf !== 'string' || !sameSecret(csrf, this.#csrf)) {
        fail(
          res,
          403,
          ErrorCode.ADMIN_FORBIDDEN,
          'send X-Pillion-CSRF with the value of GET /api/v1/csrf',
        );
        return;
      }
      o.log.info('admin action', { action: path.slice('/api/v1/'.length) });
      Promise.resolve()
        .then(actions[path])
        .then(
          (r) => send(res, r.status, r.body),
          (err: Error) => fail(res, 500, 'PILLION_INTERNAL', err.message),
        );
      return;
    }
    fail(res, 404, ErrorCode.ADMIN_NOT_FOUND, `no such admin endpoint: ${path.slice(0, 100)}`);
  }

  /** Server-Sent Events: one `data:` JSON line per new log line, until the client leaves. */
  #stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    // A HEAD has no body to stream, and Node sends no head for a write() to it: ended here.
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.write(': pillion log stream\n\n');
    this.#streams.add(res);
    const off = this.#opts.logs?.subscribe((line) => {
      // A reader that does not keep up is let go rather than buffered without bound.
      if (res.writableLength > MAX_STREAM_BUFFER) res.destroy();
      else res.write(`data: ${JSON.stringify(line)}\n\n`);
    });
    res.once('close', () => {
      off?.();
      this.#streams.delete(res);
    });
  }
}

/** `Host` values the admin listener answers to: loopback names with its port, or its configured host. */
function allowedHosts(at: Bound, listen: string): Set<string> {
  const names = ['localhost', '127.0.0.1', '[::1]'];
  if ('path' in at) return new Set(names);
  const hosts = new Set(names.map((n) => `${n}:${at.port}`));
  const asked = parseListen(listen);
  if ('host' in asked && asked.host !== '0.0.0.0' && asked.host !== '::') {
    const h = asked.host.includes(':') ? `[${asked.host}]` : asked.host;
    hosts.add(`${h.toLowerCase()}:${at.port}`);
  }
  return hosts;
}

function listenFailed(field: string, listen: string, err: NodeJS.ErrnoException): PillionError {
  const why =
    err.code === 'EADDRINUSE'
      ? 'address already in use'
      : err.code === 'EACCES'
        ? 'permission denied'
        : err.message;
  return new PillionError(
    ErrorCode.LISTEN_FAILED,
    `${field}: cannot listen on ${listen}: ${why} (${err.code}); choose another address`,
    { cause: err },
  );
}

function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q === -1 ? u : u.slice(0, q);
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  extra?: Record<string, string>,
): void {
  if (res.headersSent) return;
  res.writeHead(status, { ...JSON_HEADERS, ...extra });
  res.end(`${JSON.stringify(body)}\n`);
}

function fail(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra?: Record<string, string>,
): void {
  send(res, status, { error: { code, message } }, extra);
}
