// The client side of a request forwarded to an h2c app: an HTTP/2 stream, which carries
// trailers and stream resets through, or an HTTP/1.1 exchange, which carries neither.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import type { ClientCertHeader } from '../http/headers.ts';
import type { Target } from './guard.ts';
import type { H1Exchange } from './h1-exchange.ts';

export interface Downstream {
  readonly protocol: string;
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly remote: string;
  /** mTLS: the connection's verified client certificate (tls/client-auth.ts). */
  readonly clientCert: ClientCertHeader | undefined;
  readonly headers: IncomingHttpHeaders;
  /** True when the client sent (or may send) a request body. */
  readonly hasBody: boolean;
  readonly body: Readable;
  readonly headersSent: boolean;
  /** Reset or ended: nothing more can be sent. */
  readonly gone: boolean;
  /**
   * Sends the response head: with `end`, the response is only this (a gRPC Trailers-Only
   * response, a HEAD, a 204); with `trailers`, trailers may follow the body.
   */
  respond(headers: OutgoingHttpHeaders, end: boolean, trailers: boolean): void;
  /** Body bytes; false when the client is not keeping up (wait for onDrain). */
  write(chunk: Buffer): boolean;
  onDrain(cb: () => void): void;
  /** Ends the response, with the app's trailers where the client side carries them. */
  finish(trailers: OutgoingHttpHeaders | undefined): void;
  /** A short plain-text error response. */
  fail(status: number, text: string, headers?: OutgoingHttpHeaders): void;
  /**
   * The response is over but the client still sends (an app that answered a client stream
   * early): what more comes is read and dropped, so the client's window stays open until it
   * ends its side. A RST_STREAM NO_ERROR (RFC 9113 §8.1) could overtake the trailers queued
   * before it, and a gRPC client ends the call on the trailers anyway.
   */
  discardBody(): void;
  /** Abandons the exchange: RST_STREAM INTERNAL_ERROR on HTTP/2, a closed connection on HTTP/1. */
  reset(): void;
  /** Called once when the exchange is over; `finished` if the whole response was sent. */
  onClose(cb: (finished: boolean) => void): void;
}

/** An HTTP/2 client stream, on the core stream API. */
export class H2Downstream implements Downstream {
  readonly protocol = 'HTTP/2';
  readonly headers: IncomingHttpHeaders;
  readonly remote: string;
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly hasBody: boolean;
  readonly clientCert: ClientCertHeader | undefined;
  readonly #stream: ServerHttp2Stream;
  #trailers: OutgoingHttpHeaders | undefined;
  /** Pillion ended its side of the stream (Node may mark a reset stream's writable finished). */
  #ended = false;

  constructor(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    target: Target,
    clientCert?: ClientCertHeader,
  ) {
    this.#stream = stream;
    this.clientCert = clientCert;
    this.headers = headers;
    this.method = headers[':method'] as string;
    this.path = target.path;
    this.authority = target.authority;
    this.#trailers = undefined;
    // Read now: a closed stream no longer knows its session.
    this.remote = stream.session?.socket?.remoteAddress ?? '';
    // END_STREAM on the HEADERS frame means no body follows.
    this.hasBody = !(stream as unknown as { endAfterHeaders: boolean }).endAfterHeaders;
    // A client reset (or a content-length mismatch nghttp2 caught) errors the stream; the
    // close handler accounts for it, and it must not become an uncaught exception.
    stream.on('error', () => {});
  }
  get body(): Readable {
    return this.#stream;
  }
  write(chunk: Buffer): boolean {
    return this.#stream.write(chunk);
  }
  onDrain(cb: () => void): void {
    this.#stream.once('drain', cb);
  }
  get headersSent(): boolean {
    return this.#stream.headersSent;
  }
  get gone(): boolean {
    return this.#stream.destroyed || this.#stream.closed;
  }
  respond(headers: OutgoingHttpHeaders, end: boolean, trailers: boolean): void {
    if (this.gone) return;
    const waitForTrailers = trailers && !end;
    if (waitForTrailers) {
      this.#stream.on('wantTrailers', () => {
        const s = this.#stream;
        if (s.destroyed) return;
        s.sendTrailers(this.#trailers ?? {});
      });
    }
    this.#stream.respond(headers, { endStream: end, waitForTrailers });
    if (end) this.#ended = true;
  }
  finish(trailers: OutgoingHttpHeaders | undefined): void {
    if (this.gone) return;
    this.#trailers = trailers;
    this.#ended = true;
    this.#stream.end();
  }
  fail(status: number, text: string, headers?: OutgoingHttpHeaders): void {
    if (this.gone) return;
    const body = `${status} ${text}\n`;
    this.respond(
      {
        ':status': status,
        'content-type': 'text/plain; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        'cache-control': 'no-store',
        ...headers,
      },
      false,
      false,
    );
    this.#ended = true;
    this.#stream.end(body);
  }
  discardBody(): void {
    const s = this.#stream;
    s.unpipe();
    if (!s.readableEnded) s.resume();
  }
  reset(): void {
    // destroy(), not close(code): close() emits 'aborted' on a stream not yet destroyed, which
    // the flood guard (h2-guard.ts) counts as the client's reset; a destroyed stream it does
    // not. destroy() can only send INTERNAL_ERROR (or CANCEL), so an app's own reset code is
    // not passed on.
    if (!this.#stream.destroyed) this.#stream.destroy(new Error('response abandoned'));
  }
  onClose(cb: (finished: boolean) => void): void {
    // A client may reset a stream whose response it has whole (a gRPC client that has read the
    // status): the exchange finished all the same.
    this.#stream.on('close', () => cb(this.#ended && this.#stream.writableFinished));
  }
}

/**
 * An HTTP/1.1 exchange of the engine (h1-exchange.ts): trailers from the app are dropped, as on
 * the HTTP/1.1 path, and the response is framed by the exchange (Content-Length or chunked).
 */
export class H1Downstream implements Downstream {
  readonly #ex: H1Exchange;

  constructor(ex: H1Exchange) {
    this.#ex = ex;
  }
  get headers(): IncomingHttpHeaders {
    return this.#ex.headers;
  }
  get protocol(): string {
    return this.#ex.protocol;
  }
  get method(): string {
    return this.#ex.method;
  }
  get path(): string {
    return this.#ex.path;
  }
  get authority(): string {
    return this.#ex.authority;
  }
  get remote(): string {
    return this.#ex.remote;
  }
  get clientCert(): ClientCertHeader | undefined {
    return this.#ex.clientCert;
  }
  get hasBody(): boolean {
    return this.#ex.hasBody;
  }
  get body(): Readable {
    return this.#ex.body;
  }
  get headersSent(): boolean {
    return this.#ex.headersSent;
  }
  get gone(): boolean {
    return this.#ex.over;
  }
  respond(headers: OutgoingHttpHeaders, end: boolean): void {
    const status = Number(headers[':status']);
    // The exchange frames the message itself: the app's length is passed as the length, and a
    // response that is only a head has none to frame but its own (0, or a HEAD's length).
    let length = -1;
    const fields: string[] = [];
    for (const name in headers) {
      const v = headers[name];
      if (name[0] === ':' || v === undefined) continue;
      if (name === 'content-length') length = Number(v);
      else if (Array.isArray(v)) for (const one of v) fields.push(name, one);
      else fields.push(name, String(v));
    }
    if (end && length < 0) length = 0;
    this.#ex.respond(status, reasonPhrase(status), fields, length, undefined, end);
  }
  write(chunk: Buffer): boolean {
    return this.#ex.write(chunk);
  }
  onDrain(cb: () => void): void {
    this.#ex.onDrain(cb);
  }
  finish(): void {
    this.#ex.end();
  }
  fail(status: number, text: string, headers?: OutgoingHttpHeaders): void {
    const h: Record<string, string> = {};
    for (const name in headers) h[name] = String(headers[name]);
    this.#ex.fail(status, text, h);
  }
  discardBody(): void {
    // The engine keeps the connection only when the request body was read whole (h1-exchange.ts).
  }
  reset(): void {
    this.#ex.abort();
  }
  onClose(cb: (finished: boolean) => void): void {
    this.#ex.onClose(cb);
  }
}

/**
 * The reason phrase of a status. node:http is taken with process.getBuiltinModule: an ESM
 * import of it loads Node's bundled undici, ~50 ms of every start (bench/startup.ts).
 */
function reasonPhrase(status: number): string {
  return process.getBuiltinModule('node:http').STATUS_CODES[status] ?? '';
}
