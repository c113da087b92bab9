// Connection-level events (parser rejects, HTTP/2 abuse, failed TLS handshakes, caps at accept):
// one line shape, `connection rejected`, counted exactly by reason and throttled per reason so
// a flood of them is not a flood of the log. What the client sent is never logged; only the
// parser's error code and the peer address.
import { ErrorCode } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { newRequestId } from '../http/trace.ts';
import type { AccessLog } from '../logs/access-log.ts';
import { errorBodyBytes, statusOf } from './error-status.ts';
import { LogThrottle } from './log-throttle.ts';
import type { MemoryRelief } from './memory-relief.ts';
import type { TraceStart } from './proxy.ts';

/** A reason is logged only if it looks like an error code, never as free text from a peer. */
const REASON = /^[A-Z0-9_]{1,64}$/;

/**
 * Events per reason a second logged one by one: enough for a handful of bad clients to be
 * seen each, few enough that 10,000 parser rejects a second write 11 lines, not 10,000.
 */
const BURST = 10;

export class Rejections {
  readonly #log: Logger;
  readonly #accessLog: AccessLog | undefined;
  readonly #counts = new Map<string, number>();
  readonly #emit = (reason: string, suppressed: number, fields: Record<string, unknown>): void =>
    this.#log.warn('connection rejected', {
      code: ErrorCode.CONNECTION_REJECTED,
      reason,
      ...fields,
      count: this.#counts.get(reason),
      ...(suppressed > 0 ? { suppressed } : {}),
    });
  /** Refusals at accept: one line a second per reason. */
  readonly #floods = new LogThrottle({ intervalMs: 1000, emit: this.#emit });
  /** Refusals of a connection that was read: BURST lines a second per reason. */
  readonly #events = new LogThrottle({ intervalMs: 1000, burst: BURST, emit: this.#emit });

  readonly #relief: MemoryRelief | undefined;
  readonly #trace: TraceStart | undefined;

  /**
   * `relief` is told of every event, so memory a flood made V8 keep is given back after it.
   * With `trace`, each refused request's access record carries a trace of its own, so its span
   * reaches the collector like any request's.
   */
  constructor(log: Logger, accessLog?: AccessLog, relief?: MemoryRelief, trace?: TraceStart) {
    this.#log = log;
    this.#accessLog = accessLog;
    this.#relief = relief;
    this.#trace = trace;
  }

  /**
   * The access line of a request refused before it could be read: the method and target are
   * not known (or not to be trusted), so they are logged as `-`, never as the client's bytes.
   * Its trace is a new one: a traceparent in a head that was not parsed whole is not read.
   */
  #access(remote: string | undefined, status: number, code: ErrorCode, method = '-'): void {
    this.#accessLog?.({
      method,
      path: '-',
      status,
      durationMs: 0,
      bytes: errorBodyBytes(code),
      protocol: 'HTTP/1.1',
      remote: remote ?? '',
      requestId: newRequestId(),
      error: code,
      trace: this.#trace?.(undefined, undefined),
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

  /** Logs (throttled per reason past BURST a second) and counts one rejection. */
  record(reason: string, remote: string | undefined, fields?: Record<string, unknown>): void {
    const r = REASON.test(reason) ? reason : 'OTHER';
    this.#counts.set(r, (this.#counts.get(r) ?? 0) + 1);
    this.#relief?.note();
    this.#events.note(r, { remote, ...fields });
  }

  /**
   * Writes the summaries still pending and one `connection events` line with every count by
   * reason (at stop), so the log's counts add up to every event, suppressed or not.
   */
  flush(): void {
    this.#relief?.stop();
    this.#events.flush();
    this.#floods.flush();
    if (this.#counts.size > 0)
      this.#log.info('connection events', { counts: this.counts, total: this.total });
  }

  /**
   * Counts one rejection made at accept (the connection cap, EMFILE), where they come in
   * floods: the log gets one line per reason a second, with `suppressed` saying how many it
   * skipped and `count` the running total.
   */
  recordFlood(reason: string, remote: string | undefined, fields?: Record<string, unknown>): void {
    const r = REASON.test(reason) ? reason : 'OTHER';
    this.#counts.set(r, (this.#counts.get(r) ?? 0) + 1);
    this.#relief?.note();
    this.#floods.note(r, { remote, ...fields });
  }

  /**
   * A request refused at the connection level (a parser error, slow headers, CONNECT): counted
   * under `reason` (the parser's error code), with one access line; the connection then closes.
   */
  refuse(reason: string, remote: string, code: ErrorCode, method = '-'): void {
    this.record(reason, remote, { status: statusOf(code) });
    this.#access(remote, statusOf(code), code, method);
  }

  /** Counts a refusal whose access line the exchange itself writes. */
  count(reason: string, remote: string, status: number): void {
    this.record(reason, remote, { status });
  }
}
