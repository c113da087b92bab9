// The pool of keep-alive connections to the app (upstream-conn.ts): idle ones per app
// address, last used first, and one sweep for their upstream and idle timeouts.
import { Sweep } from './sweep.ts';
import { type Upstream, UpstreamConn } from './upstream-conn.ts';

export type { ResponseSink, Upstream } from './upstream-conn.ts';
export { UpstreamConn } from './upstream-conn.ts';

/** Idle connections the pool keeps per app address. */
const MAX_IDLE = 1024;

/** The pool: idle connections per app address, last used first. */
export class UpstreamPool {
  readonly #idle = new Map<string, UpstreamConn[]>();
  readonly #all = new Set<UpstreamConn>();
  readonly sweep: Sweep;
  readonly timeoutMs: number;
  readonly maxHeaderBytes: number;
  closing = false;

  constructor(timeoutMs: number, maxHeaderBytes: number) {
    this.timeoutMs = timeoutMs;
    // The app's response heads are bounded like the client's requests: past it, a 502.
    this.maxHeaderBytes = Math.max(maxHeaderBytes, 64 * 1024);
    // A 504 comes at most one sweep after the timeout: a twentieth of it (at most 250 ms), so
    // it lands within 10% of the timeout even for short ones (RELIABILITY R5).
    this.sweep = new Sweep(Math.max(10, Math.min(250, timeoutMs / 20)));
  }

  /** A connection for one exchange: an idle one, or a new one (connecting). */
  acquire(up: Upstream): UpstreamConn {
    const key = `${up.host}:${up.port}`;
    const idle = this.#idle.get(key);
    const conn = idle?.pop();
    if (conn) return conn;
    const c = new UpstreamConn(this, key, up);
    this.#all.add(c);
    this.sweep.add(c);
    return c;
  }

  release(conn: UpstreamConn, key: string): void {
    let list = this.#idle.get(key);
    if (!list) {
      list = [];
      this.#idle.set(key, list);
    }
    if (list.length >= MAX_IDLE) {
      conn.destroy();
      return;
    }
    list.push(conn);
  }

  forget(conn: UpstreamConn, key: string): void {
    this.#all.delete(conn);
    this.sweep.delete(conn);
    const list = this.#idle.get(key);
    if (!list) return;
    const i = list.indexOf(conn);
    if (i >= 0) list.splice(i, 1);
  }

  /** Closes the idle connections (before an app restart, and at stop). */
  closeIdle(): void {
    for (const list of this.#idle.values()) for (const c of list.splice(0)) c.destroy();
  }

  close(): void {
    this.closing = true;
    this.closeIdle();
    for (const c of this.#all) c.destroy();
    this.sweep.stop();
  }
}
