import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ErrorCode } from '../core/errors.ts';
import { ErrorCode as Codes } from '../core/errors.ts';
import { clientRequestId } from '../http/headers.ts';
import { newRequestId } from '../http/trace.ts';
import type { AccessEntry, AccessLog } from '../logs/access-log.ts';
import { BUFFER_BYTES, type Buffered, bufferBody } from './body-buffer.ts';
import { BodyPace } from './body-pace.ts';
import { failWith } from './error-status.ts';
import type { Exchange } from './exchange.ts';
import { field, upstreamHead } from './head.ts';
import { type EdgeLimits, resolveLimits } from './limits.ts';
import { type LiveMember, LiveSet } from './live-set.ts';
import {
  type ResponseSink,
  type Upstream,
  type UpstreamConn,
  UpstreamPool,
} from './upstream-pool.ts';

export type { Upstream } from './upstream-pool.ts';

export interface ProxyDeps {
  /** The app's address while it is ready. Called per request, so it must be cheap. */
  upstream(): Upstream | undefined;
  /** Waits for readiness up to the timeout. */
  whenReady(timeoutMs: number): Promise<Upstream | undefined>;
  /** How long a request waits for a not-yet-ready app before a 503. */
  readyTimeoutMs: number;
  accessLog: AccessLog;
  /** Limits and timeouts over the defaults (docs/edge.md). */
  limits?: Partial<EdgeLimits>;
  /** Why the app is not ready (a crash loop, a failing health check), for the 503's body. */
  notReadyReason?(): string | undefined;
  /**
   * W3C trace context, when on: given the client's traceparent and tracestate, the request's
   * trace (Pillion's span) and the header the app gets. Absent: the fields pass untouched.
   */
  trace?: TraceStart;
}

/** One request's trace, as the metrics concern makes it (metrics/trace-context.ts). */
export interface ProxyTrace {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  header: string;
  tracestate: string | undefined;
}

export type TraceStart = (
  traceparent: string | undefined,
  tracestate: string | undefined,
) => ProxyTrace;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** Sends of one request to the app, counting the first; each retry waits a little longer. */
const MAX_ATTEMPTS = 6;
const RETRY_PAUSE_MS = 25;
const LAST_CHUNK = '0\r\n\r\n';

/** Forwards client exchanges to the app over pooled keep-alive connections, streaming both ways. */
export class AppProxy {
  readonly deps: ProxyDeps;
  /** Read per request, so a reload's new limits apply to the requests that follow it. */
  limits: EdgeLimits;
  readonly pool: UpstreamPool;
  /** Exchanges not yet over, so drain can cut them at its deadline. */
  readonly live = new LiveSet<Forward>();
  /** Requests sent to the app and not yet over. */
  #inflight = 0;
  #idleWaiters: (() => void)[] = [];
  /** HTTP/2 exchanges read in this turn, started on the next (nextTurn). */
  #waiting: Forward[] = [];
  readonly #turn = (): void => {
    const list = this.#waiting;
    this.#waiting = [];
    for (const f of list) f.turn();
  };

  constructor(deps: ProxyDeps) {
    this.deps = deps;
    this.limits = resolveLimits(deps.limits);
    this.pool = new UpstreamPool(this.limits.upstreamTimeoutMs, this.limits.maxHeaderBytes);
  }

  /** New limits for the requests that follow (the pool keeps its upstream timeout). */
  setLimits(lim: EdgeLimits): void {
    this.limits = lim;
  }

  /** Closes pooled connections to the app. */
  close(): void {
    this.pool.close();
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
    this.pool.closeIdle();
  }

  sent(): void {
    this.#inflight++;
  }

  over(): void {
    if (--this.#inflight > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Starts `f` on the next turn of the event loop. A RST_STREAM read in the same batch as its
   * HEADERS closes the stream after this turn: waiting one turn, a reset stream never starts
   * a request to the app (Rapid Reset). One immediate serves every stream read in this turn.
   */
  nextTurn(f: Forward): void {
    if (this.#waiting.push(f) === 1) setImmediate(this.#turn);
  }

  /** Forwards the exchange to the app, or (with `refused`) answers it with that error alone. */
  handle(ex: Exchange, refused?: ErrorCode): void {
    new Forward(this, ex).run(refused);
  }

  /** Drain's deadline: every exchange still open is cut by Pillion (a 503 where still possible). */
  cutAll(): void {
    for (const f of this.live.snapshot()) f.cut();
  }
}

/** One client exchange on its way to the app: its attempts, its response, its access line. */
class Forward implements ResponseSink, LiveMember {
  /** Its place in the proxy's LiveSet. */
  liveSlot = -1;
  readonly #proxy: AppProxy;
  readonly #ex: Exchange;
  readonly #start = performance.now();
  readonly #requestId: string;
  readonly #trace: ProxyTrace | undefined;
  #conn: UpstreamConn | null = null;
  /** This attempt counts in `inflight`. */
  #sending = false;
  #attempt = 0;
  /** One budget for all the waits of this request (first start, restart, retries). */
  #holdUntil = 0;
  /** Time spent so far waiting for the app to be ready (the access line's `held_ms`). */
  #heldMs = 0;
  #buffered: (Buffered & { ok: true }) | undefined = undefined;
  #gone = false;
  #responded = false;
  #pace: BodyPace | undefined = undefined;

  constructor(proxy: AppProxy, ex: Exchange) {
    this.#proxy = proxy;
    this.#ex = ex;
    const id = field(ex.raw, 'x-request-id');
    this.#requestId =
      id !== undefined && clientRequestId({ 'x-request-id': id }) ? id : newRequestId();
    const trace = proxy.deps.trace;
    this.#trace = trace
      ? trace(field(ex.raw, 'traceparent'), field(ex.raw, 'tracestate'))
      : undefined;
    proxy.live.add(this);
    ex.onClose(this.#closed);
  }

  run(refused: ErrorCode | undefined): void {
    const ex = this.#ex;
    if (refused) {
      this.#refuse(refused);
      return;
    }
    if (ex.hasBody && ex.contentLength > this.#proxy.limits.maxBodyBytes) {
      this.#refuse(Codes.BODY_TOO_LARGE);
      return;
    }
    const up = this.#proxy.deps.upstream();
    if (up && ex.protocol === 'HTTP/2') this.#proxy.nextTurn(this);
    else if (up) this.#begin();
    else void this.#hold().then((ready) => this.#ready(ready));
  }

  /** The turn after the request was read: it starts now unless its stream was reset since. */
  turn(): void {
    if (!this.#gone) this.#begin();
  }

  #ready(up: Upstream | undefined): void {
    if (this.#gone) return;
    if (up) this.#begin();
    else this.#refuse(Codes.APP_NOT_READY);
  }

  /**
   * Sends to the app as it is now. A restart may have begun since the request was read (a
   * turn for HTTP/2, a body being buffered): its quiesce waits only for requests already
   * sent, so an address read before would send this one to the app being stopped.
   */
  #sendNow(): void {
    const up = this.#proxy.deps.upstream();
    if (up) this.#send(up);
    else
      void this.#hold().then((ready) => {
        if (this.#gone) return;
        if (ready) this.#send(ready);
        else this.#refuse(Codes.APP_NOT_READY);
      });
  }

  async #hold(): Promise<Upstream | undefined> {
    const deps = this.#proxy.deps;
    const t0 = performance.now();
    this.#holdUntil ||= t0 + deps.readyTimeoutMs;
    try {
      return await deps.whenReady(Math.max(0, this.#holdUntil - t0));
    } finally {
      this.#heldMs += performance.now() - t0;
    }
  }

  #refuse(code: ErrorCode): void {
    const ex = this.#ex;
    if (ex.error) return;
    ex.error = code;
    if (code === Codes.APP_NOT_READY && !ex.headersSent) {
      const why = this.#proxy.deps.notReadyReason?.();
      if (why) {
        ex.fail(503, `Service Unavailable: the app is not ready (${why})`, { 'retry-after': '5' });
        return;
      }
    }
    failWith(ex, code);
  }

  #begin(): void {
    const ex = this.#ex;
    // HTTP/2 checks content-length against the DATA only at END_STREAM (RFC 9113 §8.1.1),
    // so a short declared body is read whole first too: a mismatch never reaches the app.
    const declared = ex.contentLength;
    const buffer =
      ex.hasBody && (declared < 0 || (ex.protocol === 'HTTP/2' && declared <= BUFFER_BYTES));
    if (!buffer) {
      this.#sendNow();
      return;
    }
    const lim = this.#proxy.limits;
    const pace = { windowMs: lim.bodyIdleTimeoutMs, minBytes: lim.bodyMinBytes };
    void bufferBody(ex.body, BUFFER_BYTES, pace, lim.maxBodyBytes).then((b) => {
      if (b.ok) {
        this.#buffered = b;
        this.#sendNow();
      } else if (b.code) this.#refuse(b.code);
      else ex.error ??= 'client request body ended early';
    });
  }

  #send(up: Upstream): void {
    const ex = this.#ex;
    const b = this.#buffered;
    const lim = this.#proxy.limits;
    // A body without a length is sent with the exact length when it was read whole, else
    // re-framed as chunked whatever the method, so the app can never read it as the start of
    // another request (a GET with a body included).
    const chunked = ex.hasBody && !b?.complete && ex.contentLength < 0;
    const framing = b?.complete
      ? `content-length: ${b.size}\r\n`
      : ex.hasBody
        ? chunked
          ? 'transfer-encoding: chunked\r\n'
          : `content-length: ${ex.contentLength}\r\n`
        : '';
    const head = upstreamHead(
      ex.method,
      ex.path,
      ex.raw,
      {
        remote: ex.remote,
        host: ex.authority,
        requestId: this.#requestId,
        forwardedFor: lim.forwardedFor,
        trace: this.#trace,
        clientCert: ex.clientCert,
      },
      framing,
    );
    const conn = this.#proxy.pool.acquire(up);
    this.#conn = conn;
    this.#sending = true;
    this.#proxy.sent();
    // A body read whole stays in memory, so it can be sent at once and again on a retry.
    const whole = b?.complete
      ? b.chunks.length === 1
        ? b.chunks[0]
        : Buffer.concat(b.chunks, b.size)
      : undefined;
    const streamed = ex.hasBody && !b?.complete;
    conn.send(head, whole, ex.method === 'HEAD', this, streamed);
    if (!streamed) return;
    // A streamed body is read only once connected, so a refused connection leaves it unread
    // for the next attempt.
    if (conn.connected) this.#stream(conn, chunked);
    else conn.socket.once('connect', () => this.#stream(conn, chunked));
  }

  /** Streams the request body to the app, enforcing the body size limit and pace. */
  #stream(conn: UpstreamConn, chunked: boolean): void {
    if (this.#conn !== conn || this.#gone) return;
    const ex = this.#ex;
    const lim = this.#proxy.limits;
    const b = this.#buffered;
    let received = b?.size ?? 0;
    // One socket read can hold thousands of tiny chunks (llhttp gives each its own callback),
    // and each write would be its own syscall: 70,000 one-byte chunks took 4 s of CPU. So the
    // writes of one turn are corked into one writev, and the buffered start goes as one chunk.
    let corked = false;
    const uncork = (): void => {
      corked = false;
      conn.socket.uncork();
    };
    const put = (c: Buffer): boolean => {
      if (!corked) {
        corked = true;
        conn.socket.cork();
        process.nextTick(uncork);
      }
      if (!chunked) return conn.write(c);
      conn.write(`${c.length.toString(16)}\r\n`);
      conn.write(c);
      return conn.write('\r\n');
    };
    const start = b?.chunks ?? [];
    if (start.length > 1) put(Buffer.concat(start, b?.size));
    else if (start.length === 1) put(start[0] as Buffer);
    const body = ex.body;
    const pace = new BodyPace(lim.bodyIdleTimeoutMs, lim.bodyMinBytes, () =>
      this.#stopBody(Codes.REQUEST_TIMEOUT),
    );
    this.#pace = pace;
    body.on('data', (chunk: Buffer) => {
      if (this.#conn !== conn) return;
      received += chunk.length;
      if (received > lim.maxBodyBytes) {
        this.#stopBody(Codes.BODY_TOO_LARGE);
        return;
      }
      pace.add(chunk.length);
      if (!put(chunk)) {
        body.pause();
        conn.socket.once('drain', () => body.resume());
      }
    });
    const ended = (): void => {
      pace.stop();
      if (chunked && this.#conn === conn) conn.write(LAST_CHUNK);
      conn.requestSent();
    };
    // The whole body may have come in while its start was buffered: 'end' was then emitted
    // already, and would never come again.
    if (body.readableEnded) ended();
    else body.once('end', ended);
    body.resume();
  }

  #stopBody(code: ErrorCode): void {
    this.#pace?.stop();
    this.#ex.body.pause();
    this.#dropConn();
    this.#refuse(code);
  }

  #dropConn(): void {
    const conn = this.#conn;
    this.#conn = null;
    conn?.destroy();
    this.#attemptOver();
  }

  #attemptOver(): void {
    if (!this.#sending) return;
    this.#sending = false;
    this.#proxy.over();
  }

  // ResponseSink: what the app answers.
  head(
    status: number,
    reason: string,
    fields: string[],
    contentLength: number,
    first: Buffer | undefined,
    end: boolean,
  ): void {
    const ex = this.#ex;
    if (ex.error || this.#gone) {
      this.#dropConn();
      return;
    }
    this.#responded = true;
    if (end) {
      this.#conn = null;
      this.#attemptOver();
    }
    ex.respond(status, reason, fields, contentLength, first, end);
  }

  takesAtOnce(): boolean {
    return this.#ex.takesAtOnce();
  }

  get holdsWrites(): boolean {
    return this.#ex.holdsWrites;
  }

  data(chunk: Buffer): boolean {
    const ex = this.#ex;
    if (ex.write(chunk)) return true;
    const conn = this.#conn;
    ex.onDrain(() => conn?.resume());
    return false;
  }

  end(): void {
    this.#conn = null;
    this.#attemptOver();
    this.#pace?.stop();
    this.#ex.end();
  }

  fail(code: ErrorCode, detail: string, sent: boolean, _reused: boolean, gotHead: boolean): void {
    this.#conn = null;
    this.#attemptOver();
    const ex = this.#ex;
    if (this.#responded) {
      // The client's response ends only when the app's did, whole; a response cut short is
      // aborted, never ended, so it cannot pass for complete (HTTP/2 END_STREAM, a last-chunk).
      ex.error ??= `${code}: ${detail}`;
      ex.abort();
      return;
    }
    if (ex.error || this.#gone) return;
    // Never connected (the app is restarting or crashed): nothing was sent, so any request, a
    // POST too, is held until the app is ready and sent then. A request that carried no body
    // and changes nothing twice (RFC 9110 §9.2.2) may be sent again after a reset, e.g. on a
    // pooled connection the app closed as we reused it. Not after the app answered or went
    // silent: it may have acted on the request.
    if (
      !gotHead &&
      code !== Codes.APP_TIMEOUT &&
      code !== Codes.APP_BAD_RESPONSE &&
      !ex.headersSent &&
      (!sent || (!ex.hasBody && IDEMPOTENT.has(ex.method)))
    ) {
      void this.#retry(code, detail);
      return;
    }
    this.#pace?.stop();
    ex.error = `${code}: ${detail}`;
    failWith(ex, code);
  }

  /** Sends again once the app is ready; only for a request the app cannot have acted on. */
  async #retry(code: ErrorCode, why: string): Promise<void> {
    const ex = this.#ex;
    this.#attempt++;
    if (this.#attempt >= MAX_ATTEMPTS) {
      ex.error = `${code}: ${why} (after ${this.#attempt} attempts)`;
      failWith(ex, code);
      return;
    }
    await sleep(RETRY_PAUSE_MS * this.#attempt);
    const up = this.#proxy.deps.upstream() ?? (await this.#hold());
    if (this.#gone) return;
    if (up) this.#send(up);
    else this.#refuse(Codes.APP_NOT_READY);
  }

  /** Drain's deadline passed with this exchange open. */
  cut(): void {
    const ex = this.#ex;
    if (this.#gone) return;
    ex.error = Codes.DRAIN_TIMEOUT;
    this.#dropConn();
    failWith(ex, Codes.DRAIN_TIMEOUT);
  }

  #closed = (finished: boolean): void => {
    this.#gone = true;
    this.#proxy.live.delete(this);
    this.#pace?.stop();
    if (!finished) this.#dropConn();
    const ex = this.#ex;
    if (!finished && !ex.error) ex.error = 'client closed the connection';
    const status = ex.status || (finished ? 0 : ex.error === Codes.DRAIN_TIMEOUT ? 503 : 499);
    this.#proxy.deps.accessLog(
      new AccessRecord(
        ex,
        status,
        performance.now() - this.#start,
        this.#heldMs,
        this.#requestId,
        this.#trace,
      ),
    );
  };
}

/**
 * A finished request's access entry: a class, so each has the same shape and the request's
 * headers stay a prototype getter, built from the exchange only if a format reads them (an
 * object literal with a spread and a getter was defined property by property at run time).
 */
class AccessRecord implements AccessEntry {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly durationMs: number;
  readonly heldMs: number | undefined;
  readonly bytes: number;
  readonly protocol: string;
  readonly remote: string;
  readonly requestId: string;
  readonly error: string | undefined;
  readonly trace: ProxyTrace | undefined;
  readonly #ex: Exchange;

  constructor(
    ex: Exchange,
    status: number,
    durationMs: number,
    heldMs: number,
    requestId: string,
    trace: ProxyTrace | undefined,
  ) {
    this.#ex = ex;
    this.method = ex.method;
    this.path = ex.path;
    this.status = status;
    this.durationMs = durationMs;
    this.heldMs = heldMs > 0 ? heldMs : undefined;
    this.bytes = ex.bytes;
    this.protocol = ex.protocol;
    this.remote = ex.remote;
    this.requestId = requestId;
    this.error = ex.error;
    this.trace = trace;
  }

  get headers(): AccessEntry['headers'] {
    return this.#ex.headers;
  }
}
