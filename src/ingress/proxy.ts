import { randomUUID } from 'node:crypto';
import { Agent, type ClientRequest, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode } from '../core/errors.ts';
import type { AccessLog } from '../logs/access-log.ts';
import { failWith, upstreamErrorCode } from './error-status.ts';
import type { Exchange } from './exchange.ts';
import { clientRequestId, downstreamHeaders, upstreamHeaders } from './headers.ts';

/** Where the app listens, as the supervisor reports it. */
export interface Upstream {
  host: string;
  port: number;
}

export interface ProxyDeps {
  /** The app's address while it is ready. Called per request, so it must be cheap. */
  upstream(): Upstream | undefined;
  /** Waits for readiness up to the timeout. */
  whenReady(timeoutMs: number): Promise<Upstream | undefined>;
  /**
   * How long a request may be held, in all, for a not-yet-ready app before a 503; read when a
   * request first has to wait (the Sidecar gives the restart window once the app was ready).
   */
  readonly readyTimeoutMs: number;
  accessLog: AccessLog;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** Sends of one request to the app, counting the first; each retry waits a little longer. */
const MAX_ATTEMPTS = 6;
const RETRY_PAUSE_MS = 25;

/** Forwards client exchanges to the app over pooled keep-alive connections, streaming both ways. */
export class AppProxy {
  readonly #deps: ProxyDeps;
  readonly #agent = new Agent({
    keepAlive: true,
    maxFreeSockets: 256,
    scheduling: 'lifo',
    // Drop idle pooled connections before a typical app's 5 s keep-alive timeout closes them.
    timeout: 4000,
  });

  /** Requests sent to the app and not yet over. */
  #inflight = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(deps: ProxyDeps) {
    this.#deps = deps;
  }

  /** Closes pooled connections to the app. */
  close(): void {
    this.#agent.destroy();
  }

  /**
   * Resolves once no request is in flight to the app (or after `timeoutMs`), then closes the
   * idle pooled connections, so an app about to be stopped has no connection a request could
   * be sent on. Used before a restart, while readiness is false and new requests are held.
   */
  async quiesce(timeoutMs: number): Promise<void> {
    if (this.#inflight > 0) {
      const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      await Promise.race([idle, sleep(timeoutMs, undefined, { ref: false })]);
    }
    for (const list of Object.values(this.#agent.freeSockets)) {
      for (const s of list ?? []) s.destroy();
    }
  }

  #sent(): () => void {
    this.#inflight++;
    let over = false;
    return () => {
      if (over) return;
      over = true;
      if (--this.#inflight === 0) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const w of waiters) w();
      }
    };
  }

  handle(ex: Exchange): void {
    const start = performance.now();
    const requestId = clientRequestId(ex.headers) ?? randomUUID();
    let status = 0;
    let bytes = 0;
    let error: string | undefined;
    ex.onClose((finished) => {
      if (!finished && !error) error = 'client closed the connection';
      this.#deps.accessLog({
        method: ex.method,
        path: ex.path,
        status: finished ? status : status || 499,
        durationMs: performance.now() - start,
        bytes,
        protocol: ex.protocol,
        remote: ex.remote,
        requestId,
        error,
        headers: ex.headers,
      });
    });

    let clientGone = false;
    // One budget for all the waits of this request (first start, restart, retries).
    let holdUntil = 0;
    const hold = (): Promise<Upstream | undefined> => {
      holdUntil ||= performance.now() + this.#deps.readyTimeoutMs;
      return this.#deps.whenReady(Math.max(0, holdUntil - performance.now()));
    };
    ex.onClose(() => {
      clientGone = true;
    });
    const fail = (code: ErrorCode): void => {
      error ??= code;
      status = failWith(ex, code);
    };
    // Sends again once the app is ready; only for a request the app cannot have acted on.
    const retry = async (attempt: number, code: ErrorCode, why: string): Promise<void> => {
      if (attempt >= MAX_ATTEMPTS) {
        error = `${code}: ${why} (after ${attempt} attempts)`;
        status = failWith(ex, code);
        return;
      }
      await sleep(RETRY_PAUSE_MS * attempt);
      const up = this.#deps.upstream() ?? (await hold());
      if (clientGone) return;
      if (up) send(up, attempt);
      else fail(ErrorCode.APP_NOT_READY);
    };

    const send = (up: Upstream, attempt: number): void => {
      const headers = upstreamHeaders(ex.headers, {
        remote: ex.remote,
        host: ex.authority,
        requestId,
      });
      const req: ClientRequest = request({
        host: up.host,
        port: up.port,
        method: ex.method,
        path: ex.path,
        headers,
        agent: this.#agent,
        setHost: false,
      });
      const over = this.#sent();
      req.once('close', over);
      let responded = false;
      // True once a byte of the request may have reached the app; until then any request may
      // be sent again, since the app cannot have seen it.
      let connected = false;
      req.on('response', (res) => {
        responded = true;
        status = res.statusCode ?? 502;
        ex.respond(status, res.statusMessage, downstreamHeaders(res.headers));
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        res.on('error', () => ex.abort());
        res.on('aborted', () => {
          error = 'app aborted the response';
          ex.abort();
        });
        res.pipe(ex.sink);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        over();
        if (responded || clientGone) return;
        // Never connected (the app is restarting or crashed): nothing was sent, so any
        // request, a POST too, is held until the app is ready and sent then.
        // A request that carried no body and changes nothing twice (RFC 9110 §9.2.2) may be
        // sent again after a reset, e.g. on a pooled connection the app closed as we reused it.
        if (!ex.headersSent && (!connected || (!ex.hasBody && IDEMPOTENT.has(ex.method)))) {
          void retry(attempt + 1, upstreamErrorCode(err), err.code ?? err.message);
          return;
        }
        const code = upstreamErrorCode(err);
        error = `${code}: ${err.code ?? err.message}`;
        status = failWith(ex, code);
      });
      ex.onClose((finished) => {
        if (!finished) req.destroy();
      });
      req.once('socket', (socket) => {
        const onConnect = (): void => {
          connected = true;
          // The body is read only once connected, so a refused connection leaves it unread.
          if (ex.hasBody) ex.body.pipe(req);
        };
        if (socket.connecting) socket.once('connect', onConnect);
        else onConnect();
      });
      if (!ex.hasBody) req.end();
    };

    const up = this.#deps.upstream();
    if (up) {
      send(up, 0);
      return;
    }
    hold().then((ready) => {
      if (clientGone) return;
      if (ready) send(ready, 0);
      else fail(ErrorCode.APP_NOT_READY);
    });
  }
}
