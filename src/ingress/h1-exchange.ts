// One HTTP/1.x request on a connection of the engine (h1-conn.ts) and its response: the head
// is built as one string, written with the first body bytes in one write (cork), and framed
// by Content-Length when the app gave one, else chunked (HTTP/1.1) or by closing (HTTP/1.0).
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { ClientCertHeader } from '../http/headers.ts';
import type { Exchange } from './exchange.ts';
import { errorText, headersObject } from './exchange.ts';
import type { H1Head } from './guard.ts';

/** What an exchange needs from its connection. */
export interface H1Wire {
  readonly socket: import('node:net').Socket;
  readonly remote: string;
  /** mTLS: the connection's verified client certificate (tls/client-auth.ts). */
  readonly clientCert: ClientCertHeader | undefined;
  draining(): boolean;
  /** The exchange is over; `reuse` when the connection may carry the next request. */
  exchangeDone(ex: H1Exchange, reuse: boolean): void;
  /** The request body is wanted again after backpressure. */
  resumeBody(): void;
}

const CRLF = '\r\n';
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
/** Bodies up to this size are written with their head as one string. */
const SMALL = 2048;

export class H1Exchange implements Exchange {
  readonly protocol: string;
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly raw: string[];
  readonly contentLength: number;
  readonly hasBody: boolean;
  readonly #wire: H1Wire;
  readonly #keepAlive: boolean;
  readonly #version: string;
  #body: Readable | undefined;
  #headers: IncomingHttpHeaders | undefined = undefined;
  /** Body bytes of the request still to come (the engine's own bookkeeping). */
  bodyDone: boolean;
  status = 0;
  bytes = 0;
  error: string | undefined = undefined;
  headersSent = false;
  #chunked = false;
  #noBody = false;
  #closeAfter = false;
  #over = false;
  #closers: ((finished: boolean) => void)[] = [];

  constructor(wire: H1Wire, head: H1Head, path: string, authority: string) {
    this.#wire = wire;
    this.method = head.method;
    this.path = path;
    this.authority = authority;
    this.raw = head.raw;
    this.#version = head.version;
    this.protocol = `HTTP/${head.version}`;
    this.#keepAlive = head.keepAlive;
    const cl = head.contentLength === undefined ? -1 : Number(head.contentLength);
    this.contentLength = head.transferEncoding === undefined ? cl : -1;
    this.hasBody = head.transferEncoding !== undefined || cl > 0;
    this.bodyDone = !this.hasBody;
    // Only a request with a body pays for a stream, and it exists from the start so bytes
    // that arrive while the app is not yet asked are kept.
    this.#body = this.hasBody ? new Readable({ read: () => wire.resumeBody() }) : undefined;
    this.#body?.on('error', () => {});
  }

  get remote(): string {
    return this.#wire.remote;
  }
  get clientCert(): ClientCertHeader | undefined {
    return this.#wire.clientCert;
  }
  get headers(): IncomingHttpHeaders {
    this.#headers ??= headersObject(this.raw);
    return this.#headers;
  }
  get body(): Readable {
    this.#body ??= Readable.from([]);
    return this.#body;
  }
  get over(): boolean {
    return this.#over;
  }

  /** Request body bytes from the engine; false asks it to stop reading for now. */
  pushBody(chunk: Buffer): boolean {
    return this.#body?.push(chunk) ?? true;
  }
  endBody(): void {
    this.bodyDone = true;
    this.#body?.push(null);
  }
  failBody(err: Error): void {
    this.#body?.destroy(err);
  }

  /** The connection line of the head, and whether the connection closes after this response. */
  #connection(forceClose: boolean): string {
    if (forceClose || !this.#keepAlive || this.#wire.draining()) {
      this.#closeAfter = true;
      return `Connection: close${CRLF}`;
    }
    return this.#version === '1.0' ? `Connection: keep-alive${CRLF}` : '';
  }

  respond(
    status: number,
    reason: string,
    fields: string[],
    contentLength: number,
    first: Buffer | undefined,
    end: boolean,
  ): void {
    if (this.#over || this.headersSent) return;
    this.headersSent = true;
    this.status = status;
    this.#noBody = this.method === 'HEAD' || status === 204 || status === 304;
    let head = `HTTP/1.1 ${status} ${reason}${CRLF}`;
    for (let i = 0; i < fields.length; i += 2) head += `${fields[i]}: ${fields[i + 1]}${CRLF}`;
    let framing = '';
    let forceClose = false;
    if (contentLength >= 0) {
      if (status !== 204 && status !== 304) framing = `Content-Length: ${contentLength}${CRLF}`;
    } else if (this.#noBody) {
      // No body to frame.
    } else if (this.#version === '1.1') {
      this.#chunked = true;
      framing = `Transfer-Encoding: chunked${CRLF}`;
    } else forceClose = true; // an HTTP/1.0 client reads to the close
    head += `${framing}${this.#connection(forceClose || this.#closeAfter)}${CRLF}`;
    const socket = this.#wire.socket;
    if (end && first !== undefined && first.length <= SMALL && !this.#chunked && !this.#noBody) {
      // A small whole response goes as one string: one write, no writev of two chunks.
      this.bytes += first.length;
      socket.write(head + first.toString('latin1'), 'latin1');
      this.#finish(true);
      return;
    }
    socket.cork();
    socket.write(head, 'latin1');
    if (first && first.length > 0) this.write(first);
    if (end) this.end();
    socket.uncork();
  }

  write(chunk: Buffer): boolean {
    if (this.#over || this.#noBody) return true;
    this.bytes += chunk.length;
    const socket = this.#wire.socket;
    if (!this.#chunked) return socket.write(chunk);
    socket.cork();
    socket.write(`${chunk.length.toString(16)}${CRLF}`, 'latin1');
    socket.write(chunk);
    const ok = socket.write(CRLF, 'latin1');
    socket.uncork();
    return ok;
  }

  /**
   * A TLS socket encrypts what it is given in the write itself (OpenSSL copies the cleartext
   * into its record), unless the write is queued behind another in flight or corked.
   */
  readonly holdsWrites = false;
  takesAtOnce(): boolean {
    const s = this.#wire.socket as import('node:net').Socket & { encrypted?: boolean };
    return s.encrypted === true && !s.connecting && s.writableLength === 0 && !s.writableCorked;
  }

  end(): void {
    if (this.#over) return;
    if (this.#chunked) this.#wire.socket.write(LAST_CHUNK);
    this.#finish(true);
  }

  onDrain(cb: () => void): void {
    this.#wire.socket.once('drain', cb);
  }

  fail(status: number, text: string, headers?: Record<string, string>): void {
    if (this.#over || this.headersSent) return;
    const body = errorText(status, text);
    const fields = ['Content-Type', 'text/plain; charset=utf-8', 'Cache-Control', 'no-store'];
    let close = false;
    if (headers)
      for (const name in headers) {
        if (name === 'connection') close = true;
        else fields.push(name, headers[name] as string);
      }
    if (close) this.#closeAfter = true;
    this.respond(
      status,
      text.split(':')[0] ?? text,
      fields,
      Buffer.byteLength(body),
      undefined,
      false,
    );
    if (!this.#noBody) {
      this.bytes += Buffer.byteLength(body);
      this.#wire.socket.write(body, 'latin1');
    }
    this.#finish(true);
  }

  abort(): void {
    if (this.#over) return;
    this.#closeAfter = true;
    this.#wire.socket.destroy();
    this.close(false);
  }

  onClose(cb: (finished: boolean) => void): void {
    if (this.#over) cb(false);
    else this.#closers.push(cb);
  }

  #finish(finished: boolean): void {
    const reuse = finished && !this.#closeAfter && this.bodyDone;
    this.close(finished);
    this.#wire.exchangeDone(this, reuse);
  }

  /** Over: the response ended (finished) or the connection went away. */
  close(finished: boolean): void {
    if (this.#over) return;
    this.#over = true;
    if (!finished) this.#body?.destroy();
    const closers = this.#closers;
    this.#closers = [];
    for (const cb of closers) cb(finished);
  }
}
