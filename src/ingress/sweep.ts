// One coarse timer for the deadlines of every client connection (headers, keep-alive) and app
// connection (upstream timeout, idle): each keeps a deadline number, not a timer, so a request
// costs no timer work. Deadlines are set from a fresh clock: a tick delayed by a busy event
// loop must not make a deadline already past (an idle connection closed as a request arrives).
import { performance } from 'node:perf_hooks';

/** Something with a deadline the sweep checks. */
export interface Expiring {
  expire(now: number): void;
}

export class Sweep {
  readonly #items = new Set<Expiring>();
  readonly #timer: NodeJS.Timeout;

  /** `intervalMs` bounds how late a deadline is acted on. */
  constructor(intervalMs: number) {
    this.#timer = setInterval(() => this.#tick(), intervalMs);
    this.#timer.unref();
  }

  add(item: Expiring): void {
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
    for (const item of this.#items) item.expire(now);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
