// One coarse timer for the deadlines of every client connection (headers, keep-alive): a
// connection keeps a deadline number, not a timer, so a request costs no timer work.
import { performance } from 'node:perf_hooks';

/** Something with a deadline the sweep checks. */
export interface Expiring {
  expire(now: number): void;
}

export class Sweep {
  readonly #items = new Set<Expiring>();
  readonly #timer: NodeJS.Timeout;
  /** The sweep's clock (ms), advanced at each tick: deadlines are set from it, not from a clock call. */
  now = performance.now();

  /** `intervalMs` bounds how late a deadline is acted on. */
  constructor(intervalMs: number) {
    this.#timer = setInterval(() => this.#tick(), intervalMs);
    this.#timer.unref();
  }

  add(item: Expiring): void {
    this.now = performance.now();
    this.#items.add(item);
  }

  delete(item: Expiring): void {
    this.#items.delete(item);
  }

  get size(): number {
    return this.#items.size;
  }

  /** Every item, for drain. */
  items(): IterableIterator<Expiring> {
    return this.#items.values();
  }

  #tick(): void {
    const now = performance.now();
    this.now = now;
    for (const item of this.#items) item.expire(now);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
