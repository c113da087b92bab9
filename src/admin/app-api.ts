// The app's config and secrets API: a loopback (or Unix-socket) HTTP endpoint that serves
// `app.config`, the app's secrets and a stream of change events, to the app alone.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { rmSync } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { SecretRef } from '../config/schema.ts';
import type { Concern, Prepared } from '../core/concern.ts';
import { ErrorCode, PillionError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { SecretStore } from './secret-store.ts';

export interface AppApiOptions {
  /** `127.0.0.1:PORT` (0: any free port), `[::1]:PORT`, `localhost:PORT` or `unix:/path`. */
  listen: string;
  config: unknown;
  secrets: Record<string, SecretRef>;
  /** Where `env` secrets are read from: Pillion's environment. */
  env: NodeJS.ProcessEnv;
  log: Logger;
}

/** A comment line on idle event streams, so idle-timeout proxies and clients keep them. */
const HEARTBEAT_MS = 15_000;
/** Request headers that mean the request was relayed: the API answers the app, not a proxy. */
const PROXIED = ['x-forwarded-for', 'via', 'forwarded'];

export class AppApi implements Concern {
  readonly name = 'app-api';
  readonly #opts: AppApiOptions;
  readonly #token = randomBytes(32).toString('base64url');
  readonly #tokenHash = sha256(this.#token);
  readonly #secrets: SecretStore;
  #server: Server | undefined;
  #url = '';
  #config: string;
  #refs: Record<string, SecretRef>;
  #version = 1;
  #streams = new Set<ServerResponse>();
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(opts: AppApiOptions) {
    this.#opts = opts;
    this.#config = JSON.stringify(opts.config ?? null);
    this.#refs = opts.secrets;
    this.#secrets = new SecretStore(opts.env, (name) => this.#emit('secret', { name }));
  }

  /** What the app gets in its environment to reach this API. */
  env(): Record<string, string> {
    return { PILLION_API_URL: this.#url, PILLION_API_TOKEN: this.#token };
  }

  get version(): number {
    return this.#version;
  }

  async start(): Promise<void> {
    await this.#secrets.init(this.#opts.secrets);
    // An ESM import of node:http loads Node's bundled undici (~50 ms of a start): taken here.
    const server = process
      .getBuiltinModule('node:http')
      .createServer((req, res) => this.#handle(req, res));
    this.#server = server;
    const { listen } = this.#opts;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new PillionError(
            ErrorCode.LISTEN_FAILED,
            `app.api.listen: the config API cannot listen on ${listen} (${err.code ?? err.message}); choose another address`,
            { cause: err },
          ),
        ),
      );
      if (listen.startsWith('unix:')) {
        const path = listen.slice(5);
        rmSync(path, { force: true });
        server.listen(path, () => resolve());
      } else {
        const i = listen.lastIndexOf(':');
        const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
        server.listen(Number(listen.slice(i + 1)), host, () => resolve());
      }
    });
    const addr = server.address();
    this.#url =
      typeof addr === 'string'
        ? `unix:${addr}`
        : `http://${addr?.family === 'IPv6' ? `[${addr.address}]` : addr?.address}:${addr?.port}`;
    this.#heartbeat = setInterval(() => {
      for (const s of this.#streams) s.write(': keep-alive\n\n');
    }, HEARTBEAT_MS);
    this.#heartbeat.unref();
    this.#opts.log.info('config API listening', { url: this.#url });
  }

  async stop(_deadline: AbortSignal): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#secrets.close();
    for (const s of this.#streams) s.end();
    this.#streams.clear();
    const server = this.#server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /**
   * Phase one of a reload of `app.config` and `app.secrets`: a secret whose source changed and
   * cannot be read now refuses the reload, and the running secrets stay. Commit applies both.
   */
  async prepare(next: { config: unknown; secrets: Record<string, SecretRef> }): Promise<Prepared> {
    for (const [name, ref] of Object.entries(next.secrets)) {
      if (JSON.stringify(this.#refs[name]) === JSON.stringify(ref)) continue;
      const ok =
        ref.file !== undefined
          ? await access(ref.file, constants.R_OK).then(
              () => true,
              () => false,
            )
          : this.#opts.env[ref.env as string] !== undefined;
      if (!ok) {
        throw new PillionError(
          ErrorCode.SECRET_UNREADABLE,
          `app.secrets.${name}: its ${ref.file !== undefined ? 'file cannot be read' : 'variable is not set'} now; the running secrets stay`,
        );
      }
    }
    return {
      commit: () => void this.update(next.config, next.secrets),
      abort: async () => {},
    };
  }

  /** Applies a reloaded `app.config` and `app.secrets`; watchers hear of what changed. */
  async update(config: unknown, secrets: Record<string, SecretRef>): Promise<void> {
    this.#refs = secrets;
    const next = JSON.stringify(config ?? null);
    if (next !== this.#config) {
      this.#config = next;
      this.#emit('config', {});
    }
    await this.#secrets.set(secrets);
  }

  #emit(event: 'config' | 'secret', data: Record<string, unknown>): void {
    this.#version++;
    const line = `event: ${event}\ndata: ${JSON.stringify({ ...data, version: this.#version })}\n\n`;
    for (const s of this.#streams) s.write(line);
    this.#opts.log.info(event === 'config' ? 'app config changed' : 'secret changed', {
      ...data,
      version: this.#version,
    });
  }

  #refuse(res: ServerResponse, status: number, why: string, fields: Record<string, unknown>): void {
    this.#opts.log.warn('config API request refused', { status, reason: why, ...fields });
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`${why}\n`);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('cache-control', 'no-store');
    const url = new URL(req.url ?? '/', 'http://api');
    const path = url.pathname;
    const fields = { method: req.method, path };
    const relayed = PROXIED.find((h) => req.headers[h] !== undefined);
    if (relayed)
      return this.#refuse(
        res,
        403,
        `refused: the request carries ${relayed} (relayed requests are not served)`,
        fields,
      );
    if (url.search !== '') {
      // A token in a URL ends up in logs and histories; a query is refused whatever it holds.
      const leaked = [...url.searchParams.values()].some((v) => sha256(v).equals(this.#tokenHash));
      if (leaked)
        this.#opts.log.warn('the config API token was sent in a URL query; it may be in logs now');
      return this.#refuse(
        res,
        400,
        'refused: no query string; the token goes in the Authorization header',
        fields,
      );
    }
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(auth);
    if (!m || !timingSafeEqual(sha256(m[1]), this.#tokenHash))
      return this.#refuse(
        res,
        401,
        'refused: missing or wrong token (Authorization: Bearer $PILLION_API_TOKEN)',
        fields,
      );
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      return this.#refuse(res, 405, 'only GET', fields);
    }
    if (path === '/v1/config') {
      this.#opts.log.info('app config read', { version: this.#version });
      res.writeHead(200, {
        'content-type': 'application/json',
        'pillion-version': String(this.#version),
      });
      res.end(this.#config);
      return;
    }
    if (path.startsWith('/v1/secrets/')) {
      const name = decodeURIComponent(path.slice('/v1/secrets/'.length));
      if (!this.#secrets.has(name)) return this.#refuse(res, 404, 'no such secret', { name });
      const value = await this.#secrets.read(name);
      const from = this.#secrets.sourceOf(name);
      if (value === undefined) {
        this.#opts.log.error('secret unreadable', { name, from });
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('the secret cannot be read now\n');
        return;
      }
      // The value is never logged: only which secret was read and where it came from.
      this.#opts.log.info('secret read', { name, from });
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(value);
      return;
    }
    if (path === '/v1/watch') {
      res.writeHead(200, { 'content-type': 'text/event-stream', connection: 'keep-alive' });
      res.write(`event: hello\ndata: ${JSON.stringify({ version: this.#version })}\n\n`);
      this.#streams.add(res);
      res.on('close', () => this.#streams.delete(res));
      return;
    }
    return this.#refuse(
      res,
      404,
      'not found: GET /v1/config, /v1/secrets/NAME or /v1/watch',
      fields,
    );
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
