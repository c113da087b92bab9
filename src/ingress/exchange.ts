import type {
  IncomingHttpHeaders,
  IncomingMessage,
  OutgoingHttpHeaders,
  ServerResponse,
} from 'node:http';
import { constants as h2c, type ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';

/** One client request and its response, whatever protocol it came over. */
export interface Exchange {
  readonly protocol: string;
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly remote: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
  /** True when the client sent (or may send) a request body. */
  readonly hasBody: boolean;
  readonly headersSent: boolean;
  /** Sends the response head; the body is then piped into `sink`. */
  respond(status: number, statusMessage: string | undefined, headers: OutgoingHttpHeaders): void;
  readonly sink: NodeJS.WritableStream;
  /** A short plain-text error response. */
  fail(status: number, text: string, headers?: OutgoingHttpHeaders): void;
  /** Abandons a response already under way. */
  abort(): void;
  /** Called once when the exchange is over, finished or not. */
  onClose(cb: (finished: boolean) => void): void;
}

/**
 * HTTP/1 connections closing after an error response: Node may already have parsed requests
 * pipelined behind the refused one, and none of those may reach the app.
 */
export const closingSockets = new WeakSet<object>();

function errorBody(status: number, text: string): { body: string; headers: OutgoingHttpHeaders } {
  const body = `${status} ${text}\n`;
  return {
    body,
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    },
  };
}

export class H1Exchange implements Exchange {
  readonly protocol: string;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #draining: () => boolean;
  readonly #target: { path: string; authority: string } | undefined;

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    draining: () => boolean,
    target?: { path: string; authority: string },
  ) {
    this.#req = req;
    this.#res = res;
    this.#draining = draining;
    this.#target = target;
    this.protocol = `HTTP/${req.httpVersion}`;
    // A client that breaks off its request is handled through onClose; its error must not
    // become an uncaught exception.
    req.on('error', () => {});
  }
  get method(): string {
    return this.#req.method ?? 'GET';
  }
  get path(): string {
    return this.#target?.path ?? this.#req.url ?? '/';
  }
  get authority(): string {
    return this.#target?.authority ?? this.#req.headers.host ?? '';
  }
  get remote(): string {
    return this.#req.socket.remoteAddress ?? '';
  }
  get headers(): IncomingHttpHeaders {
    return this.#req.headers;
  }
  get body(): Readable {
    return this.#req;
  }
  get hasBody(): boolean {
    const h = this.#req.headers;
    return (
      h['transfer-encoding'] !== undefined ||
      (h['content-length'] !== undefined && h['content-length'] !== '0')
    );
  }
  get headersSent(): boolean {
    return this.#res.headersSent;
  }
  get sink(): NodeJS.WritableStream {
    return this.#res;
  }
  respond(status: number, statusMessage: string | undefined, headers: OutgoingHttpHeaders): void {
    // While draining, each response closes its connection (RFC 9112 §9.6).
    if (this.#draining()) headers.connection = 'close';
    this.#res.writeHead(status, statusMessage, headers);
  }
  fail(status: number, text: string, headers?: OutgoingHttpHeaders): void {
    const e = errorBody(status, text);
    if (headers?.connection === 'close') closingSockets.add(this.#req.socket);
    this.respond(status, undefined, { ...e.headers, ...headers });
    this.#res.end(e.body);
  }
  abort(): void {
    this.#res.destroy();
  }
  onClose(cb: (finished: boolean) => void): void {
    this.#res.once('close', () => cb(this.#res.writableFinished));
  }
}

export class H2Exchange implements Exchange {
  readonly protocol = 'HTTP/2';
  readonly #stream: ServerHttp2Stream;
  readonly headers: IncomingHttpHeaders;
  /** Read now: a closed stream no longer knows its session. */
  readonly remote: string;

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders) {
    this.#stream = stream;
    this.headers = headers;
    // A stream the client resets or malforms (a content-length mismatch) errors; onClose
    // handles the end, and the error must not become an uncaught exception.
    stream.on('error', () => {});
    this.remote = stream.session?.socket?.remoteAddress ?? '';
    // abort() resets the stream with INTERNAL_ERROR, which Node also emits as an 'error';
    // the access log already records the failure, so it must not become an uncaught exception.
    stream.on('error', () => {});
  }
  get method(): string {
    return (this.headers[':method'] as string | undefined) ?? 'GET';
  }
  get path(): string {
    return (this.headers[':path'] as string | undefined) ?? '/';
  }
  get authority(): string {
    return (this.headers[':authority'] as string | undefined) ?? this.headers.host ?? '';
  }
  get body(): Readable {
    return this.#stream;
  }
  get hasBody(): boolean {
    // END_STREAM on the HEADERS frame means no body follows.
    return (
      !this.#stream.readableEnded &&
      !(this.#stream as unknown as { endAfterHeaders: boolean }).endAfterHeaders
    );
  }
  get headersSent(): boolean {
    return this.#stream.headersSent;
  }
  get sink(): NodeJS.WritableStream {
    return this.#stream;
  }
  /** Reset by the client, or ended: nothing can be sent on it any more. */
  get #gone(): boolean {
    return this.#stream.destroyed || this.#stream.closed;
  }
  respond(status: number, _statusMessage: string | undefined, headers: OutgoingHttpHeaders): void {
    // The client may reset the stream after the app's head arrived and before it is passed on
    // (a turn later, see proxy.ts); its 'close' may not have run yet, and Node's respond()
    // throws on a stream that is closed or destroyed.
    if (this.#gone) return;
    headers[':status'] = status;
    // Connection-specific fields are not allowed in HTTP/2 (RFC 9113 §8.2.2).
    delete headers.connection;
    this.#stream.respond(headers);
  }
  fail(status: number, text: string, headers?: OutgoingHttpHeaders): void {
    if (this.#gone) return;
    const e = errorBody(status, text);
    this.respond(status, undefined, { ...e.headers, ...headers });
    this.#stream.end(e.body);
  }
  abort(): void {
    // close() would first end the writable side, sending END_STREAM as if the response were
    // whole; destroy() resets the stream (RST_STREAM INTERNAL_ERROR) without ending it.
    if (!this.#stream.destroyed) this.#stream.destroy(new Error('response abandoned'));
  }
  onClose(cb: (finished: boolean) => void): void {
    this.#stream.once('close', () =>
      cb(this.#stream.rstCode === h2c.NGHTTP2_NO_ERROR && this.#stream.writableFinished),
    );
  }
}
