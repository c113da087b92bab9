// Floods at accept (the connection cap, EMFILE, failed handshakes) come thousands a second: one
// line per event would turn an attack on the listener into one on the log. Each is counted;
// the log gets the first of a burst and then one line per interval saying how many it skipped.

export interface ThrottleOptions {
  intervalMs: number;
  /** Writes one line; `suppressed` is how many events since the last line went unlogged. */
  emit(key: string, suppressed: number, fields: Record<string, unknown>): void;
}

export class LogThrottle {
  readonly #opts: ThrottleOptions;
  readonly #quiet = new Map<
    string,
    { suppressed: number; last: Record<string, unknown>; timer: NodeJS.Timeout }
  >();

  constructor(opts: ThrottleOptions) {
    this.#opts = opts;
  }

  /** Logs now if `key` was quiet for an interval; otherwise at the interval's end, summed. */
  note(key: string, fields: Record<string, unknown>): void {
    const q = this.#quiet.get(key);
    if (q) {
      q.suppressed++;
      q.last = fields;
      return;
    }
    this.#opts.emit(key, 0, fields);
    this.#arm(key, fields);
  }

  #arm(key: string, fields: Record<string, unknown>): void {
    const q = { suppressed: 0, last: fields, timer: undefined as unknown as NodeJS.Timeout };
    q.timer = setTimeout(() => {
      this.#quiet.delete(key);
      if (q.suppressed === 0) return;
      // The summary line carries the latest event's fields; the next interval stays quiet.
      this.#opts.emit(key, q.suppressed, q.last);
      this.#arm(key, q.last);
    }, this.#opts.intervalMs);
    q.timer.unref();
    this.#quiet.set(key, q);
  }
}
