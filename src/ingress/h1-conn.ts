// Pillion's HTTP/1.1 engine: one object per client connection, llhttp (strict) on the raw TLS
// socket. The parser stops after each head without Transfer-Encoding (STOP_AFTER_HEAD) and the
// engine reads a Content-Length body itself, as the bytes came; a chunked body stays on llhttp
// (its checks of the head run, its framing is strict), and a head llhttp reaches behind one is
// held. So exactly one exchange is in flight per connection and nothing pipelined behind it is
// served before its response ends. Timeouts are deadlines checked by one coarse sweep (sweep.ts), not timers.
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import { ErrorCode } from '../core/errors.ts';
import type { ClientCertHeader } from '../http/headers.ts';
import { clientErrorCode, rawErrorResponse, statusOf } from './error-status.ts';
import {
  checkH1,
  type H1Head,
  hasTransferEncoding,
  isWebSocketUpgrade,
  scanHead,
  type Target,
} from './guard.ts';
import { H1Exchange, type H1Wire } from './h1-exchange.ts';
import type { EdgeLimits } from './limits.ts';
import {
  llhttp,
  type OnHeadersComplete,
  PARSER_RESOURCE,
  type ParseError,
  type Parser,
  STOP_AFTER_HEAD,
} from './llhttp.ts';
import type { Sweep } from './sweep.ts';

/** What the engine hands on, and to whom. */
export interface H1Deps {
  readonly limits: EdgeLimits;
  readonly sweep: Sweep;
  draining(): boolean;
  /** A request whose head was read: forward it, or answer it with `refused` alone. */
  serve(ex: H1Exchange, refused: ErrorCode | undefined): void;
  /** A WebSocket upgrade: the socket, with the bytes read after the head, leaves the engine. */
  upgrade(
    head: H1Head,
    verdict: Target | ErrorCode,
    socket: TLSSocket,
    early: Buffer,
    clientCert: ClientCertHeader | undefined,
  ): void;
  /** A connection-level refusal (parser error, timeout, CONNECT): counted, logged, one access line. */
  refuse(reason: string, remote: string, code: ErrorCode, method?: string): void;
  /** Counts a refusal whose access line the exchange writes. */
  count(reason: string, remote: string, status: number): void;
}

const HEAD: number = 0;
const BODY_LENGTH: number = 1;
const BODY_CHUNKED: number = 2;
/** The request is read; its response is under way. */
const WAIT: number = 3;
const GONE: number = 4;

/**
 * Added to the keep-alive timeout before an idle connection is closed, as node:http's
 * keepAliveTimeoutBuffer (1 s) did: a client that sends its next request just as the timeout
 * runs out is not cut (it would see its request fail with no answer).
 */
const KEEP_ALIVE_GRACE_MS = 1000;

/** Deadlines the sweep checks. */
const NONE: number = 0;
const HEADERS: number = 1;
const IDLE: number = 2;

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

export class H1Conn implements H1Wire {
  readonly socket: TLSSocket;
  readonly remote: string;
  readonly clientCert: ClientCertHeader | undefined;
  readonly #deps: H1Deps;
  readonly #parser: Parser;
  #state: number = HEAD;
  /** Which deadline applies, and when it passes (the sweep's clock). */
  phase: number = HEADERS;
  deadline: number;
  /** The parser stopped after a head (its upgrade flag is set): initialise it before the next. */
  #needInit = false;
  #remaining = 0;
  #ex: H1Exchange | null = null;
  /** Bytes read while an exchange was in flight, parsed once it is over. */
  #stash: Buffer | null = null;
  /** A head (or parse error) llhttp reached behind a chunked body, served in order. */
  #pendingHead: H1Head | null = null;
  #pendingError: ParseError | null = null;
  #head: H1Head | null = null;
  #headReady = false;
  /** The head being read has Transfer-Encoding: llhttp reads its body in the same run. */
  #chunkedHead = false;
  /** Body chunks llhttp read with the head, before the exchange existed. */
  #early: Buffer[] = [];
  #bodyDone = false;
  /** A message began (bytes of a head were read) since the last exchange ended. */
  #begun = false;
  /** A message began after the chunked body in flight was whole. */
  #begunNext = false;
  #fields: string[] = [];
  #url = '';
  #feeding = false;
  #paused = false;
  #consumed = false;

  constructor(socket: TLSSocket, deps: H1Deps, clientCert?: ClientCertHeader) {
    this.socket = socket;
    this.remote = socket.remoteAddress ?? '';
    this.clientCert = clientCert;
    this.#deps = deps;
    const { Parser } = llhttp();
    const p = new Parser();
    this.#parser = p;
    p[Parser.kOnMessageBegin] = this.#onBegin;
    p[Parser.kOnHeaders] = this.#onHeaders;
    p[Parser.kOnHeadersComplete] = this.#onHeadersComplete;
    p[Parser.kOnBody] = this.#onBody;
    p[Parser.kOnMessageComplete] = this.#onMessageComplete;
    p[Parser.kOnExecute] = this.#onExecute;
    this.#init();
    this.deadline = performance.now() + deps.limits.headersTimeoutMs;
    socket.on('data', this.#onData);
    socket.on('error', () => {});
    socket.once('close', this.#onClose);
    deps.sweep.add(this);
    this.#consume();
  }

  draining(): boolean {
    return this.#deps.draining();
  }

  #init(): void {
    const { Parser } = llhttp();
    this.#parser.initialize(Parser.REQUEST, PARSER_RESOURCE, this.#deps.limits.maxHeaderBytes, 0);
    this.#needInit = false;
    this.#fields = [];
    this.#url = '';
  }

  #onBegin = (): void => {
    this.#begun = true;
    if (this.#bodyDone) this.#begunNext = true;
    if (this.#state === HEAD && this.phase === IDLE) {
      this.phase = HEADERS;
      this.deadline = performance.now() + this.#deps.limits.headersTimeoutMs;
    }
  };

  // node's binding hands over fields in batches of 32 when a head has more.
  #onHeaders = (fields: string[], url: string): void => {
    for (const f of fields) this.#fields.push(f);
    this.#url += url;
  };

  #onHeadersComplete: OnHeadersComplete = (maj, min, fields, method, url, _s, _m, upgrade, ka) => {
    if (fields === undefined) {
      fields = this.#fields;
      url = this.#url;
    } else if (this.#fields.length > 0) {
      for (const f of fields) this.#fields.push(f);
      fields = this.#fields;
      url = this.#url + (url ?? '');
    }
    const head: H1Head = {
      method: llhttp().methods[method ?? -1] ?? 'GET',
      url: url ?? '',
      version: `${maj}.${min}`,
      raw: fields,
      keepAlive: ka,
      upgrade,
      hosts: 0,
      host: undefined,
      transferEncoding: undefined,
      contentLength: undefined,
      expect: undefined,
      underscore: false,
    };
    this.#fields = [];
    this.#url = '';
    if (this.#bodyDone || this.#headReady) {
      // Behind a chunked body llhttp has just read: held until that exchange is over.
      this.#pendingHead = head;
      return STOP_AFTER_HEAD;
    }
    this.#head = head;
    this.#headReady = true;
    this.#chunkedHead = hasTransferEncoding(head);
    return this.#chunkedHead ? 0 : STOP_AFTER_HEAD;
  };

  #onBody = (chunk: Buffer): void => {
    const ex = this.#ex;
    if (ex === null) this.#early.push(chunk);
    else if (!ex.pushBody(chunk)) this.#pause();
  };

  #onMessageComplete = (): void => {
    if (!this.#chunkedHead || this.#bodyDone || this.#pendingHead) return;
    this.#bodyDone = true;
    // Request trailers are dropped (B2); node's binding flushed them as fields.
    this.#fields = [];
    this.#url = '';
  };

  #onData = (chunk: Buffer): void => {
    if (this.#state === GONE) return;
    if (this.#state === WAIT || this.#feeding) {
      this.#keep(chunk);
      return;
    }
    this.#feeding = true;
    try {
      this.#feed(chunk);
    } finally {
      this.#feeding = false;
    }
  };

  #keep(chunk: Buffer): void {
    this.#stash = this.#stash ? Buffer.concat([this.#stash, chunk]) : chunk;
    this.#pause();
  }

  #pause(): void {
    this.#unconsume();
    if (this.#paused) return;
    this.#paused = true;
    this.socket.pause();
  }

  resumeBody(): void {
    if (!this.#paused || this.#state === WAIT) return;
    this.#paused = false;
    this.socket.resume();
  }

  #feed(chunk: Buffer): void {
    let buf: Buffer | null = chunk;
    while (buf !== null && buf.length > 0) {
      switch (this.#state) {
        case HEAD:
          this.#prepareHead();
          buf = this.#afterHead(this.#parser.execute(buf), buf);
          break;
        case BODY_LENGTH: {
          const take = Math.min(this.#remaining, buf.length);
          const part = take === buf.length ? buf : buf.subarray(0, take);
          buf = take === buf.length ? EMPTY : buf.subarray(take);
          this.#remaining -= take;
          const ex = this.#ex as H1Exchange;
          const more = ex.pushBody(part);
          if (this.#remaining === 0) this.#bodyEnd();
          else if (!more) this.#pause();
          break;
        }
        case BODY_CHUNKED:
          this.#afterChunk(this.#parser.execute(buf), buf);
          return;
        case WAIT:
          this.#keep(buf);
          return;
        default:
          return;
      }
    }
  }

  /** Readies the parser for a head: initialised if it stopped after the last one. */
  #prepareHead(): void {
    if (this.#needInit) this.#init();
    this.#headReady = false;
    this.#chunkedHead = false;
    this.#bodyDone = false;
    this.#begunNext = false;
    if (this.#early.length > 0) this.#early = [];
  }

  /**
   * After llhttp ran over `buf` (or, while it reads the socket itself, over the read it was
   * handed) for a head: the bytes left to go on with, or null.
   */
  #afterHead(r: number | ParseError, buf: Buffer | undefined): Buffer | null {
    const head = this.#head as H1Head;
    if (typeof r !== 'number') {
      if (this.#headReady && this.#bodyDone) {
        // A whole chunked request, then bytes llhttp refused: serve it, then refuse them.
        this.#pendingError = r;
        this.#start(head, EMPTY);
      } else this.#parseError(r);
      return null;
    }
    if (!this.#headReady) {
      // A stop without a head is a parse error llhttp reported as an upgrade pause.
      if (r < (buf ?? this.#parser.getCurrentBuffer()).length) this.#parseError(undefined);
      return null;
    }
    const rest = (buf ?? this.#parser.getCurrentBuffer()).subarray(r);
    if (this.#chunkedHead) {
      const left = this.#afterChunked(rest);
      if (!this.#start(head, EMPTY) && left.length > 0 && this.#state !== GONE) this.#keep(left);
      return null;
    }
    this.#needInit = true;
    if (this.#start(head, rest) || this.#state === GONE) return null;
    if (this.#state === WAIT) {
      if (rest.length > 0) this.#keep(rest);
      return null;
    }
    return rest;
  }

  /** After llhttp ran over more of a chunked body. */
  #afterChunk(r: number | ParseError, buf: Buffer | undefined): void {
    if (typeof r !== 'number') {
      if (this.#bodyDone) {
        // The body was whole; the error is in what the client pipelined behind it.
        this.#pendingError = r;
        this.#bodyEnd();
      } else this.#bodyError(r);
      return;
    }
    if (!this.#bodyDone) return;
    const rest = this.#afterChunked((buf ?? this.#parser.getCurrentBuffer()).subarray(r));
    this.#bodyEnd();
    if (rest.length > 0) this.#keep(rest);
  }

  /** llhttp ran in C++ over a read of the socket (consume mode). */
  #onExecute = (r: number | ParseError): void => {
    // Out of consume mode while this runs: a read that a write of ours brings on (TLS can
    // read as it writes) goes to the socket's own path and is kept, in order, not lost.
    this.#unconsume();
    this.#feeding = true;
    try {
      let rest: Buffer | null = null;
      if (this.#state === HEAD) rest = this.#afterHead(r, undefined);
      else if (this.#state === BODY_CHUNKED) this.#afterChunk(r, undefined);
      if (rest !== null && rest.length > 0) this.#feed(rest);
    } finally {
      this.#feeding = false;
    }
    this.#goOn();
  };

  /** Reads on: bytes kept while busy are parsed first, then llhttp reads the socket again. */
  #goOn(): void {
    const stash = this.#stash;
    if (stash && this.#state !== WAIT && this.#state !== GONE) {
      this.#stash = null;
      this.#feeding = true;
      try {
        this.#feed(stash);
      } finally {
        this.#feeding = false;
      }
    }
    const s = this.#state;
    if (this.#stash || (s !== HEAD && s !== BODY_LENGTH && s !== BODY_CHUNKED)) return;
    if (s === HEAD) this.#prepareHead();
    if (s !== BODY_LENGTH) this.#consume();
    if (this.#paused) {
      this.#paused = false;
      this.socket.resume();
    }
  }

  /**
   * llhttp reads the socket itself while a head (or a chunked body) is read: no Buffer and no
   * stream event per read. Only when nothing waits in the socket's own buffer, so bytes stay
   * in order.
   */
  #consume(): void {
    if (this.#consumed || this.socket.readableLength > 0 || this.socket.destroyed) return;
    const handle = (this.socket as unknown as { _handle: object | null })._handle;
    if (!handle) return;
    this.#parser.consume(handle);
    this.#consumed = true;
  }

  #unconsume(): void {
    if (!this.#consumed) return;
    this.#consumed = false;
    this.#parser.unconsume();
  }

  /**
   * After a run of llhttp over a chunked request: the bytes it did not parse, and whether the
   * parser is to be initialised before the next head (it stopped after a held head, or at an
   * upgrade pause) or goes on as it is (it is inside the next head).
   */
  #afterChunked(unparsed: Buffer): Buffer {
    if (!this.#bodyDone) return EMPTY;
    this.#needInit = this.#pendingHead !== null || unparsed.length > 0 || !this.#begunNext;
    return unparsed;
  }

  /** Serves a head; true when the socket (and `rest`) left the engine with it. */
  #start(head: H1Head, rest: Buffer): boolean {
    scanHead(head);
    this.phase = NONE;
    const deps = this.#deps;
    if (head.method === 'CONNECT') {
      // Never tunnelled: the ingress leads only to the app (S6).
      this.#refuse('CONNECT', ErrorCode.REQUEST_INVALID, 'CONNECT');
      return true;
    }
    const verdict = checkH1(head, deps.limits);
    if (head.upgrade && isWebSocketUpgrade(head)) {
      this.#state = GONE;
      const s = this.socket;
      s.off('data', this.#onData);
      s.off('close', this.#onClose);
      deps.sweep.delete(this);
      this.#unconsume();
      closeLater(this.#parser);
      // Out of flowing mode with no reader: bytes wait in the socket until the tunnel reads
      // them (as node:http leaves an upgraded socket).
      s.pause();
      (s as { readableFlowing: boolean | null }).readableFlowing = null;
      const early = this.#stash ? Buffer.concat([this.#stash, rest]) : rest;
      this.#stash = null;
      deps.upgrade(head, verdict.ok ? verdict.target : verdict.code, s, early, this.clientCert);
      return true;
    }
    const target = verdict.ok ? verdict.target : undefined;
    const ex = new H1Exchange(
      this,
      head,
      target?.path ?? head.url,
      target?.authority ?? head.host ?? '',
    );
    this.#ex = ex;
    if (!verdict.ok) {
      // Refused: nothing after this head is read; the connection closes after the answer.
      this.#state = WAIT;
      deps.serve(ex, verdict.code);
      return false;
    }
    if (head.transferEncoding !== undefined) {
      // llhttp has read the body's start with the head; the rest comes in BODY_CHUNKED.
      for (const c of this.#early) ex.pushBody(c);
      this.#early = [];
      this.#state = BODY_CHUNKED;
      if (this.#bodyDone) this.#bodyEnd();
    } else if (ex.contentLength > 0) {
      this.#state = BODY_LENGTH;
      this.#remaining = ex.contentLength;
    } else this.#state = WAIT;
    if (head.expect !== undefined && head.version === '1.1') this.socket.write(CONTINUE);
    deps.serve(ex, undefined);
    return false;
  }

  #bodyEnd(): void {
    this.#state = WAIT;
    this.#ex?.endBody();
  }

  /** A request llhttp could not parse, with no exchange in flight: answer, count, close. */
  #parseError(err: ParseError | undefined): void {
    const code = clientErrorCode(err ?? ({ code: 'HPE_INVALID' } as ParseError));
    this.#refuse(err?.code ?? 'HPE_INVALID', code);
  }

  /** A body llhttp could not parse: the exchange answers it (or is aborted) and the connection closes. */
  #bodyError(err: ParseError): void {
    const ex = this.#ex;
    this.#state = WAIT;
    if (!ex) return;
    const code = clientErrorCode(err);
    this.#deps.count(err.code, this.remote, statusOf(code));
    ex.error = code;
    ex.failBody(err);
    if (!ex.headersSent) {
      ex.fail(statusOf(code), 'Bad Request', { connection: 'close' });
    } else ex.abort();
  }

  #refuse(reason: string, code: ErrorCode, method?: string): void {
    this.#state = GONE;
    this.#deps.refuse(reason, this.remote, code, method);
    this.#close(rawErrorResponse(code));
  }

  #close(last?: string): void {
    this.#state = GONE;
    this.#deps.sweep.delete(this);
    const s = this.socket;
    if (s.destroyed) return;
    if (last !== undefined && s.writable) s.end(last, 'latin1', () => s.destroy());
    else s.destroySoon();
  }

  exchangeDone(ex: H1Exchange, reuse: boolean): void {
    if (this.#ex !== ex) return;
    this.#ex = null;
    if (!reuse || this.#state === GONE || this.socket.destroyed) {
      this.#close();
      return;
    }
    this.#state = HEAD;
    this.phase = IDLE;
    // A head already begun behind a chunked body keeps its mark.
    this.#begun = this.#begunNext && !this.#needInit;
    this.#bodyDone = false;
    this.deadline = performance.now() + this.#deps.limits.keepAliveTimeoutMs + KEEP_ALIVE_GRACE_MS;
    if (this.#feeding) process.nextTick(() => this.#next());
    else this.#next();
  }

  /** Goes on with what was read behind the exchange that just ended. */
  #next(): void {
    if (this.#state !== HEAD) return;
    const err = this.#pendingError;
    if (err) {
      this.#pendingError = null;
      this.#parseError(err);
      return;
    }
    const head = this.#pendingHead;
    if (head) {
      this.#pendingHead = null;
      if (hasTransferEncoding(head)) {
        // Held behind a chunked body, its own body was skipped with llhttp's checks of its
        // head: it is refused, never guessed at.
        this.#refuse('PIPELINED_CHUNKED', ErrorCode.REQUEST_INVALID);
        return;
      }
      const stash = this.#stash;
      this.#stash = null;
      this.#feeding = true;
      let taken: boolean;
      try {
        taken = this.#start(head, stash ?? EMPTY);
      } finally {
        this.#feeding = false;
      }
      if (taken) return;
      if (stash) this.#stash = this.#stash ? Buffer.concat([stash, this.#stash]) : stash;
    }
    this.#goOn();
  }

  /** The sweep: a passed deadline ends the connection (408 for slow headers). */
  expire(now: number): void {
    if (this.phase === NONE || now < this.deadline || this.#state !== HEAD) return;
    if (this.phase === IDLE && !this.#begun) {
      this.#close();
      this.socket.destroy();
      return;
    }
    this.#refuse('HEADERS_TIMEOUT', ErrorCode.REQUEST_TIMEOUT);
  }

  /** Drain: an idle connection closes now; a busy one after its response (Connection: close). */
  closeIfIdle(): void {
    if (this.#state === HEAD && this.#ex === null && (this.phase === IDLE || !this.#begun)) {
      this.#close();
      this.socket.destroy();
    }
  }

  /** The drain deadline passed: the request in flight is cut by Pillion (503 if still possible). */
  cut(): void {
    const ex = this.#ex;
    if (ex && !ex.over) {
      ex.error = ErrorCode.DRAIN_TIMEOUT;
      if (!ex.headersSent)
        ex.fail(statusOf(ErrorCode.DRAIN_TIMEOUT), 'Service Unavailable: shutting down', {
          connection: 'close',
        });
      else ex.abort();
    }
    this.#close();
  }

  #onClose = (): void => {
    this.#state = GONE;
    this.#deps.sweep.delete(this);
    this.#unconsume();
    closeLater(this.#parser);
    const ex = this.#ex;
    this.#ex = null;
    if (ex && !ex.over) {
      if (!ex.bodyDone) ex.failBody(new Error('client closed the connection'));
      ex.close(false);
    }
  };
}

const EMPTY = Buffer.alloc(0);

/**
 * Frees a parser's native half on a later turn: this may run inside the parser's own read
 * callback (an upgrade found in a read it consumed), and freeing it there corrupts the heap.
 */
function closeLater(parser: Parser): void {
  setImmediate(() => parser.close());
}
