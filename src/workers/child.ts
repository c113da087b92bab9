// The worker side of the IPC channel: the supervisor's state as the primary last sent it,
// answered locally so a request never waits on a round trip, and log lines written whole.
import type { Writable } from 'node:stream';
import { LogOutput } from '../core/log.ts';
import type { Address, FromWorker, ReadyState } from './protocol.ts';

/** Sends one message to the primary; the fork channel keeps them in order. */
export type SendToPrimary = (msg: FromWorker) => void;

/**
 * Readiness as the primary relays it. Cheap to read per request: upstream() is a field read;
 * whenReady() waits for the next state message that carries an address, or the timeout.
 */
export class ReadyMirror {
  #state: ReadyState;
  readonly #waiters = new Set<(up: Address | undefined) => void>();

  constructor(state: ReadyState) {
    this.#state = state;
  }

  upstream(): Address | undefined {
    return this.#state.up ?? undefined;
  }

  notReadyReason(): string | undefined {
    return this.#state.up ? undefined : (this.#state.reason ?? undefined);
  }

  get readyTimeoutMs(): number {
    return this.#state.readyTimeoutMs;
  }

  whenReady(timeoutMs: number): Promise<Address | undefined> {
    const up = this.#state.up;
    if (up) return Promise.resolve(up);
    return new Promise((resolve) => {
      const done = (u: Address | undefined): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve(u);
      };
      const timer = setTimeout(done, timeoutMs, undefined);
      this.#waiters.add(done);
    });
  }

  /** A state message from the primary; held requests go on once it has an address. */
  apply(state: ReadyState): void {
    this.#state = state;
    const up = state.up;
    if (up) for (const w of [...this.#waiters]) w(up);
  }

  /** Not ready until the primary says otherwise (it is about to restart the app). */
  hold(): void {
    this.#state = { ...this.#state, up: null };
  }
}

/** Most bytes held before a write, and longest a line waits (lost if the worker is SIGKILLed). */
const FLUSH_BYTES = 16 * 1024;
const FLUSH_MS = 5;

/**
 * A LogOutput on the pipe the primary reads (the worker's stdout): lines are gathered for up
 * to 5 ms or 16 KiB and go out in one write, whole lines only (bench/workers.ts: a write per
 * event-loop turn cost the primary 9-13 µs a request in reads and wake-ups, this 4-7). The primary writes what it reads
 * up to the last newline through its own sinks, so lines of different workers never
 * interleave. A pipe rather than IPC messages: no JSON around each line on either side.
 */
export class BatchedLogOutput extends LogOutput {
  readonly #dest: Writable;
  #pending = '';
  #scheduled = false;
  readonly #flush = (): void => this.flushNow();

  constructor(dest: Writable) {
    super(dest);
    this.#dest = dest;
  }

  override write(lines: string): boolean {
    this.#pending += lines;
    if (this.#pending.length >= FLUSH_BYTES) this.flushNow();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(this.#flush, FLUSH_MS);
    }
    return true;
  }

  override flush(): Promise<void> {
    this.flushNow();
    return super.flush();
  }

  /** Writes what is pending now (before the worker reports or exits). */
  flushNow(): void {
    this.#scheduled = false;
    if (this.#pending === '') return;
    const lines = this.#pending;
    this.#pending = '';
    this.#dest.write(lines);
  }
}
