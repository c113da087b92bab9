// Connection-level rejections: one structured event each, counted by reason. What the client
// sent is never logged; only the parser's error code and the peer address.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ErrorCode } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { AccessLog } from '../logs/access-log.ts';
import { clientErrorCode, rawErrorResponse, statusOf } from './error-status.ts';
import { closingSockets } from './exchange.ts';
import { LogThrottle } from './log-throttle.ts';

/** A reason is logged only if it looks like an error code, never as free text from a peer. */
const REASON = /^[A-Z0-9_]{1,64}$/;

export class Rejections {
  readonly #log: Logger;
  readonly #accessLog: AccessLog | undefined;
  readonly #counts = new Map<string, number>();
  /** The latest request and response on each HTTP/1 connection. */
  readonly current = new WeakMap<Socket, { req: IncomingMessage; res: ServerResponse }>();
  readonly #floods = new LogThrottle({
    intervalMs: 1000,
    emit: (reason, suppressed, fields) =>
      this.#log.warn('connection rejected', {
        code: ErrorCode.CONNECTION_REJECTED,
        reason,
        ...fields,
        count: this.#counts.get(reason),
        suppressed,
      }),
  });

  constructor(log: Logger, accessLog?: AccessLog) {
    this.#log = log;
    this.#accessLog = accessLog;
  }

  /**
   * The access line of a request refused before it could be read: the method and target are
   * not known (or not to be trusted), so they are logged as `-`, never as the client's bytes.
   */
  #access(remote: string | undefined, status: number, code: ErrorCode, method = '-'): void {
    this.#accessLog?.({
      method,
      path: '-',
      status,
      durationMs: 0,
      bytes: 0,
      protocol: 'HTTP/1.1',
      remote: remote ?? '',
      requestId: randomUUID(),
      error: code,
    });
  }

  /** Counts by reason, for tests and metrics. */
  get counts(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  get total(): number {
    let n = 0;
    for (const v of this.#counts.values()) n += v;
    return n;
  }

  /** Logs and counts one rejection. */
  record(reason: string, remote: string | undefined, fields?: Record<string, unknown>): void {
    const r = REASON.test(reason) ? reason : 'OTHER';
    const count = (this.#counts.get(r) ?? 0) + 1;
    this.#counts.set(r, count);
    this.#log.warn('connection rejected', {
      code: ErrorCode.CONNECTION_REJECTED,
      reason: r,
      remote,
      count,
      ...fields,
    });
  }

  /**
   * Counts one rejection made at accept (the connection cap, EMFILE), where they come in
   * floods: the log gets one line per reason a second, with `suppressed` saying how many it
   * skipped and `count` the running total.
   */
  recordFlood(reason: string, remote: string | undefined, fields?: Record<string, unknown>): void {
    const r = REASON.test(reason) ? reason : 'OTHER';
    this.#counts.set(r, (this.#counts.get(r) ?? 0) + 1);
    this.#floods.note(r, { remote, ...fields });
  }

  /** The HTTP/1 server's `clientError`: answer with the mapped status if possible, then close. */
  onClientError = (err: NodeJS.ErrnoException, socket: Socket): void => {
    const code = clientErrorCode(err);
    // A peer that vanished needs no answer and is no attack; it is not counted.
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
      socket.destroy();
      return;
    }
    closingSockets.add(socket);
    const cur = this.current.get(socket);
    const answer = (): void => {
      this.record(err.code ?? 'OTHER', socket.remoteAddress, { status: statusOf(code) });
      this.#access(socket.remoteAddress, statusOf(code), code);
      if (socket.writable) socket.end(rawErrorResponse(code), () => socket.destroy());
      else socket.destroy();
    };
    if (!cur || cur.res.writableFinished || (!cur.req.complete && !cur.res.headersSent)) {
      // Nothing answered yet, or the error is in the current request's own body.
      answer();
    } else if (cur.req.complete) {
      // The error is in a request pipelined behind one still being answered: answer in order.
      cur.res.once('finish', answer);
      cur.res.once('close', () => {
        if (!cur.res.writableFinished) socket.destroy();
      });
    } else {
      this.record(err.code ?? 'OTHER', socket.remoteAddress);
      socket.destroy();
    }
  };

  /** CONNECT is never tunnelled: the ingress leads only to the app (S6). */
  onConnect = (_req: unknown, socket: Socket): void => {
    this.record('CONNECT', socket.remoteAddress, { status: 400 });
    this.#access(socket.remoteAddress, 400, ErrorCode.REQUEST_INVALID, 'CONNECT');
    socket.end(rawErrorResponse(ErrorCode.REQUEST_INVALID), () => socket.destroy());
  };
}
