import { randomUUID } from 'node:crypto';
import { Agent, type ClientRequest, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, PillionError } from '../core/errors.ts';
import type { AccessLog } from '../logs/access-log.ts';
import { BUFFER_BYTES, type Buffered, bufferBody } from './body-buffer.ts';
import { BodyPace } from './body-pace.ts';
import { failWith, upstreamErrorCode } from './error-status.ts';
import type { Exchange } from './exchange.ts';
import { clientRequestId, downstreamHeaders, upstreamHeaders } from './headers.ts';
import { type EdgeLimits, resolveLimits } from './limits.ts';
import { checkResponse } from './response-check.ts';

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
  /** Why the app is not ready (its last exit, the next start), said in the 503's text. */
  notReadyReason?(): string | undefined;
  accessLog: AccessLog;
  /** Limits and timeouts over the defaults (docs/edge.md). */
  limits?: Partial<EdgeLimits>;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** Sends of one request to the app, counting the first; each retry waits a little longer. */
const MAX_ATTEMPTS = 6;
const RETRY_PAUSE_MS = 25;

/** Forwards client exchanges to the app over pooled keep-alive connections, streaming both ways. */
export class AppProxy {
  readonly #deps: ProxyDeps;
  readonly #limits: EdgeLimits;
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
    this.#limits = resolveLimits(deps.limits);
  }

  /** Closes pooled connections to the app. */
  close(): void {
    this.#agent.destroy();
  }

  /** Requests sent to the app whose exchange has not ended yet. */
  get inflight(): number {
    return this.#inflight;
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

  /** Forwards the exchange to the app, or (with `refused`) answers it with that error alone. */
  handle(ex: Exchange, refused?: ErrorCode): void {
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

    const refuse = (code: ErrorCode): void => {
      if (error) return;
      error = code;
      const why = code === ErrorCode.APP_NOT_READY ? this.#deps.notReadyReason?.() : undefined;
      status = failWith(ex, code, why);
    };
    if (refused) {
      refuse(refused);
      return;
    }

    let clientGone = false;
    // The attempt in flight; a client gone before its response ended cancels it.
    let live: ClientRequest | undefined;
    ex.onClose((finished) => {
      clientGone = true;
      if (!finished) live?.destroy();
    });
    // One budget for all the waits of this request (first start, restart, retries).
    let holdUntil = 0;
    const hold = (): Promise<Upstream | undefined> => {
      holdUntil ||= performance.now() + this.#deps.readyTimeoutMs;
      return this.#deps.whenReady(Math.max(0, holdUntil - performance.now()));
    };
    type Head = Buffered & { ok: true };
    // Sends again once the app is ready; only for a request the app cannot have acted on.
    const retry = async (attempt: number, code: ErrorCode, why: string, head?: Head) => {
      if (attempt >= MAX_ATTEMPTS) {
        error = `${code}: ${why} (after ${attempt} attempts)`;
        status = failWith(ex, code);
        return;
      }
      await sleep(RETRY_PAUSE_MS * attempt);
      const up = this.#deps.upstream() ?? (await hold());
      if (clientGone) return;
      if (up) send(up, attempt, head);
      else refuse(ErrorCode.APP_NOT_READY);
    };

    const lim = this.#limits;
    const send = (up: Upstream, attempt: number, head?: Head): void => {
      const headers = upstreamHeaders(ex.headers, {
        remote: ex.remote,
        host: ex.authority,
        requestId,
        forwardedFor: lim.forwardedFor,
      });
      // A body without a length is sent with the exact length when it was read whole, else
      // re-framed as chunked whatever the method, so the app can never read it as the start of
      // another request (a GET with a body included).
      if (head?.complete) headers['content-length'] = head.size;
      else if (ex.hasBody && headers['content-length'] === undefined)
        headers['transfer-encoding'] = 'chunked';
      let req: ClientRequest;
      try {
        req = request({
          host: up.host,
          port: up.port,
          method: ex.method,
          path: ex.path,
          headers,
          agent: this.#agent,
          setHost: false,
        });
      } catch {
        // Node refuses a control byte in a target or field value; nothing was sent.
        refuse(ErrorCode.REQUEST_INVALID);
        return;
      }
      const over = this.#sent();
      req.once('close', over);
      let responded = false;
      // This attempt failed after its head arrived: the deferred head must not be sent.
      let failed = false;
      let gotHead = false;
      // True once a byte of the request may have reached the app; until then any request may
      // be sent again, since the app cannot have seen it.
      let connected = false;
      req.setTimeout(lim.upstreamTimeoutMs, () =>
        req.destroy(new PillionError(ErrorCode.APP_TIMEOUT, 'the app sent nothing in time')),
      );
      req.on('response', (res) => {
        gotHead = true;
        const wrong = checkResponse(res);
        if (wrong) {
          res.socket.destroy();
          refuse(ErrorCode.APP_BAD_RESPONSE);
          return;
        }
        // The head is passed on after the bytes that came with it were parsed, so a malformed
        // body in the same read still becomes a 502 rather than a broken 200.
        setImmediate(() => {
          if (error || failed) return;
          responded = true;
          status = res.statusCode ?? 502;
          ex.respond(status, res.statusMessage, downstreamHeaders(res.headers));
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
          });
          // The client's response ends only when the app's did, whole; a response cut short
          // (the app closed, or stalled past the upstream timeout) is aborted, never ended, so
          // it cannot pass for complete (an HTTP/2 END_STREAM, a chunked last-chunk).
          const cut = (): void => {
            if (res.complete) return;
            error ??= 'app response cut short';
            ex.abort();
          };
          res.on('error', cut);
          res.on('close', cut);
          res.on('end', () => {
            if (res.complete) ex.sink.end();
            else cut();
          });
          res.pipe(ex.sink, { end: false });
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        over();
        failed = true;
        if (responded) {
          if (!error) error = `${upstreamErrorCode(err)}: ${err.code ?? err.message}`;
          ex.abort();
          return;
        }
        if (error || clientGone) return;
        const code = upstreamErrorCode(err);
        // Never connected (the app is restarting or crashed): nothing was sent, so any
        // request, a POST too, is held until the app is ready and sent then. A request that
        // carried no body and changes nothing twice (RFC 9110 §9.2.2) may be sent again after
        // a reset, e.g. on a pooled connection the app closed as we reused it. Not after the
        // app answered or went silent: it may have acted on the request.
        if (
          !gotHead &&
          code !== ErrorCode.APP_TIMEOUT &&
          code !== ErrorCode.APP_BAD_RESPONSE &&
          !ex.headersSent &&
          (!connected || (!ex.hasBody && IDEMPOTENT.has(ex.method)))
        ) {
          void retry(attempt + 1, code, err.code ?? err.message, head);
          return;
        }
        error = `${code}: ${err.code ?? err.message}`;
        status = failWith(ex, code);
      });
      live = req;
      req.once('socket', (socket) => {
        const onConnect = (): void => {
          connected = true;
          // A streamed body is read only once connected, so a refused connection leaves it
          // unread for the next attempt.
          if (head?.complete || !ex.hasBody) return;
          if (head) {
            for (const c of head.chunks) req.write(c);
            this.#pipeBody(ex, req, refuse, head.size);
          } else this.#pipeBody(ex, req, refuse, 0);
        };
        if (socket.connecting) socket.once('connect', onConnect);
        else onConnect();
      });
      // A body read whole stays in memory, so it can be sent at once and again on a retry.
      if (head?.complete) req.end(Buffer.concat(head.chunks, head.size));
      else if (!ex.hasBody) req.end();
    };
    const begin = (up: Upstream): void => {
      // HTTP/2 checks content-length against the DATA only at END_STREAM (RFC 9113 §8.1.1),
      // so a short declared body is read whole first too: a mismatch never reaches the app.
      const declared = ex.headers['content-length'];
      const buffer =
        ex.hasBody &&
        (declared === undefined || (ex.protocol === 'HTTP/2' && Number(declared) <= BUFFER_BYTES));
      if (!buffer) {
        send(up, 0);
        return;
      }
      bufferBody(ex.body, BUFFER_BYTES, this.#pace(), lim.maxBodyBytes).then((b) => {
        if (b.ok) send(up, 0, b);
        else if (b.code) refuse(b.code);
        else error ??= 'client request body ended early';
      });
    };

    if (ex.hasBody && Number(ex.headers['content-length'] ?? 0) > lim.maxBodyBytes) {
      refuse(ErrorCode.BODY_TOO_LARGE);
      return;
    }
    const up = this.#deps.upstream();
    if (up && ex.protocol === 'HTTP/2') {
      // A RST_STREAM read in the same batch as its HEADERS closes the stream after this turn:
      // wait one turn, so a reset stream never starts a request to the app (Rapid Reset).
      let gone = false;
      ex.onClose(() => {
        gone = true;
      });
      setImmediate(() => {
        if (!gone) begin(up);
      });
      return;
    }
    if (up) {
      begin(up);
      return;
    }
    hold().then((ready) => {
      if (clientGone) return;
      if (ready) begin(ready);
      else refuse(ErrorCode.APP_NOT_READY);
    });
  }

  /** The body's pace rule: at least bodyMinBytes in each bodyIdleTimeoutMs window. */
  #pace(): { windowMs: number; minBytes: number } {
    return { windowMs: this.#limits.bodyIdleTimeoutMs, minBytes: this.#limits.bodyMinBytes };
  }

  /** Streams the request body to the app, enforcing the body size limit and pace. */
  #pipeBody(
    ex: Exchange,
    req: ClientRequest,
    refuse: (code: ErrorCode) => void,
    already: number,
  ): void {
    const lim = this.#limits;
    let received = already;
    const { windowMs, minBytes } = this.#pace();
    const watch = new BodyPace(windowMs, minBytes, () => stop(ErrorCode.REQUEST_TIMEOUT));
    const stop = (code: ErrorCode): void => {
      watch.stop();
      ex.body.unpipe(req);
      refuse(code);
      req.destroy();
    };
    ex.body.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > lim.maxBodyBytes) stop(ErrorCode.BODY_TOO_LARGE);
      else watch.add(chunk.length);
    });
    ex.body.once('end', () => watch.stop());
    ex.onClose(() => watch.stop());
    ex.body.pipe(req);
  }
}
