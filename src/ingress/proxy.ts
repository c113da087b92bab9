import { randomUUID } from 'node:crypto';
import { Agent, type ClientRequest, request } from 'node:http';
import { performance } from 'node:perf_hooks';
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
  /** How long a request waits for a not-yet-ready app before a 503. */
  readyTimeoutMs: number;
  accessLog: AccessLog;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

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

  constructor(deps: ProxyDeps) {
    this.#deps = deps;
  }

  /** Closes pooled connections to the app. */
  close(): void {
    this.#agent.destroy();
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
      let responded = false;
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
        if (responded) return;
        // A pooled connection the app closed just as we reused it: safe to resend a request
        // that carried no body and changes nothing twice (RFC 9110 §9.2.2).
        if (
          attempt === 0 &&
          req.reusedSocket &&
          !ex.hasBody &&
          IDEMPOTENT.has(ex.method) &&
          !ex.headersSent
        ) {
          send(up, 1);
          return;
        }
        const code = upstreamErrorCode(err);
        error = `${code}: ${err.code ?? err.message}`;
        status = failWith(ex, code);
      });
      ex.onClose((finished) => {
        if (!finished) req.destroy();
      });
      if (ex.hasBody) ex.body.pipe(req);
      else req.end();
    };

    const up = this.#deps.upstream();
    if (up) {
      send(up, 0);
      return;
    }
    this.#deps.whenReady(this.#deps.readyTimeoutMs).then((ready) => {
      if (ready) send(ready, 0);
      else {
        error = ErrorCode.APP_NOT_READY;
        status = failWith(ex, ErrorCode.APP_NOT_READY);
      }
    });
  }
}
