import type { Writable } from 'node:stream';

export type Level = 'debug' | 'info' | 'warn' | 'error';

/** Levels in order, for the least level Pillion's own events are written at. */
const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/**
 * Where every JSON log line goes (Pillion's stdout by default). Writes never drop: when the
 * destination is slow, `write` returns false and producers wait for `whenWritable()`.
 */
export class LogOutput {
  readonly #dest: Writable;
  #waiters: (() => void)[] = [];
  /** Pillion's own events under this level are not written (`logs.level`); the app's always are. */
  minLevel: Level = 'debug';

  constructor(dest: Writable) {
    this.#dest = dest;
    dest.on('drain', () => {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w();
    });
    // A closed reader (EPIPE) must not crash the sidecar; the app keeps running.
    dest.on('error', () => {});
  }

  /** Writes whole lines (each ending in \n); false means the caller should wait before more. */
  write(lines: string): boolean {
    return this.#dest.write(lines);
  }

  /**
   * For a source that can wait (the app's output): false means pause reading until
   * `whenWritable()`. An output with bounded sinks never drops these lines to make room.
   */
  writeWaiting(lines: string): boolean {
    return this.write(lines);
  }

  whenWritable(): Promise<void> {
    if (!this.#dest.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Resolves once everything written so far has been handed to the OS. */
  flush(): Promise<void> {
    if (this.#dest.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => this.#dest.write('', () => resolve()));
  }
}

/**
 * Pillion's own structured events, in the same JSON shape as the app's lines. `Out` keeps the
 * output's own type, so the logs concern gets its sinks and counters without a runtime check.
 */
export class Logger<Out extends LogOutput = LogOutput> {
  readonly #out: Out;
  readonly #source: string;

  constructor(out: Out, source = 'pillion') {
    this.#out = out;
    this.#source = source;
  }

  get output(): Out {
    return this.#out;
  }

  child(source: string): Logger<Out> {
    return new Logger(this.#out, source);
  }

  log(level: Level, msg: string, fields?: Record<string, unknown>): void {
    if (RANK[level] < RANK[this.#out.minLevel]) return;
    const head = {
      time: new Date().toISOString(),
      level,
      source: this.#source,
      pid: process.pid,
      msg,
    };
    this.#out.write(`${JSON.stringify(fields ? { ...head, ...fields } : head)}\n`);
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.log('debug', msg, fields);
  }

  info(msg: string, fields?: Record<string, unknown>): void {
    this.log('info', msg, fields);
  }

  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log('warn', msg, fields);
  }

  error(msg: string, fields?: Record<string, unknown>): void {
    this.log('error', msg, fields);
  }
}
