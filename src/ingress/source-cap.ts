// A cap on open client connections per source address (opt-in), so one address flooding the
// listener cannot take the whole connection cap from everyone else, as NGINX's `limit_conn`
// keyed by the client address does.
import type { Socket } from 'node:net';

export class SourceCap {
  readonly #max: number;
  readonly #open = new Map<string, number>();

  /** `max`: open connections allowed per source address. */
  constructor(max: number) {
    this.#max = max;
  }

  /** Counts `socket` until it closes and returns true, or returns false when its source is full. */
  admit(socket: Socket): boolean {
    const source = socket.remoteAddress ?? '';
    const n = this.#open.get(source) ?? 0;
    if (n >= this.#max) return false;
    this.#open.set(source, n + 1);
    socket.once('close', () => {
      const left = (this.#open.get(source) ?? 1) - 1;
      if (left > 0) this.#open.set(source, left);
      else this.#open.delete(source);
    });
    return true;
  }

  /** Open connections from `source` now. */
  openFrom(source: string): number {
    return this.#open.get(source) ?? 0;
  }

  /** Sources with at least one open connection. */
  get sources(): number {
    return this.#open.size;
  }
}
