// One keep-alive connection to the app with its own strict llhttp RESPONSE parser. A
// Content-Length body is passed on as read (each read copied out of the shared read buffer),
// counted, with the parser out of the way; chunked and read-to-close bodies stay on llhttp, so
// their framing is checked. A response llhttp refuses becomes a 502 and its connection is
// closed, never reused.

import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ErrorCode } from '../core/errors.ts';
import { downstreamFields } from './head.ts';
import {
  llhttp,
  type OnHeadersComplete,
  PARSER_RESOURCE,
  type ParseError,
  type Parser,
  SKIP_BODY,
  STOP_AFTER_HEAD,
} from './llhttp.ts';
import { checkResponseFields } from './response-check.ts';
import type { UpstreamPool } from './upstream-pool.ts';

/** Where the app listens, as the supervisor reports it. */
export interface Upstream {
  host: string;
  port: number;
}

/** Receives one response from the app. */
export interface ResponseSink {
  /** The head, with the body bytes read with it; `end` when that was the whole response. */
  head(
    status: number,
    reason: string,
    fields: string[],
    contentLength: number,
    first: Buffer | undefined,
    end: boolean,
  ): void;
  /** Body bytes; false to pause the app until `resume()`. */
  data(chunk: Buffer): boolean;
  /** True when bytes handed on now are used before the call returns (a view will do). */
  takesAtOnce(): boolean;
  /** True when it always keeps what it is handed past the call. */
  readonly holdsWrites: boolean;
  end(): void;
  /**
   * The exchange failed. `sent` is false when no byte can have reached the app (it never
   * connected); `head` is true once a response head was read.
   */
  fail(code: ErrorCode, detail: string, sent: boolean, reused: boolean, head: boolean): void;
}

const IDLE = 0;
const BUSY = 1;
const DEAD = 2;
/** How the body of the response in progress is read. */
const NO_BODY = 0;
const BY_LENGTH = 1;
const BY_PARSER = 2;

/** Idle connections close before a typical app's 5 s keep-alive timeout closes them. */
const IDLE_MS = 4000;

/**
 * Every app connection reads into this one buffer (`onread`): a read is parsed before the next
 * one can happen, so no read allocates, and the Readable stream's push and 'data' event are
 * skipped. Body bytes go on as views of it when the client's side takes them in at once (a TLS
 * write encrypts them in the call); otherwise they are copied out (`own`), and the reads of a
 * long Content-Length body get memory of their own. A new 64 KiB buffer per read made V8 run
 * a full GC every few responses to account for the memory outside its heap.
 */
const READ_SIZE = 64 * 1024;
const READ_BUFFER = Buffer.allocUnsafe(READ_SIZE);

/** One connection to the app: one request at a time, its response parsed strictly. */
export class UpstreamConn {
  readonly socket: Socket;
  readonly #pool: UpstreamPool;
  readonly #key: string;
  readonly #parser: Parser;
  #state = BUSY;
  #sink: ResponseSink | null = null;
  #connected = false;
  /** Served a request before: a reset before any answer may be the app closing it as reused. */
  #reused = false;
  #skipBody = false;
  #mode = NO_BODY;
  #remaining = 0;
  #needInit = false;
  /** The head read in this execute, passed on after the bytes that came with it were parsed. */
  #head: { status: number; reason: string; fields: string[]; length: number } | null = null;
  #headSent = false;
  #first: Buffer[] = [];
  #complete = false;
  #keepAlive = false;
  /** A streamed request body not yet sent whole (see `requestSent`). */
  #requestOpen = false;
  #interim = false;
  #fields: string[] = [];
  lastActive = 0;
  /** Reading paused while the client catches up; resumed only then (a resume costs a tick). */
  #paused = false;

  constructor(pool: UpstreamPool, key: string, up: Upstream) {
    this.#pool = pool;
    this.#key = key;
    const { Parser } = llhttp();
    const p = new Parser();
    this.#parser = p;
    p[Parser.kOnHeaders] = this.#onHeaders;
    p[Parser.kOnHeadersComplete] = this.#onHeadersComplete;
    p[Parser.kOnBody] = this.#onBody;
    p[Parser.kOnMessageComplete] = this.#onMessageComplete;
    this.socket = connect({
      host: up.host,
      port: up.port,
      noDelay: true,
      onread: { buffer: this.#nextBuffer, callback: this.#onRead },
    });
    this.socket.once('connect', () => {
      this.#connected = true;
    });
    this.socket.on('error', this.#onError);
    this.socket.once('close', this.#onClose);
  }

  #init(): void {
    const { Parser } = llhttp();
    this.#parser.initialize(Parser.RESPONSE, PARSER_RESOURCE, this.#pool.maxHeaderBytes, 0);
    this.#needInit = false;
    this.#fields = [];
  }

  /**
   * Sends a request head (and a whole body); the response goes to `sink`. `streamed`: the body
   * follows by `write`, and the caller says `requestSent()` once it is whole.
   */
  send(
    head: string,
    body: Buffer | undefined,
    isHead: boolean,
    sink: ResponseSink,
    streamed = false,
  ): void {
    this.#state = BUSY;
    this.#requestOpen = streamed;
    this.#sink = sink;
    this.#skipBody = isHead;
    this.#mode = NO_BODY;
    this.#head = null;
    this.#headSent = false;
    this.#complete = false;
    this.#first = [];
    this.#init();
    this.lastActive = performance.now();
    const s = this.socket;
    if (body === undefined) {
      // One chunk: corking would only queue it in the stream's buffer and take it out again.
      s.write(head, 'latin1');
      return;
    }
    s.cork();
    s.write(head, 'latin1');
    s.write(body);
    s.uncork();
  }

  #pause(): void {
    this.#paused = true;
    this.socket.pause();
  }

  /** More of a streamed request body. */
  write(chunk: Buffer | string): boolean {
    this.lastActive = performance.now();
    return typeof chunk === 'string'
      ? this.socket.write(chunk, 'latin1')
      : this.socket.write(chunk);
  }

  /** The streamed request body was written whole: the connection may be reused. */
  requestSent(): void {
    this.#requestOpen = false;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** The app reads again after the client caught up. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.socket.resume();
  }

  /** Abandons the exchange (the client went away): the connection is not reused. */
  destroy(): void {
    this.#sink = null;
    this.#kill();
  }

  #kill(): void {
    if (this.#state === DEAD) return;
    this.#state = DEAD;
    this.#pool.forget(this, this.#key);
    this.socket.destroy();
  }

  #onHeaders = (fields: string[]): void => {
    for (const f of fields) this.#fields.push(f);
  };

  #onHeadersComplete: OnHeadersComplete = (_maj, _min, fields, _m, _u, status, reason, _up, ka) => {
    let raw = fields ?? this.#fields;
    if (fields && this.#fields.length > 0) raw = this.#fields.concat(fields);
    this.#fields = [];
    const code = status ?? 0;
    if (code >= 100 && code < 200 && code !== 101) {
      // An interim response (103 Early Hints): not passed on; the final one follows.
      this.#interim = true;
      return 0;
    }
    const wrong = code === 101 ? 'an unrequested upgrade' : checkResponseFields(raw);
    if (wrong) throw new BadResponse(wrong);
    let length = -1;
    let chunked = false;
    for (let i = 0; i < raw.length; i += 2) {
      const n = (raw[i] as string).toLowerCase();
      if (n === 'content-length') length = Number(raw[i + 1]);
      else if (n === 'transfer-encoding') chunked = true;
    }
    if (chunked) length = -1;
    this.#keepAlive = ka;
    this.#head = { status: code, reason: reason ?? '', fields: downstreamFields(raw), length };
    if (this.#skipBody || code === 204 || code === 304) {
      this.#mode = NO_BODY;
      return SKIP_BODY;
    }
    if (length > 0) {
      this.#mode = BY_LENGTH;
      this.#remaining = length;
      this.#needInit = true;
      return STOP_AFTER_HEAD;
    }
    this.#mode = length === 0 ? NO_BODY : BY_PARSER;
    return 0;
  };

  #onBody = (chunk: Buffer): void => {
    if (!this.#headSent) this.#first.push(this.#own(chunk));
    else if (this.#sink && !this.#sink.data(this.#own(chunk))) this.#pause();
  };

  #onMessageComplete = (): void => {
    if (this.#interim) {
      this.#interim = false;
      return;
    }
    this.#complete = true;
  };

  /** The read in progress is in the shared buffer, so what goes on from it is copied. */
  #shared = true;

  /**
   * Where the next read goes: its own memory in the middle of a long body that the client's
   * side keeps (HTTP/2), else shared. (Asked right after a read, while the write it made is
   * still in flight: whether the next write is taken at once is known only then.)
   */
  #nextBuffer = (): Buffer =>
    this.#mode === BY_LENGTH &&
    this.#headSent &&
    this.#remaining >= READ_SIZE &&
    this.#sink?.holdsWrites === true
      ? Buffer.allocUnsafe(READ_SIZE)
      : READ_BUFFER;

  #onRead = (nread: number, buf: Buffer): boolean => {
    this.#shared = buf === READ_BUFFER;
    this.#onData(buf.subarray(0, nread));
    return true;
  };

  /**
   * Bytes of this read as the sink may use them: a view when it takes them in before it
   * returns, else a copy (small copies come from Buffer's pool).
   */
  #own(b: Buffer): Buffer {
    return this.#shared && !(this.#sink as ResponseSink).takesAtOnce() ? Buffer.from(b) : b;
  }

  /** One read, in the shared buffer: parsed now, and copied where bytes go on. */
  #onData(chunk: Buffer): void {
    this.lastActive = performance.now();
    if (this.#state !== BUSY || !this.#sink) {
      // Bytes from an idle connection are no response to anything: never reuse it.
      this.#kill();
      return;
    }
    if (this.#mode === BY_LENGTH && this.#headSent) {
      this.#lengthBody(chunk);
      return;
    }
    if (this.#needInit) {
      // Bytes past a response whose length was given: the app is not keeping to its framing.
      this.#bad('bytes after the response');
      return;
    }
    let r: number | ParseError;
    try {
      r = this.#parser.execute(chunk);
    } catch (err) {
      this.#bad(err instanceof BadResponse ? err.message : 'unreadable response');
      return;
    }
    if (typeof r !== 'number') {
      this.#bad(r.code);
      return;
    }
    this.#afterParse(chunk, r);
  }

  #afterParse(chunk: Buffer, parsed: number): void {
    const sink = this.#sink as ResponseSink;
    const head = this.#head;
    if (head && !this.#headSent) {
      this.#headSent = true;
      if (this.#mode === BY_LENGTH) {
        const rest = chunk.subarray(parsed);
        const take = Math.min(rest.length, this.#remaining);
        this.#remaining -= take;
        const done = this.#remaining === 0;
        sink.head(
          head.status,
          head.reason,
          head.fields,
          head.length,
          take > 0 ? this.#own(rest.subarray(0, take)) : undefined,
          done,
        );
        if (rest.length > take) this.#keepAlive = false;
        if (done) this.#done();
        return;
      }
      const first =
        this.#first.length === 0
          ? undefined
          : this.#first.length === 1
            ? this.#first[0]
            : Buffer.concat(this.#first);
      this.#first = [];
      sink.head(head.status, head.reason, head.fields, head.length, first, this.#complete);
      if (this.#complete) this.#done();
      return;
    }
    if (this.#complete) {
      sink.end();
      this.#done();
    }
  }

  #lengthBody(chunk: Buffer): void {
    const take = Math.min(chunk.length, this.#remaining);
    this.#remaining -= take;
    const sink = this.#sink as ResponseSink;
    const more = sink.data(this.#own(take === chunk.length ? chunk : chunk.subarray(0, take)));
    if (this.#state === DEAD) return;
    if (this.#remaining > 0) {
      if (!more) this.#pause();
      return;
    }
    if (chunk.length > take) this.#keepAlive = false;
    sink.end();
    this.#done();
  }

  /** The response is whole: the connection goes back to the pool, or closes. */
  #done(): void {
    if (this.#state === DEAD) return;
    this.#sink = null;
    this.#reused = true;
    // An app that answered before the request body was whole is still reading that body: a
    // request sent next on this connection would be read as the rest of it (and the client
    // who sent the body would get another's request in it). Closed, as nginx does.
    if (!this.#keepAlive || this.#pool.closing || this.#requestOpen) {
      this.#kill();
      return;
    }
    this.resume();
    this.#state = IDLE;
    this.#needInit = false;
    this.#pool.release(this, this.#key);
  }

  #bad(detail: string): void {
    const sink = this.#sink;
    this.#sink = null;
    this.#kill();
    sink?.fail(ErrorCode.APP_BAD_RESPONSE, detail, true, this.#reused, this.#head !== null);
  }

  /** The sweep: an app silent past the upstream timeout gets a 504; idle connections close. */
  expire(now: number): void {
    if (this.#state === IDLE) {
      if (now - this.lastActive > IDLE_MS) this.#kill();
      return;
    }
    if (this.#state !== BUSY || now - this.lastActive <= this.#pool.timeoutMs) return;
    const sink = this.#sink;
    this.#sink = null;
    this.#kill();
    sink?.fail(
      ErrorCode.APP_TIMEOUT,
      'the app sent nothing in time',
      true,
      this.#reused,
      this.#head !== null,
    );
  }

  #error: NodeJS.ErrnoException | undefined;
  #onError = (err: NodeJS.ErrnoException): void => {
    this.#error ??= err;
  };

  #onClose = (): void => {
    const sink = this.#sink;
    this.#sink = null;
    const wasBusy = this.#state === BUSY;
    this.#state = DEAD;
    this.#pool.forget(this, this.#key);
    // A body read to the close (no length, not chunked) ends here, if llhttp agrees; it is
    // asked before the parser is freed, which would drop the end of that message, and the
    // client got a chunked response with no last chunk.
    const readToClose =
      !!sink && wasBusy && this.#mode === BY_PARSER && this.#headSent && !this.#error;
    const ended = readToClose && this.#parser.finish() === undefined && this.#complete;
    this.#parser.close();
    if (!sink || !wasBusy) return;
    if (ended) {
      sink.end();
      return;
    }
    const err = this.#error;
    const code = err ? errorCode(err) : ErrorCode.APP_RESET;
    // A close before the response ended reads as a reset, as node:http reported it.
    sink.fail(code, err?.code ?? 'ECONNRESET', this.#connected, this.#reused, this.#head !== null);
  };
}

/** A response head llhttp accepted but a proxy must not pass on. */
class BadResponse extends Error {}

/** Classifies a failed connection to the app. */
function errorCode(err: NodeJS.ErrnoException): ErrorCode {
  if (err.code === 'ECONNREFUSED' || err.code === 'EADDRNOTAVAIL') return ErrorCode.APP_UNREACHABLE;
  if (err.code === 'EMFILE' || err.code === 'ENFILE') return ErrorCode.FD_EXHAUSTED;
  return ErrorCode.APP_RESET;
}
