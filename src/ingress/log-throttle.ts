// Floods at accept (the connection cap, EMFILE, failed handshakes) come thousands a second: one
// line per event would turn an attack on the listener into one on the log. Each is counted;
// the log gets the first `burst` of an interval and then one line per interval saying how many
// it skipped.

export interface ThrottleOptions {
  intervalMs: number;
  /** Events per key logged one by one in an interval before the rest are summed (default 1). */
  burst?: number;
  /** Writes one line; `suppressed` is how many events since the last line went unlogged. */
  emit(key: string, suppressed: number, fields: Record<string, unknown>): void;
}

interface Quiet {
  logged: number;
  suppressed: number;
  last: Record<string, unknown>;
  timer: NodeJS.Timeout;
}

export class LogThrottle {
  readonly #opts: ThrottleOptions;
  readonly #burst: number;
  readonly #quiet = new Map<string, Quiet>();

  constructor(opts: ThrottleOptions) {
    this.#opts = opts;
    this.#burst = Math.max(1, opts.burst ?? 1);
  }

  /** Logs now if `key` logged fewer than `burst` lines this interval; otherwise at its end, summed. */
  note(key: string, fields: Record<string, unknown>): void {
    const q = this.#quiet.get(key);
    if (q && q.logged >= this.#burst) {
      q.suppressed++;
      q.last = fields;
      return;
    }
    this.#opts.emit(key, 0, fields);
    if (q) q.logged++;
    else this.#arm(key, fields, 1);
  }

  /** Writes the pending summaries now (at stop), so no count is left unsaid. */
  flush(): void {
    for (const [key, q] of this.#quiet) {
      clearTimeout(q.timer);
      if (q.suppressed > 0) this.#opts.emit(key, q.suppressed, q.last);
    }
    this.#quiet.clear();
  }

  #arm(key: string, fields: Record<string, unknown>, logged: number): void {
    const q: Quiet = { logged, suppressed: 0, last: fields, timer: undefined as never };
    q.timer = setTimeout(() => {
      this.#quiet.delete(key);
      if (q.suppressed === 0) return;
      // The summary line carries the latest event's fields; the next interval stays quiet.
      this.#opts.emit(key, q.suppressed, q.last);
      this.#arm(key, q.last, this.#burst);
    }, this.#opts.intervalMs);
    q.timer.unref();
    this.#quiet.set(key, q);
  }
}
