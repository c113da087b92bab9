import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { constants as h2c, type ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import type { ClientCertHeader } from '../http/headers.ts';

/** One client request and its response, whatever protocol it came over. */
export interface Exchange {
  readonly protocol: string;
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly remote: string;
  /** mTLS: the connection's verified client certificate, for the app (tls/client-auth.ts). */
  readonly clientCert: ClientCertHeader | undefined;
  /** The request's fields as [name, value, ...] (HTTP/2: lower-case, pseudo-headers too). */
  readonly raw: string[];
  /** The fields as an object, built when first read (the access log's header fields). */
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
  /** True when the client sent (or may send) a request body. */
  readonly hasBody: boolean;
  /** The declared body length, or -1 when none was declared. */
  readonly contentLength: number;
  readonly headersSent: boolean;
  /** The status the client was sent (0 before a head) and the body bytes written to it. */
  readonly status: number;
  readonly bytes: number;
  /** Why the exchange failed, for the access line. */
  error: string | undefined;
  /**
   * Sends the response head (fields without framing: each side frames its own message;
   * `contentLength` -1 when unknown) with the first body bytes, and ends it when `end`.
   */
  respond(
    status: number,
    reason: string,
    fields: string[],
    contentLength: number,
    first: Buffer | undefined,
    end: boolean,
  ): void;
  /** Body bytes; false when the client is not keeping up (wait for onDrain). */
  write(chunk: Buffer): boolean;
  /**
   * True when bytes given to `respond` or `write` now are taken in before the call returns
   * (encrypted at once, nothing queued), so they may be a view of memory reused right after.
   */
  takesAtOnce(): boolean;
  /** True when written bytes are always read later (HTTP/2 DATA frames): never a view. */
  readonly holdsWrites: boolean;
  /** Ends a response whose head was sent. */
  end(): void;
  onDrain(cb: () => void): void;
  /** A short plain-text error response. */
  fail(status: number, text: string, headers?: Record<string, string>): void;
  /** Abandons a response already under way. */
  abort(): void;
  /** Called once when the exchange is over, finished or not. */
  onClose(cb: (finished: boolean) => void): void;
}

/** The body of Pillion's own error responses. */
export function errorText(status: number, text: string): string {
  return `${status} ${text}\n`;
}

function errorBody(
  status: number,
  text: string,
): { body: string; headers: Record<string, string | number> } {
  const body = errorText(status, text);
  return {
    body,
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    },
  };
}

/** Flat fields as an object, as node:http would have given them (for the access log). */
export function headersObject(raw: string[]): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    const had = out[name];
    if (had === undefined) out[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(had)) had.push(value);
    else out[name] = `${had}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out as IncomingHttpHeaders;
}

/** One 'error' listener for every stream (see the H2Exchange constructor). */
function ignore(): void {}

export class H2Exchange implements Exchange {
  readonly protocol = 'HTTP/2';
  readonly #stream: ServerHttp2Stream;
  readonly headers: IncomingHttpHeaders;
  readonly raw: string[];
  /** Read now: a closed stream no longer knows its session. */
  readonly remote: string;
  readonly contentLength: number;
  readonly hasBody: boolean;
  readonly clientCert: ClientCertHeader | undefined;
  status = 0;
  bytes = 0;
  error: string | undefined = undefined;

  constructor(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    raw: string[],
    clientCert?: ClientCertHeader,
  ) {
    this.#stream = stream;
    this.clientCert = clientCert;
    this.headers = headers;
    this.raw = raw;
    const cl = headers['content-length'];
    this.contentLength = cl === undefined ? -1 : Number(cl);
    // END_STREAM on the HEADERS frame means no body follows. Read once, here: a body that has
    // since been read to its end is still a body (read later, `readableEnded` said it was none,
    // and a POST whose body passed 64 KiB reached the app with neither framing nor body).
    this.hasBody = !(stream as unknown as { endAfterHeaders: boolean }).endAfterHeaders;
    this.remote = stream.session?.socket?.remoteAddress ?? '';
    // A stream the client resets or malforms (a content-length mismatch) errors, and abort()
    // resets it with INTERNAL_ERROR; onClose handles the end and the access log records the
    // failure, so the error must not become an uncaught exception.
    stream.on('error', ignore);
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

  get headersSent(): boolean {
    return this.#stream.headersSent;
  }
  /** Reset by the client, or ended: nothing can be sent on it any more. */
  get #gone(): boolean {
    return this.#stream.destroyed || this.#stream.closed;
  }
  #head(status: number, headers: OutgoingHttpHeaders): void {
    headers[':status'] = status;
    this.status = status;
    this.#stream.respond(headers);
  }
  respond(
    status: number,
    _reason: string,
    fields: string[],
    contentLength: number,
    first: Buffer | undefined,
    end: boolean,
  ): void {
    // The client may reset the stream after the app's head arrived and before it is passed on;
    // its 'close' may not have run yet, and Node's respond() throws on a closed stream.
    if (this.#gone) return;
    // A flat [name, value, ...] list, as the app sent them: Node takes it as is (lower-cases
    // the names itself; no object built here, none copied there), repeats kept in order and
    // single-value fields still refused when repeated. Connection-specific fields are not
    // allowed in HTTP/2 (RFC 9113 §8.2.2); they were removed with the hop-by-hop ones.
    const headers = [':status', String(status), ...fields];
    if (contentLength >= 0) headers.push('content-length', String(contentLength));
    this.status = status;
    this.#stream.respond(headers);
    if (!first) {
      if (end) this.#stream.end();
      return;
    }
    this.bytes += first.length;
    // A whole response's body and its end in one call: one pass through the stream's write path.
    if (end) this.#stream.end(first);
    else this.#stream.write(first);
  }
  write(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    return this.#stream.write(chunk);
  }
  /** nghttp2 reads a DATA frame's bytes when it sends the frame, later. */
  readonly holdsWrites = true;
  takesAtOnce(): boolean {
    return false;
  }
  end(): void {
    this.#stream.end();
  }
  onDrain(cb: () => void): void {
    this.#stream.once('drain', cb);
  }
  fail(status: number, text: string, headers?: Record<string, string>): void {
    if (this.#gone) return;
    const e = errorBody(status, text);
    const h: OutgoingHttpHeaders = { ...e.headers, ...headers };
    delete h.connection;
    this.#head(status, h);
    this.bytes += Buffer.byteLength(e.body);
    this.#stream.end(e.body);
  }
  abort(): void {
    // close() would first end the writable side, sending END_STREAM as if the response were
    // whole; destroy() resets the stream (RST_STREAM INTERNAL_ERROR) without ending it.
    if (!this.#stream.destroyed) this.#stream.destroy(new Error('response abandoned'));
  }
  onClose(cb: (finished: boolean) => void): void {
    const s = this.#stream;
    // 'close' comes once: a plain listener, without the wrapper and removal once() costs.
    s.on('close', () => cb(s.rstCode === h2c.NGHTTP2_NO_ERROR && s.writableFinished));
  }
}
