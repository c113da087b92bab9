// `app.protocol: h2c`: each client request becomes one stream to the app over cleartext HTTP/2.
// Bodies stream both ways under HTTP/2 flow control, trailers pass (gRPC's status travels in
// them), and a reset on either side resets the other. HTTP/1.1 clients are translated, except
// gRPC, which needs HTTP/2 end to end.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { type ClientHttp2Session, type ClientHttp2Stream, constants as h2 } from 'node:http2';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode } from '../core/errors.ts';
import { clientRequestId, downstreamHeaders, upstreamHeaders } from '../http/headers.ts';
import { newRequestId } from '../http/trace.ts';
import { BodyPace } from './body-pace.ts';
import { errorResponse, upstreamErrorCode } from './error-status.ts';
import { grpcStatusIn, grpcStatusOf, isGrpc, trailersOnly } from './grpc.ts';
import type { Downstream } from './h2c-downstream.ts';
import { H2cPool } from './h2c-upstream.ts';
import type { EdgeLimits } from './limits.ts';
import { type LiveMember, LiveSet } from './live-set.ts';
import type { ProxyDeps, ProxyTrace, Upstream } from './proxy.ts';

/** Sends of one stream to the app, counting the first; each retry waits a little longer. */
const MAX_ATTEMPTS = 6;
const RETRY_PAUSE_MS = 25;

/** Forwards client requests to an h2c app; one per ingress. */
export class H2cForwarder {
  readonly #deps: ProxyDeps;
  #lim: EdgeLimits;
  /** Calls whose client exchange has not closed yet. */
  readonly live = new LiveSet<H2cCall>();
  readonly #pool = new H2cPool();
  #inflight = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(deps: ProxyDeps, limits: EdgeLimits) {
    this.#deps = deps;
    this.#lim = limits;
  }

  /** Streams sent to the app and not closed yet. */
  get inflight(): number {
    return this.#inflight;
  }

  /** Waits (up to `timeoutMs`) for no stream in flight, then closes the idle sessions. */
  async quiesce(timeoutMs: number): Promise<void> {
    if (this.#inflight > 0) {
      const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      await Promise.race([idle, sleep(timeoutMs, undefined, { ref: false })]);
    }
    this.#pool.closeIdle();
  }

  close(): void {
    this.#pool.close();
  }

  /** New limits (a reload) for the requests that start from now on. */
  setLimits(lim: EdgeLimits): void {
    this.#lim = lim;
  }

  /** The drain deadline passed: every call still open is ended by Pillion. */
  cutAll(): void {
    for (const c of this.live.snapshot()) c.cut();
  }

  /** Forwards one request; the access line is written when the client's exchange closes. */
  forward(down: Downstream, h2Client: boolean): void {
    new H2cCall(this, down, h2Client).start();
  }

  // The call's view of the forwarder: read by H2cCall only.
  get deps(): ProxyDeps {
    return this.#deps;
  }
  get limits(): EdgeLimits {
    return this.#lim;
  }
  get pool(): H2cPool {
    return this.#pool;
  }
  /** Counts a stream to the app; the returned function uncounts it (once). */
  sent(): () => void {
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
}

/** One client request and its stream to the app. */
class H2cCall implements LiveMember {
  /** Its place in the forwarder's LiveSet. */
  liveSlot = -1;
  readonly #fwd: H2cForwarder;
  readonly #down: Downstream;
  readonly #h2Client: boolean;
  readonly #grpc: boolean;
  readonly #start = performance.now();
  readonly #requestId: string;
  readonly #trace: ProxyTrace | undefined;
  #status = 0;
  #grpcStatus: number | undefined = undefined;
  #bytes = 0;
  #error: string | undefined = undefined;
  #gone = false;
  #app: ClientHttp2Stream | undefined = undefined;
  /** Body bytes handed to an app stream: after one, the request cannot be sent again. */
  #bodySent = 0;
  #holdUntil = 0;
  /** Ended by Pillion at the drain deadline: what the app still does is ignored. */
  #cut = false;

  constructor(fwd: H2cForwarder, down: Downstream, h2Client: boolean) {
    this.#fwd = fwd;
    this.#down = down;
    this.#h2Client = h2Client;
    this.#grpc = isGrpc(down.headers);
    this.#requestId = clientRequestId(down.headers) ?? newRequestId();
    const trace = fwd.deps.trace;
    const h = down.headers;
    this.#trace = trace ? trace(one(h.traceparent), one(h.tracestate)) : undefined;
  }

  start(): void {
    const down = this.#down;
    this.#fwd.live.add(this);
    down.onClose((finished) => this.#closed(finished));
    if (this.#grpc && !this.#h2Client) {
      this.#refuse(ErrorCode.GRPC_NEEDS_H2);
      return;
    }
    const lim = this.#fwd.limits;
    if (
      !this.#grpc &&
      down.hasBody &&
      Number(down.headers['content-length'] ?? 0) > lim.maxBodyBytes
    ) {
      this.#refuse(ErrorCode.BODY_TOO_LARGE);
      return;
    }
    const up = this.#fwd.deps.upstream();
    if (!up) {
      void this.#hold().then((ready) => {
        if (this.#gone) return;
        if (ready) this.#send(ready, 0);
        else this.#refuse(ErrorCode.APP_NOT_READY);
      });
    } else if (this.#h2Client) {
      // A RST_STREAM read in the same batch as its HEADERS closes the stream after this turn:
      // wait one turn, so a reset stream never opens a stream to the app (Rapid Reset).
      setImmediate(() => {
        if (!this.#gone) this.#send(up, 0);
      });
    } else this.#send(up, 0);
  }

  /** One budget for all the waits of this request (first start, restart, retries). */
  #hold(): Promise<Upstream | undefined> {
    const deps = this.#fwd.deps;
    this.#holdUntil ||= performance.now() + deps.readyTimeoutMs;
    return deps.whenReady(Math.max(0, this.#holdUntil - performance.now()));
  }

  #send(up: Upstream, attempt: number): void {
    this.#fwd.pool.acquire(up, (err, session) => {
      if (this.#gone) return;
      // Not connected: nothing was sent, so any request may be held and sent again.
      if (err || !session)
        this.#retry(attempt + 1, upstreamErrorCode(err ?? new Error('no session')), err?.code);
      else this.#open(session, attempt);
    });
  }

  async #retry(attempt: number, code: ErrorCode, why: string | undefined): Promise<void> {
    if (attempt >= MAX_ATTEMPTS) {
      this.#error = `${code}: ${why ?? 'failed'} (after ${attempt} attempts)`;
      this.#refuse(code);
      return;
    }
    await sleep(RETRY_PAUSE_MS * attempt);
    const up = this.#fwd.deps.upstream() ?? (await this.#hold());
    if (this.#gone) return;
    if (up) this.#send(up, attempt);
    else this.#refuse(ErrorCode.APP_NOT_READY);
  }

  #headers(): OutgoingHttpHeaders {
    const down = this.#down;
    const out = upstreamHeaders(down.headers, {
      remote: down.remote,
      host: down.authority,
      requestId: this.#requestId,
      forwardedFor: this.#fwd.limits.forwardedFor,
      h2: true,
      trace: this.#trace,
      clientCert: down.clientCert,
    });
    out[':method'] = down.method;
    out[':path'] = down.path;
    out[':scheme'] = 'http';
    // The one TE value HTTP/2 allows (§8.2.2); gRPC servers may require it.
    const te = down.headers.te;
    if (typeof te === 'string' && /(^|,)\s*trailers\s*(;|,|$)/i.test(te)) out.te = 'trailers';
    return out;
  }

  #open(session: ClientHttp2Session, attempt: number): void {
    const down = this.#down;
    let app: ClientHttp2Stream;
    try {
      app = session.request(this.#headers(), { endStream: !down.hasBody });
    } catch (err) {
      // The session closed between acquire and now (GOAWAY): nothing was sent.
      this.#retry(attempt + 1, ErrorCode.APP_RESET, (err as NodeJS.ErrnoException).code);
      return;
    }
    this.#app = app;
    const pool = this.#fwd.pool;
    const entry = pool.opened(session);
    const over = this.#fwd.sent();
    const lim = this.#fwd.limits;
    let gotHead = false;
    let ended = false;
    let trailers: OutgoingHttpHeaders | undefined;
    let cause: NodeJS.ErrnoException | undefined;
    let timedOut = false;
    // A gRPC call with a deadline is bounded by it (client and app both enforce grpc-timeout);
    // any other stream by the app's silence, as on the HTTP/1.1 path.
    if (!(this.#grpc && down.headers['grpc-timeout'] !== undefined)) {
      app.setTimeout(lim.upstreamTimeoutMs, () => {
        timedOut = true;
        app.close(h2.NGHTTP2_CANCEL);
      });
    }
    // `on`, not `once`, for the events a stream emits once (response, trailers, end, close):
    // once() wraps each listener, measurably on a path that adds ten per call.
    app.on('error', (err: NodeJS.ErrnoException) => {
      cause ??= err;
    });
    app.on('response', (headers: IncomingHttpHeaders, flags: number) => {
      gotHead = true;
      if (this.#gone || this.#cut) return;
      this.#status = Number(headers[':status']);
      const end = (flags & h2.NGHTTP2_FLAG_END_STREAM) !== 0;
      if (end) this.#grpcStatus = grpcStatusIn(headers);
      const out = downstreamHeaders(headers);
      // Trailers are asked for when the client can take them: gRPC, or a client saying
      // `te: trailers`. Otherwise the app's trailers are dropped, as HTTP/1.1 does.
      const wantTrailers = this.#grpc || down.headers.te !== undefined;
      down.respond(out, end, wantTrailers);
    });
    app.on('trailers', (t: IncomingHttpHeaders) => {
      this.#grpcStatus = grpcStatusIn(t);
      trailers = downstreamHeaders(t);
    });
    // By hand rather than pipe(): a unary call is one DATA frame each way, and pipe() costs a
    // dozen listeners per stream (measured in bench/grpc.ts profiles).
    const resumeApp = (): void => {
      app.resume();
    };
    app.on('data', (c: Buffer) => {
      this.#bytes += c.length;
      if (!down.write(c)) {
        app.pause();
        down.onDrain(resumeApp);
      }
    });
    app.on('end', () => {
      ended = true;
      if (!this.#gone && !this.#cut && gotHead) down.finish(trailers);
    });
    app.on('close', () => {
      over();
      pool.closed(entry);
      this.#app = undefined;
      if (this.#gone || this.#cut) return;
      if (ended) {
        down.discardBody();
        return;
      }
      const code = app.rstCode ?? h2.NGHTTP2_INTERNAL_ERROR;
      // The app reset the stream itself (RST_STREAM), as opposed to its connection going.
      const byApp =
        cause?.code === 'ERR_HTTP2_STREAM_ERROR' ||
        (cause === undefined && code !== h2.NGHTTP2_NO_ERROR);
      if (!gotHead) {
        // Refused before the app processed it (RFC 9113 §8.7: REFUSED_STREAM, or past a
        // GOAWAY's last stream): safe to send again while no body byte went with it.
        const unprocessed =
          code === h2.NGHTTP2_REFUSED_STREAM || cause?.code === 'ERR_HTTP2_GOAWAY_SESSION';
        if (unprocessed && this.#bodySent === 0 && !timedOut) {
          this.#retry(attempt + 1, ErrorCode.APP_RESET, 'refused stream');
          return;
        }
        const failure = timedOut ? ErrorCode.APP_TIMEOUT : ErrorCode.APP_RESET;
        this.#error = `${failure}: ${byApp ? `reset by the app (code ${code})` : (cause?.code ?? 'closed')}`;
        this.#refuse(failure);
        return;
      }
      // A response under way cannot become an error response: the client's stream is reset,
      // so it never passes for complete. The app's own reset code is logged, not passed on: see
      // H2Downstream.reset.
      this.#error ??= timedOut
        ? `${ErrorCode.APP_TIMEOUT}: app response stalled`
        : `app response cut short${byApp ? ` (reset by the app, code ${code})` : ''}`;
      down.reset();
    });
    if (down.hasBody) this.#pipeBody(app);
  }

  /** Streams the client's body to the app; limits and pace apply to all but gRPC. */
  #pipeBody(app: ClientHttp2Stream): void {
    const body = this.#down.body;
    const lim = this.#fwd.limits;
    // A gRPC stream is long-lived and may be quiet for minutes (its deadline bounds it); its
    // messages are limited by the app's own per-message cap.
    const watch = this.#grpc
      ? undefined
      : new BodyPace(lim.bodyIdleTimeoutMs, lim.bodyMinBytes, () =>
          stop(ErrorCode.REQUEST_TIMEOUT),
        );
    const resume = (): void => {
      body.resume();
    };
    const onData = (c: Buffer): void => {
      this.#bodySent += c.length;
      if (watch !== undefined) {
        if (this.#bodySent > lim.maxBodyBytes) {
          stop(ErrorCode.BODY_TOO_LARGE);
          return;
        }
        watch.add(c.length);
      }
      if (!app.write(c)) {
        body.pause();
        app.once('drain', resume);
      }
    };
    const onEnd = (): void => {
      watch?.stop();
      app.end();
    };
    // The app's stream is gone (ended, reset, or refused and about to be sent again on a new
    // one): this one gets no more of the body.
    const detach = (): void => {
      watch?.stop();
      body.off('data', onData);
      body.off('end', onEnd);
    };
    const stop = (code: ErrorCode): void => {
      detach();
      this.#error ??= code;
      app.close(h2.NGHTTP2_CANCEL);
      this.#refuse(code);
    };
    body.on('data', onData);
    body.on('end', onEnd);
    app.on('close', detach);
  }

  /** Pillion's own answer: a gRPC status for gRPC clients over HTTP/2, else a short text. */
  #refuse(code: ErrorCode): void {
    const down = this.#down;
    this.#error ??= code;
    if (down.gone) return;
    const r = errorResponse(code);
    if (down.headersSent) {
      down.reset();
      return;
    }
    if (this.#grpc && this.#h2Client) {
      this.#status = 200;
      this.#grpcStatus = grpcStatusOf(code);
      down.respond(trailersOnly(this.#grpcStatus, r.text), true, false);
      return;
    }
    this.#status = r.status;
    down.fail(r.status, r.text, r.headers);
  }

  /** A 503 (gRPC: UNAVAILABLE) where no response began, else the client's side is reset. */
  cut(): void {
    if (this.#gone || this.#cut) return;
    this.#error = ErrorCode.DRAIN_TIMEOUT;
    this.#refuse(ErrorCode.DRAIN_TIMEOUT);
    this.#cut = true;
    const app = this.#app;
    if (app && !app.destroyed) app.close(h2.NGHTTP2_CANCEL);
  }

  #closed(finished: boolean): void {
    this.#gone = true;
    this.#fwd.live.delete(this);
    // The client went first (RST_STREAM, a cancelled gRPC call, a closed connection): the app's
    // stream is cancelled too, so the app sees the cancel.
    const app = this.#app;
    // Not once both sides ended it: the stream is closed at the app, which owes it nothing more.
    if (app && !app.destroyed && !(app.readableEnded && app.writableEnded))
      app.close(h2.NGHTTP2_CANCEL);
    if (!finished && !this.#error) this.#error = 'client closed the stream';
    const down = this.#down;
    this.#fwd.deps.accessLog({
      method: down.method,
      path: down.path,
      status: finished ? this.#status : this.#status || 499,
      grpcStatus: this.#grpcStatus,
      durationMs: performance.now() - this.#start,
      bytes: this.#bytes,
      protocol: down.protocol,
      remote: down.remote,
      requestId: this.#requestId,
      error: this.#error,
      trace: this.#trace,
      headers: down.headers,
    });
  }
}

/** A header's first value (traceparent and tracestate are single fields). */
function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
